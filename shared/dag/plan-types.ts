/**
 * The physical plan of a pipeline: which Kinesis streams exist and which Lambda stages read and
 * write them. Pure data (JSON-serialisable): `infra/` deploys it and `local/` runs it, neither needs
 * the user's functions.
 */

import type { ShuffleFormat } from './shuffle-format.js';

/** Why a stream exists; decides how its records are encoded (see docs/architecture.md). */
export const StreamRoles = {
  /** Written by producers outside Eddy: plain JSON, validated by the source schema. */
  source: 'source',
  /** Between two stages (after keyBy): Eddy's envelope, partitioned by key. */
  shuffle: 'shuffle',
  /** Read by consumers outside Eddy: plain JSON values. */
  sink: 'sink',
  /** Records a window could not take (too late): the record, its window and the watermark. */
  sideOutput: 'side-output',
  /** Records that could not be processed, with the error and their origin. */
  deadLetter: 'dead-letter',
} as const;
export type StreamRole = (typeof StreamRoles)[keyof typeof StreamRoles];

/**
 * A source that is a DynamoDB table's change stream (DynamoDB Streams), not a Kinesis stream: the
 * stage reads the stream of `table` (docs/sources.md).
 */
export interface DynamoDbStreamSpec {
  /** The table: a name the deployment prefixes when the pipeline creates it, or the user's table's exact name. */
  readonly table: string;
  readonly partitionKey: { readonly name: string; readonly type: 'string' | 'number' };
  readonly sortKey?: { readonly name: string; readonly type: 'string' | 'number' };
  /**
   * An existing table's stream (its StreamViewType must be NEW_AND_OLD_IMAGES): the construct neither
   * creates the table nor changes it. Absent: the construct creates the table with its stream on.
   */
  readonly streamArn?: string;
}

export interface StreamSpec {
  /** The Kinesis stream name (before any deployment prefix); a DynamoDB stream source's name. */
  readonly name: string;
  readonly role: StreamRole;
  /** A source read from a DynamoDB table's stream: no Kinesis stream exists under `name`. */
  readonly dynamoDbStream?: DynamoDbStreamSpec;
  readonly shardCount: number;
  /** Stages that write to this stream (none for a source). */
  readonly producers: readonly string[];
  /** Stages that read this stream (none for a sink or the dead-letter stream). */
  readonly consumers: readonly string[];
}

/** Lambda's Kinesis event source mapping settings, with the same names and units as AWS. */
export interface EventSourceSettings {
  /** @default 500 */
  readonly batchSize: number;
  /** @default 1 */
  readonly maxBatchingWindowSeconds: number;
  /** @default 1 */
  readonly parallelizationFactor: number;
  /** @default true */
  readonly bisectBatchOnFunctionError: boolean;
  /** -1 retries until the record expires. @default 10 */
  readonly retryAttempts: number;
  /** -1 keeps records until they leave the stream's retention. @default -1 */
  readonly maxRecordAgeSeconds: number;
  /** @default 'TRIM_HORIZON' */
  readonly startingPosition: 'TRIM_HORIZON' | 'LATEST';
}

export interface StageSpec {
  /** Unique within the pipeline, also the Lambda's logical name: `from-<input stream>`. */
  readonly id: string;
  /** The stream whose shards trigger this stage. */
  readonly input: string;
  /** Ids of the DAG nodes fused into this stage, in topological order, the input node first. */
  readonly nodes: readonly string[];
  /** Streams this stage writes to (sinks, shuffles and the dead-letter stream, unless dead letters go to a queue). */
  readonly outputs: readonly string[];
  readonly eventSource: EventSourceSettings;
  /** Whether the stage keeps state (windows, joins) in the pipeline's state table. */
  readonly stateful: boolean;
  /** A source stage whose shards may go idle: after this many ms without records (docs/watermarks.md). */
  readonly idleTimeout?: number;
  /** Tables the stage's operators look up (`enrich`) and keep (`toTable`), by name; absent when none. */
  readonly tables?: { readonly reads: readonly string[]; readonly writes: readonly string[] };
  /** Queues, buses and delivery streams the stage sends records to (`toSqs`, ...), by name; absent when none. */
  readonly destinations?: readonly string[];
}

/** A table of the pipeline (docs/tables.md): a DynamoDB table that stages read and maybe write. */
export interface TableSpec {
  readonly name: string;
  /**
   * `materialized`: the pipeline creates and writes it (`toTable`); `external`: it only reads it;
   * `sink`: `toDynamoDb` writes it, created by the pipeline unless `existing`.
   */
  readonly kind: 'materialized' | 'external' | 'sink';
  /**
   * The DynamoDB table: the name of one the pipeline creates is prefixed at deployment, an external
   * or existing one's is exact.
   */
  readonly tableName: string;
  readonly partitionKey: string;
  readonly partitionKeyType: 'string' | 'number';
  /** A sink table's sort key, when it has one. */
  readonly sortKey?: { readonly name: string; readonly type: 'string' | 'number' };
  /** A sink table the user owns (never created, never prefixed), with its ARN when given one. */
  readonly existing?: { readonly tableArn?: string };
  readonly consistentRead: boolean;
  /** Stages that write it. */
  readonly writers: readonly string[];
  /** Stages that read it. */
  readonly readers: readonly string[];
}

/**
 * A queue, bus or delivery stream the pipeline sends records to (docs/sinks.md): created by the
 * construct (its name prefixed at deployment) unless `existing`.
 */
export interface DestinationSpec {
  /** Unique among the pipeline's destinations: the resource's name (the queue's, the bus's, the stream's). */
  readonly name: string;
  readonly service: 'sqs' | 'eventbridge' | 'firehose';
  /** The user's resource, never created: named as it is, or by its ARN when given one. */
  readonly existing?: { readonly arn?: string };
  /** SQS: a FIFO queue (its name ends in `.fifo`). */
  readonly fifo?: boolean;
  /** EventBridge: each event's DetailType and Source. */
  readonly detailType?: string;
  readonly source?: string;
  /** Stages that send to it. */
  readonly writers: readonly string[];
}

/**
 * Where a pipeline's dead letters go: its dead-letter Kinesis stream (a stream of role `dead-letter`
 * in `streams` and in every stage's outputs), or an SQS queue (no such stream; docs/reliability.md).
 */
export interface DeadLetterDestination {
  readonly kind: 'stream' | 'queue';
  /** The stream's or the queue's name (before any deployment prefix). */
  readonly name: string;
}

export interface PipelinePlan {
  readonly pipeline: string;
  readonly streams: readonly StreamSpec[];
  readonly stages: readonly StageSpec[];
  readonly deadLetter: DeadLetterDestination;
  /**
   * The dead-letter stream's name, when dead letters go to a stream (`deadLetter.kind === 'stream'`).
   * @deprecated read `deadLetter`; absent when dead letters go to a queue
   */
  readonly deadLetterStream?: string;
  /** The DynamoDB table of the stateful stages; absent when every stage is stateless. */
  readonly stateTable?: string;
  /** The tables stages enrich with or keep; absent when none. */
  readonly tables?: readonly TableSpec[];
  /** The queues, buses and delivery streams stages send to; absent when none. */
  readonly destinations?: readonly DestinationSpec[];
  /** `'cost'` when the pipeline asked for the cheapest run (`profile: 'cost'`); absent for the defaults. */
  readonly profile?: 'cost';
  /** False when stages publish no per-operator metrics (`operatorMetrics: false`); absent when they do. */
  readonly operatorMetrics?: false;
  /** The format stages write to shuffle streams (shuffle-format.ts); absent for the default, 1. */
  readonly shuffleFormat?: ShuffleFormat;
}
