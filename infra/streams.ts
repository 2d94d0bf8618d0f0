import { type Duration, type RemovalPolicy, Token } from 'aws-cdk-lib';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import type { PipelinePlan, StreamSpec } from '../shared/index.js';
import { acceptCustomerKey } from './nag.js';

/** Kinesis stream names: 1-128 characters of `[a-zA-Z0-9_.-]` (Kinesis API reference, CreateStream). */
const STREAM_NAME = /^[a-zA-Z0-9_.-]{1,128}$/;
const STREAM_NAME_CHARS = /^[a-zA-Z0-9_.-]*$/;
const MAX_STREAM_NAME_LENGTH = 128;

/** Provisioned streams need a shard; 500 is the default account quota, and the planner's limit too. */
const MIN_SHARDS = 1;
const MAX_SHARDS = 500;

/** Kinesis retention: 24 hours to 365 days, in whole hours (CreateStream / IncreaseStreamRetentionPeriod). */
const MIN_RETENTION_HOURS = 24;
const MAX_RETENTION_HOURS = 8760;

/**
 * Checks that the prefix makes a valid Kinesis name of every stream of the plan. The runtime builds
 * the same physical names from `EDDY_STREAM_PREFIX`, so the prefix must be known at synth time.
 */
export function validateStreamNamePrefix(prefix: string, plan: PipelinePlan): void {
  if (Token.isUnresolved(prefix)) {
    throw new Error('streamNamePrefix must be a literal string: the stage functions derive stream names from it');
  }
  if (!STREAM_NAME_CHARS.test(prefix)) {
    throw new Error(
      `streamNamePrefix ${JSON.stringify(prefix)} is invalid: Kinesis stream names allow only letters, digits, '_', '.' and '-'`,
    );
  }
  for (const stream of plan.streams) {
    const physical = prefix + stream.name;
    if (!STREAM_NAME.test(physical)) {
      throw new Error(
        `streamNamePrefix ${JSON.stringify(prefix)} makes the stream name '${physical}' ${physical.length} characters long: ` +
          `Kinesis allows 1 to ${MAX_STREAM_NAME_LENGTH}`,
      );
    }
  }
}

/** Checks shard overrides: every key must be a stream of the plan, every value a shard count Kinesis accepts. */
export function validateShardOverrides(shards: Readonly<Record<string, number>>, plan: PipelinePlan): void {
  const known = plan.streams.map((stream) => stream.name);
  for (const [name, count] of Object.entries(shards)) {
    if (!known.includes(name)) {
      throw new Error(
        `shards: pipeline '${plan.pipeline}' has no stream named '${name}'; its streams are: ${known.join(', ')}`,
      );
    }
    if (!Number.isInteger(count) || count < MIN_SHARDS || count > MAX_SHARDS) {
      throw new Error(
        `shards['${name}'] must be an integer from ${MIN_SHARDS} to ${MAX_SHARDS}, got ${JSON.stringify(count)}`,
      );
    }
  }
}

/**
 * A stream's Kinesis capacity mode: `provisioned` pays a shard-hour per shard and PUT payload units,
 * `on-demand` a stream-hour and every GB in and out, with shards that follow the traffic
 * (docs/cost.md, "On demand or provisioned").
 */
export type StreamCapacityMode = 'provisioned' | 'on-demand';

const CAPACITY_MODES: readonly StreamCapacityMode[] = ['provisioned', 'on-demand'];

/**
 * The capacity mode of every stream of the plan: one mode for all, or modes by stream name (the others
 * provisioned). Every name must be a stream of the plan, and an on-demand stream takes no shard count.
 */
export function resolveStreamModes(
  streamMode: StreamCapacityMode | Readonly<Record<string, StreamCapacityMode>> | undefined,
  shards: Readonly<Record<string, number>>,
  plan: PipelinePlan,
): ReadonlyMap<string, StreamCapacityMode> {
  const known = plan.streams.map((stream) => stream.name);
  const check = (mode: unknown, where: string): StreamCapacityMode => {
    if (!CAPACITY_MODES.includes(mode as StreamCapacityMode)) {
      throw new Error(`${where} must be 'provisioned' or 'on-demand', got ${JSON.stringify(mode)}`);
    }
    return mode as StreamCapacityMode;
  };
  const byName = new Map<string, StreamCapacityMode>();
  if (typeof streamMode === 'object') {
    for (const [name, mode] of Object.entries(streamMode)) {
      if (!known.includes(name)) {
        throw new Error(
          `streamMode: pipeline '${plan.pipeline}' has no stream named '${name}'; its streams are: ${known.join(', ')}`,
        );
      }
      byName.set(name, check(mode, `streamMode['${name}']`));
    }
  }
  const every = typeof streamMode === 'object' ? 'provisioned' : check(streamMode ?? 'provisioned', 'streamMode');
  const modes = new Map(known.map((name) => [name, byName.get(name) ?? every]));
  for (const name of Object.keys(shards)) {
    if (modes.get(name) === 'on-demand') {
      throw new Error(
        `shards['${name}']: stream '${name}' is on demand (streamMode), and on-demand streams take no shard count`,
      );
    }
  }
  return modes;
}

/** Checks the retention period against Kinesis's range; fractional hours are rejected rather than rounded. */
export function validateRetentionPeriod(retentionPeriod: Duration): void {
  const hours = retentionPeriod.toHours({ integral: false });
  if (!Number.isInteger(hours) || hours < MIN_RETENTION_HOURS || hours > MAX_RETENTION_HOURS) {
    throw new Error(
      `retentionPeriod must be a whole number of hours from ${MIN_RETENTION_HOURS} to ${MAX_RETENTION_HOURS}, got ${hours} hours`,
    );
  }
}

export interface PipelineStreamsProps {
  readonly plan: PipelinePlan;
  /** Prepended to every logical stream name; validated by {@link validateStreamNamePrefix}. */
  readonly streamNamePrefix: string;
  /** Shard counts that replace the plan's, by logical stream name. */
  readonly shards: Readonly<Record<string, number>>;
  /** Each stream's capacity mode, by logical name ({@link resolveStreamModes}); provisioned when absent. */
  readonly modes?: ReadonlyMap<string, StreamCapacityMode>;
  /** Customer managed key; without one the streams use the AWS managed key `alias/aws/kinesis`. */
  readonly encryptionKey?: kms.IKey;
  readonly retentionPeriod: Duration;
  readonly removalPolicy: RemovalPolicy;
}

/**
 * One Kinesis stream, provisioned or on demand, per stream of the plan (sources, shuffles, sinks, windows' late
 * outputs and the dead-letter stream), each with the explicit physical name the runtime computes from
 * the prefix.
 */
export class PipelineStreams extends Construct {
  /** Streams by logical name. */
  readonly streams: ReadonlyMap<string, kinesis.Stream>;
  /** The specs of the plan, by logical name. */
  readonly specs: ReadonlyMap<string, StreamSpec>;

  constructor(scope: Construct, id: string, props: PipelineStreamsProps) {
    super(scope, id);
    const streams = new Map<string, kinesis.Stream>();
    const specs = new Map<string, StreamSpec>();
    // A `dynamoDbStream` source is a table's stream (source-tables.ts), not a Kinesis stream.
    for (const spec of props.plan.streams.filter((candidate) => candidate.dynamoDbStream === undefined)) {
      const stream = new kinesis.Stream(this, spec.name, {
        streamName: props.streamNamePrefix + spec.name,
        ...(props.modes?.get(spec.name) === 'on-demand'
          ? { streamMode: kinesis.StreamMode.ON_DEMAND }
          : { streamMode: kinesis.StreamMode.PROVISIONED, shardCount: props.shards[spec.name] ?? spec.shardCount }),
        retentionPeriod: props.retentionPeriod,
        removalPolicy: props.removalPolicy,
        // Always explicit: without an encryption setting CDK adds a region condition to the template.
        ...(props.encryptionKey === undefined
          ? { encryption: kinesis.StreamEncryption.MANAGED }
          : { encryption: kinesis.StreamEncryption.KMS, encryptionKey: props.encryptionKey }),
      });
      if (props.encryptionKey !== undefined) acceptCustomerKey(stream);
      streams.set(spec.name, stream);
      specs.set(spec.name, spec);
    }
    this.streams = streams;
    this.specs = specs;
  }

  /** The stream of a logical name; throws naming the known streams when there is none. */
  get(name: string): kinesis.Stream {
    const stream = this.streams.get(name);
    if (stream === undefined) {
      throw new Error(`no stream named '${name}'; the pipeline's streams are: ${[...this.streams.keys()].join(', ')}`);
    }
    return stream;
  }
}
