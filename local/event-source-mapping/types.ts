import type { KinesisClient } from '@aws-sdk/client-kinesis';
import type { KinesisStreamBatchResponse, KinesisStreamEvent } from 'aws-lambda';
import type { CheckpointStore } from './checkpoint-store.js';

/**
 * Runs the function on one batch, like Lambda's synchronous invoke. A throw (or rejection) is a
 * function error: the whole batch failed.
 */
// biome-ignore lint/suspicious/noConfusingVoidType: aws-lambda's KinesisStreamHandler returns `void`; invokers wrap such handlers.
export type KinesisInvoker = (event: KinesisStreamEvent) => Promise<KinesisStreamBatchResponse | void | undefined>;

export const StartingPositions = {
  trimHorizon: 'TRIM_HORIZON',
  latest: 'LATEST',
  atTimestamp: 'AT_TIMESTAMP',
} as const;
export type StartingPosition = (typeof StartingPositions)[keyof typeof StartingPositions];

/** The settings of Lambda's `CreateEventSourceMapping` that apply to Kinesis, plus local knobs. */
export interface EventSourceMappingOptions {
  readonly kinesis: KinesisClient;
  readonly streamName: string;
  readonly invoke: KinesisInvoker;
  /** Records per batch; default 100, 1..10000. */
  readonly batchSize?: number;
  /** Seconds to gather records before invoking; default 0, 0..300. */
  readonly maxBatchingWindowSeconds?: number;
  /** Batches of one shard in flight at once, ordered per partition key; default 1, 1..10. */
  readonly parallelizationFactor?: number;
  /** Split a batch the function failed on in two and retry the halves; default false. */
  readonly bisectBatchOnFunctionError?: boolean;
  /** Retries of a failed batch before it is discarded; default -1 (until the records expire), or 0..10000. */
  readonly maximumRetryAttempts?: number;
  /** Records older than this are discarded instead of sent; default -1 (never), or 60..604800. */
  readonly maximumRecordAgeSeconds?: number;
  /** `FunctionResponseTypes: ['ReportBatchItemFailures']`: honour partial batch responses; default false. */
  readonly reportBatchItemFailures?: boolean;
  /** Where to start in shards that exist when the mapping starts; default TRIM_HORIZON. */
  readonly startingPosition?: StartingPosition;
  /** Required with AT_TIMESTAMP. */
  readonly startingPositionTimestamp?: Date;
  /** The on-failure destination: receives metadata about each discarded batch. */
  readonly onFailure?: (record: OnFailureRecord) => Promise<void>;
  /** Wait between GetRecords calls on a shard with nothing new; default 1000 ms as in Lambda. */
  readonly pollIntervalMs?: number;
  /** How often ListShards is re-run to find new (child) shards; default 1000 ms. */
  readonly shardDiscoveryIntervalMs?: number;
  /** Wait before re-invoking after a failed invocation; default 100 ms. */
  readonly retryDelayMs?: number;
  /** Default: a new {@link InMemoryCheckpointStore}. */
  readonly checkpoints?: CheckpointStore;
  /** For ARNs and the `awsRegion` of records; default AWS_REGION, AWS_DEFAULT_REGION or us-east-1. */
  readonly awsRegion?: string;
  /** For ARNs; default 000000000000. */
  readonly accountId?: string;
  /** For the function ARN reported to the on-failure destination; default `eddy-local`. */
  readonly functionName?: string;
  /** The `invokeIdentityArn` of records; default the role `<functionName>-role` of the account. */
  readonly invokeIdentityArn?: string;
  /** Milliseconds since the epoch; used for the batching window and record ages. Default Date.now. */
  readonly clock?: () => number;
  /** Told about errors the mapping recovers from (throttling, network, failing destination); default silent. */
  readonly onInternalError?: (
    error: unknown,
    context: { readonly shardId?: string; readonly operation: string },
  ) => void;
}

/** Why a batch was discarded, as Lambda names it in the on-failure record. */
export const OnFailureConditions = {
  retryAttemptsExhausted: 'RetryAttemptsExhausted',
  recordAgeExceeded: 'RecordAgeExceeded',
} as const;
export type OnFailureCondition = (typeof OnFailureConditions)[keyof typeof OnFailureConditions];

/**
 * What Lambda sends to an SQS or SNS on-failure destination for a discarded Kinesis batch: metadata
 * only, not the records (kinesis-on-failure-destination.html).
 */
export interface OnFailureRecord {
  readonly requestContext: {
    readonly requestId: string;
    readonly functionArn: string;
    readonly condition: OnFailureCondition;
    readonly approximateInvokeCount: number;
  };
  readonly responseContext: {
    readonly statusCode: number;
    readonly executedVersion: string;
    readonly functionError: string;
  };
  readonly version: '1.0';
  /** ISO-8601. */
  readonly timestamp: string;
  readonly KinesisBatchInfo: {
    readonly shardId: string;
    readonly startingSequenceNumber: string;
    readonly endingSequenceNumber: string;
    /** ISO-8601. */
    readonly approximateArrivalOfFirstRecord: string;
    /** ISO-8601. */
    readonly approximateArrivalOfLastRecord: string;
    readonly batchSize: number;
    readonly streamArn: string;
  };
}

export const ShardStates = {
  polling: 'polling',
  waitingForParents: 'waiting-for-parents',
  finished: 'finished',
} as const;
export type ShardState = (typeof ShardStates)[keyof typeof ShardStates];

export interface ShardStats {
  readonly shardId: string;
  readonly parentShardIds: readonly string[];
  readonly state: ShardState;
  /** Sequence number of the last record the shard is done with; undefined before the first. */
  readonly checkpoint: string | undefined;
  /** Records processed successfully, each counted once. */
  readonly recordsDelivered: number;
  readonly invocations: number;
  readonly failedInvocations: number;
  /**
   * Failed batches split by BisectBatchOnFunctionError (in halves after a function error, at the
   * failed record after a partial response); each split counts once, the halves' own splits again.
   */
  readonly bisects: number;
  /** Records discarded, reported to the on-failure destination when there is one. */
  readonly recordsSentToOnFailure: number;
  /** `MillisBehindLatest` of the last GetRecords: newest arrival in the shard minus the last record read's. */
  readonly millisBehindLatest: number | undefined;
  readonly caughtUp: boolean;
  /** The last error the shard recovered from, for diagnosis. */
  readonly lastError: string | undefined;
  /** How far the function trails the shard (consumer lag). */
  readonly lag: ShardLag;
}

/**
 * A shard's consumer lag, as Lambda's `IteratorAge` metric measures it and as a Kafka consumer's lag
 * is read: how old the records the mapping has not finished are, and how many it holds.
 */
export interface ShardLag {
  /**
   * Records read from the shard and not yet checkpointed: buffered in the mapping or in flight in
   * an invocation (at most a batch per lane ahead: records beyond it wait in the stream unread).
   */
  readonly pendingRecords: number;
  /**
   * Age now, in ms, of the oldest record read and not yet checkpointed (arrival time to now); 0 when
   * the mapping holds none. Grows while the function falls behind its input.
   */
  readonly iteratorAgeMs: number;
  /**
   * Time behind the newest record in the shard, ms: MillisBehindLatest of the last GetRecords, measured
   * from the oldest record not yet done (lag.ts). 0 only when caught up; at least 1 while records wait,
   * read or unread, between batches too. docs/lag.md.
   */
  readonly lagMs: number;
  /** Lambda's IteratorAge of the last invocation: the age of its batch's last record when invoked. */
  readonly lastBatchIteratorAgeMs: number | undefined;
  /** The highest IteratorAge of any invocation so far (CloudWatch's Maximum statistic). */
  readonly maxIteratorAgeMs: number;
  /** The mapping stopped reading because a batch per lane is already waiting: backpressure. */
  readonly readAheadFull: boolean;
}

export interface MappingStats {
  readonly running: boolean;
  /** Every shard seen, in shard id order. */
  readonly shards: readonly ShardStats[];
}
