import type { z } from 'zod';
import type { ProcessFunction, StateDescriptors } from '../process/keyed-process.js';
import type { Aggregation, EmitMode, WindowAssigner } from '../windows/types.js';
import type { DestinationSpec, DynamoDbStreamSpec, EventSourceSettings } from './plan-types.js';

/**
 * The logical DAG a pipeline builder records: one node per operator, each knowing its parent.
 * Nodes keep the user's functions (the runtime calls them); `describePipeline` gives the
 * serialisable view.
 */

export const OperatorKinds = {
  source: 'source',
  map: 'map',
  filter: 'filter',
  flatMap: 'flatMap',
  keyBy: 'keyBy',
  window: 'window',
  process: 'process',
  joinSide: 'joinSide',
  join: 'join',
  enrich: 'enrich',
  toTable: 'toTable',
  toDynamoDb: 'toDynamoDb',
  toDestination: 'toDestination',
  sink: 'sink',
} as const;
export type OperatorKind = (typeof OperatorKinds)[keyof typeof OperatorKinds];

/** A user function as the runtime sees it: types are erased once the builder has checked them. */
export type AnyFunction = (value: unknown) => unknown;

interface NodeBase {
  /** Unique within the pipeline; defaults to `<kind>-<n>` and is what errors, logs and metrics name. */
  readonly name: string;
  /** The node this one reads from; absent for sources. */
  readonly parent?: string;
}

export interface SourceNode extends NodeBase {
  readonly kind: 'source';
  readonly stream: string;
  readonly schema: z.ZodType;
  readonly eventTime?: AnyFunction;
  /** Bounded out-of-orderness of event times, ms: the watermark trails the highest event time by this much. */
  readonly maxOutOfOrderness: number;
  /** A shard with no records for this long stops holding back the watermark (Flink's withIdleness), ms. */
  readonly idleTimeout?: number;
  readonly shards?: number;
  readonly eventSource?: Partial<EventSourceSettings>;
  /** Read from a DynamoDB table's change stream: records are table changes (runtime/table-change.ts). */
  readonly dynamoDbStream?: DynamoDbStreamSpec;
}

export interface MapNode extends NodeBase {
  readonly kind: 'map';
  readonly fn: AnyFunction;
}

export interface FilterNode extends NodeBase {
  readonly kind: 'filter';
  readonly fn: AnyFunction;
}

export interface FlatMapNode extends NodeBase {
  readonly kind: 'flatMap';
  readonly fn: AnyFunction;
}

/** Ends a stage: records are re-partitioned by key through a shuffle stream read by the next stage. */
export interface KeyByNode extends NodeBase {
  readonly kind: 'keyBy';
  readonly fn: AnyFunction;
  readonly stream: string;
  readonly shards?: number;
  readonly eventSource?: Partial<EventSourceSettings>;
}

/** A keyed windowed aggregation: stateful, runs in the stage that reads its keyBy's shuffle stream. */
export interface WindowNode extends NodeBase {
  readonly kind: 'window';
  readonly assigner: WindowAssigner;
  readonly aggregation: Aggregation<unknown, unknown, unknown>;
  /** ms */
  readonly allowedLateness: number;
  readonly emit: EmitMode;
  /**
   * The side output for records too late for every window they belong to; undefined when they go to
   * the dead-letter destination (`lateRecords: 'dead-letter'`).
   */
  readonly lateOutput?: string;
}

/**
 * A keyed process function (Flink's KeyedProcessFunction): keyed state and timers, stateful; runs in
 * the stage that reads its keyBy's shuffle stream, like a window (docs/process-functions.md).
 */
export interface ProcessNode extends NodeBase {
  readonly kind: 'process';
  readonly process: ProcessFunction<unknown, unknown, StateDescriptors>;
  readonly state: StateDescriptors;
  /** Whether the function may register processing-time timers: its stage then gets clock ticks. */
  readonly processingTimers: boolean;
  /** Side output name → the stream it is written to. */
  readonly sideOutputs: Readonly<Record<string, string>>;
}

/**
 * One input of a join: re-partitions its side by the join key into the join's stream, tagged with
 * the side (both sides share one stream, so matching records meet on one shard). Ends its stage.
 */
export interface JoinSideNode extends NodeBase {
  readonly kind: 'joinSide';
  /** The join key. */
  readonly fn: AnyFunction;
  readonly side: JoinSide;
  /** The join node this side feeds. */
  readonly join: string;
  readonly stream: string;
}

export type JoinSide = 'left' | 'right';

/** Which records of a join are emitted: pairs, and (outer joins) the records that found no partner. */
export type JoinType = 'inner' | 'left' | 'right' | 'full';

/** How close in event time two records must be to join. */
export type JoinCondition =
  /** Interval join: a left record at t joins right records in [t - before, t + after]. */
  | { readonly kind: 'interval'; readonly before: number; readonly after: number }
  /** Window join: both records in the same window (each window a pair shares yields the pair). */
  | { readonly kind: 'window'; readonly assigner: WindowAssigner };

/**
 * A keyed join of two streams: stateful, it starts the stage that reads its stream (which both
 * sides write), and buffers each side's records in DynamoDB as long as the condition needs them.
 */
export interface JoinNode extends NodeBase {
  readonly kind: 'join';
  readonly stream: string;
  readonly shards?: number;
  readonly eventSource?: Partial<EventSourceSettings>;
  readonly left: string;
  readonly right: string;
  readonly condition: JoinCondition;
  readonly type: JoinType;
  /** ms */
  readonly allowedLateness: number;
  /**
   * The side output for records too late to join; undefined when they go to the dead-letter
   * destination (`lateRecords: 'dead-letter'`).
   */
  readonly lateOutput?: string;
}

/** How an enrichment treats a record whose key has no row: dropped (inner) or kept with `null` (left). */
export type EnrichType = 'inner' | 'left';

/**
 * A stream-table join (Kafka Streams' KStream-KTable join): each record is paired with the row its
 * key has in a table at the time the record is processed. Stateless for the stage: the rows live in
 * DynamoDB, looked up once per distinct key per batch (docs/tables.md).
 */
export interface EnrichNode extends NodeBase {
  readonly kind: 'enrich';
  /** The lookup key of a record. */
  readonly fn: AnyFunction;
  /** The table's name in the pipeline (`toTable` or `pipeline.table`). */
  readonly table: string;
  readonly type: EnrichType;
}

/**
 * Ends a branch by keeping a table: the latest value per key (Kafka Streams' `toTable`), written to
 * the table's DynamoDB table, where `enrich` reads it.
 */
export interface ToTableNode extends NodeBase {
  readonly kind: 'toTable';
  /** The row's key. */
  readonly fn: AnyFunction;
  readonly table: string;
  /**
   * Orders a key's updates whatever order they arrive in: a row is replaced only by an update whose
   * version is at least its own. Without one, the last update applied wins.
   */
  readonly version?: AnyFunction;
  /** Says that an update deletes its key's row (a tombstone). */
  readonly deleted?: AnyFunction;
}

/**
 * Ends a branch by writing each record as an item of a DynamoDB table (docs/sinks.md): an upsert, or
 * a delete, keyed by `fn`, kept only if it is newer than the item there (its version, then a digest
 * of the item as tie-break), so that repeats and reordering leave each key's newest record.
 */
export interface ToDynamoDbNode extends NodeBase {
  readonly kind: 'toDynamoDb';
  /** The item's key: the partition key's value, or `[partition, sort]` for a table with a sort key. */
  readonly fn: AnyFunction;
  readonly table: string;
  /** The item's version. @default the record's event time */
  readonly version?: AnyFunction;
  /** Says that a record deletes its key's item (kept as a tombstone with its version). */
  readonly deleted?: AnyFunction;
}

/**
 * A table a pipeline reads: materialized from a stream by `toTable`, or a DynamoDB table the
 * pipeline does not own (`pipeline.table`). Not a node: it has no input of its own in the DAG.
 */
export interface TableDefinition {
  readonly name: string;
  readonly kind: TableKind;
  /**
   * The DynamoDB table's name: exact for an external table and an existing sink table, before any
   * deployment prefix for a table the pipeline creates.
   */
  readonly tableName: string;
  /** The partition key attribute (a materialized table's is `k`). */
  readonly partitionKey: string;
  readonly partitionKeyType: KeyType;
  /** The sort key attribute of a sink table that has one. */
  readonly sortKey?: { readonly name: string; readonly type: KeyType };
  /** A sink table the user owns: its name (or ARN) is used as it is, the construct does not create it. */
  readonly existing?: { readonly tableArn?: string };
  /** Checks rows of an external table; a row that fails dead-letters the records that looked it up. */
  readonly schema?: z.ZodType;
  /** Strongly consistent lookups (twice the read units of eventually consistent ones). */
  readonly consistentRead: boolean;
}

/** `materialized`: kept by `toTable`; `external`: read by `enrich`; `sink`: written by `toDynamoDb`. */
export type TableKind = 'materialized' | 'external' | 'sink';
export type KeyType = 'string' | 'number';

/**
 * Ends a branch by sending each record to an SQS queue, an EventBridge bus or a Firehose delivery
 * stream (`toSqs`, `toEventBridge`, `toFirehose`; docs/sinks.md), with a deterministic id.
 */
export interface ToDestinationNode extends NodeBase {
  readonly kind: 'toDestination';
  /** The destination's name in the pipeline (DestinationDefinition.name). */
  readonly destination: string;
  /** SQS FIFO: the message group of a record. @default the record's key */
  readonly group?: AnyFunction;
}

/**
 * A queue, bus or delivery stream a pipeline sends records to, as the plan has it without its
 * writers (plan-types.ts). Not a node, as a table is not. Its name is the resource's.
 */
export type DestinationDefinition = Omit<DestinationSpec, 'writers'>;

export interface SinkNode extends NodeBase {
  readonly kind: 'sink';
  readonly stream: string;
  readonly shards?: number;
}

export type PipelineNode =
  | SourceNode
  | MapNode
  | FilterNode
  | FlatMapNode
  | KeyByNode
  | WindowNode
  | ProcessNode
  | JoinSideNode
  | JoinNode
  | EnrichNode
  | ToTableNode
  | ToDynamoDbNode
  | ToDestinationNode
  | SinkNode;

/** Nodes that start a stage: their stream is a Lambda trigger. */
export type StageInputNode = SourceNode | KeyByNode | JoinNode;

export function isStageInput(node: PipelineNode): node is StageInputNode {
  return node.kind === 'source' || node.kind === 'keyBy' || node.kind === 'join';
}

/** The Kinesis streams a node writes to (a keyBy its shuffle, a sink its stream, a window its late output). */
export function streamsWrittenBy(node: PipelineNode): string[] {
  switch (node.kind) {
    case 'keyBy':
    case 'joinSide':
    case 'sink':
      return [node.stream];
    case 'window':
    case 'join':
      return node.lateOutput === undefined ? [] : [node.lateOutput];
    case 'process':
      return Object.values(node.sideOutputs);
    default:
      return [];
  }
}

/** Nodes whose state lives in DynamoDB. */
export function isStateful(node: PipelineNode): node is WindowNode | ProcessNode | JoinNode {
  return node.kind === 'window' || node.kind === 'process' || node.kind === 'join';
}
