import type { KinesisClient } from '@aws-sdk/client-kinesis';
import type { CheckpointStore } from './checkpoint-store.js';
import { InMemoryCheckpointStore } from './checkpoint-store.js';
import type { EventSourceMappingOptions, KinesisInvoker, OnFailureRecord, StartingPosition } from './types.js';
import { StartingPositions } from './types.js';

/** An option is outside what Lambda accepts for a Kinesis event source mapping. */
export class EventSourceMappingConfigError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EventSourceMappingConfigError';
  }
}

/** Options with every default filled in and every range checked. */
export interface ResolvedOptions {
  readonly kinesis: KinesisClient;
  readonly streamName: string;
  readonly invoke: KinesisInvoker;
  readonly batchSize: number;
  readonly maxBatchingWindowMs: number;
  readonly parallelizationFactor: number;
  readonly bisectBatchOnFunctionError: boolean;
  readonly maximumRetryAttempts: number;
  readonly maximumRecordAgeMs: number;
  readonly reportBatchItemFailures: boolean;
  readonly startingPosition: StartingPosition;
  readonly startingPositionTimestamp: Date | undefined;
  readonly onFailure: ((record: OnFailureRecord) => Promise<void>) | undefined;
  readonly pollIntervalMs: number;
  readonly shardDiscoveryIntervalMs: number;
  readonly retryDelayMs: number;
  readonly checkpoints: CheckpointStore;
  readonly awsRegion: string;
  readonly accountId: string;
  readonly functionArn: string;
  readonly invokeIdentityArn: string;
  readonly streamArn: string;
  readonly clock: () => number;
  readonly onInternalError: NonNullable<EventSourceMappingOptions['onInternalError']>;
}

/** Lambda's defaults and limits (services-kinesis-parameters.html). */
export const mappingLimits = {
  batchSize: { default: 100, min: 1, max: 10_000 },
  maxBatchingWindowSeconds: { default: 0, min: 0, max: 300 },
  parallelizationFactor: { default: 1, min: 1, max: 10 },
  maximumRetryAttempts: { default: -1, min: 0, max: 10_000 },
  maximumRecordAgeSeconds: { default: -1, min: 60, max: 604_800 },
} as const;

/** Fills in defaults and rejects values Lambda would reject, naming the value and the range. */
export function resolveOptions(options: EventSourceMappingOptions): ResolvedOptions {
  if (!options.streamName) throw new EventSourceMappingConfigError('streamName must not be empty');
  const batchSize = integerInRange('batchSize', options.batchSize, mappingLimits.batchSize);
  const windowSeconds = integerInRange(
    'maxBatchingWindowSeconds',
    options.maxBatchingWindowSeconds,
    mappingLimits.maxBatchingWindowSeconds,
  );
  const parallelizationFactor = integerInRange(
    'parallelizationFactor',
    options.parallelizationFactor,
    mappingLimits.parallelizationFactor,
  );
  const maximumRetryAttempts = integerInRangeOrInfinite(
    'maximumRetryAttempts',
    options.maximumRetryAttempts,
    mappingLimits.maximumRetryAttempts,
  );
  const maximumRecordAgeSeconds = integerInRangeOrInfinite(
    'maximumRecordAgeSeconds',
    options.maximumRecordAgeSeconds,
    mappingLimits.maximumRecordAgeSeconds,
  );
  const startingPosition = options.startingPosition ?? StartingPositions.trimHorizon;
  if (!Object.values(StartingPositions).includes(startingPosition)) {
    throw new EventSourceMappingConfigError(
      `startingPosition ${String(startingPosition)} must be one of ${Object.values(StartingPositions).join(', ')}`,
    );
  }
  const timestamp = options.startingPositionTimestamp;
  if (
    startingPosition === StartingPositions.atTimestamp &&
    (timestamp === undefined || Number.isNaN(timestamp.getTime()))
  ) {
    throw new EventSourceMappingConfigError('startingPositionTimestamp must be a valid Date with AT_TIMESTAMP');
  }
  if (startingPosition !== StartingPositions.atTimestamp && timestamp !== undefined) {
    throw new EventSourceMappingConfigError(
      `startingPositionTimestamp is only valid with AT_TIMESTAMP, not ${startingPosition}`,
    );
  }
  const awsRegion = options.awsRegion ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
  const accountId = options.accountId ?? '000000000000';
  const functionName = options.functionName ?? 'eddy-local';
  return {
    kinesis: options.kinesis,
    streamName: options.streamName,
    invoke: options.invoke,
    batchSize,
    maxBatchingWindowMs: windowSeconds * 1000,
    parallelizationFactor,
    bisectBatchOnFunctionError: options.bisectBatchOnFunctionError ?? false,
    maximumRetryAttempts,
    maximumRecordAgeMs: maximumRecordAgeSeconds === -1 ? -1 : maximumRecordAgeSeconds * 1000,
    reportBatchItemFailures: options.reportBatchItemFailures ?? false,
    startingPosition,
    startingPositionTimestamp: timestamp,
    onFailure: options.onFailure,
    pollIntervalMs: nonNegative('pollIntervalMs', options.pollIntervalMs, 1000),
    shardDiscoveryIntervalMs: nonNegative('shardDiscoveryIntervalMs', options.shardDiscoveryIntervalMs, 1000),
    retryDelayMs: nonNegative('retryDelayMs', options.retryDelayMs, 100),
    checkpoints: options.checkpoints ?? new InMemoryCheckpointStore(),
    awsRegion,
    accountId,
    functionArn: `arn:aws:lambda:${awsRegion}:${accountId}:function:${functionName}`,
    invokeIdentityArn: options.invokeIdentityArn ?? `arn:aws:iam::${accountId}:role/${functionName}-role`,
    streamArn: `arn:aws:kinesis:${awsRegion}:${accountId}:stream/${options.streamName}`,
    clock: options.clock ?? Date.now,
    onInternalError: options.onInternalError ?? (() => undefined),
  };
}

interface Range {
  readonly default: number;
  readonly min: number;
  readonly max: number;
}

function integerInRange(name: string, value: number | undefined, range: Range): number {
  if (value === undefined) return range.default;
  if (!Number.isInteger(value) || value < range.min || value > range.max) {
    throw new EventSourceMappingConfigError(`${name} ${value} must be an integer from ${range.min} to ${range.max}`);
  }
  return value;
}

// -1 means "no limit" for retries and record age; anything else must be in the range.
function integerInRangeOrInfinite(name: string, value: number | undefined, range: Range): number {
  if (value === undefined || value === -1) return range.default;
  if (!Number.isInteger(value) || value < range.min || value > range.max) {
    throw new EventSourceMappingConfigError(
      `${name} ${value} must be -1 (no limit) or an integer from ${range.min} to ${range.max}`,
    );
  }
  return value;
}

function nonNegative(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < 0) {
    throw new EventSourceMappingConfigError(`${name} ${value} must be a finite number of milliseconds >= 0`);
  }
  return value;
}
