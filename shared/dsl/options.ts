import type { z } from 'zod';
import type { EnrichType, JoinType } from '../dag/graph.js';
import type { EventSourceSettings } from '../dag/plan-types.js';
import type { InputLimits } from '../operators/input-limits.js';
import type { Duration, WindowAssigner } from '../windows/types.js';

export interface OperatorOptions {
  /** Names the operator in errors, logs and metrics. @default '<kind>-<n>' */
  readonly name?: string;
}

export interface SourceOptions<S extends z.ZodType> {
  /** Validates every record read from the stream; a record that fails goes to the dead-letter stream. */
  readonly schema: S;
  /** The record's event time in epoch milliseconds (a Date is accepted too). */
  readonly eventTime?: (value: z.output<S>) => number | Date;
  /**
   * How far out of order event times may arrive: the watermark trails the highest event time seen on
   * a shard by this much (Flink's forBoundedOutOfOrderness). @default 0
   */
  readonly maxOutOfOrderness?: Duration;
  /**
   * A source shard with no records for this long no longer holds back the watermark (Flink's
   * withIdleness). @default never: an idle shard holds the watermark back
   */
  readonly idleTimeout?: Duration;
  /** @default the pipeline's `defaultShards` */
  readonly shards?: number;
  /** Event source mapping settings of the stage this source triggers. */
  readonly eventSource?: Partial<EventSourceSettings>;
  /**
   * The largest record and the deepest JSON the source stage will parse; a record over either goes to
   * the dead-letter stream unparsed. @default { maxRecordBytes: 1 MiB, maxDepth: 64 }
   */
  readonly limits?: InputLimits;
}

/** Which kind of change a DynamoDB stream record is. */
export type TableChangeName = 'INSERT' | 'MODIFY' | 'REMOVE';

/**
 * One change of a DynamoDB table, as a `dynamoDbStream` source gives it: the stream record with its
 * images unmarshalled (numbers as numbers, sets as Sets) and checked by the source's schema.
 */
export interface TableChange<T> {
  readonly eventName: TableChangeName;
  /** The item's key attributes. */
  readonly keys: Readonly<Record<string, unknown>>;
  /** The item before the change: MODIFY and REMOVE. */
  readonly oldImage?: T;
  /** The item after the change: INSERT and MODIFY. */
  readonly newImage?: T;
  /** The stream record's SequenceNumber: its position in its shard. */
  readonly sequenceNumber: string;
  /** ApproximateCreationDateTime, epoch milliseconds (DynamoDB gives it to the second, or finer). */
  readonly approximateCreationTime: number;
}

/** The table whose changes a `dynamoDbStream` source reads. */
export interface DynamoDbStreamTable {
  /** The table's name: created (and prefixed) by the construct, unless `streamArn` names an existing table's stream. */
  readonly table: string;
  /** @default { name: 'pk', type: 'string' } */
  readonly partitionKey?: KeyAttribute;
  /** @default none */
  readonly sortKey?: KeyAttribute;
  /**
   * The stream of an existing table (StreamViewType NEW_AND_OLD_IMAGES): `table` is then its exact
   * name, and the construct neither creates nor changes it.
   */
  readonly streamArn?: string;
}

export interface DynamoDbStreamSourceOptions<S extends z.ZodType>
  extends Omit<SourceOptions<S>, 'eventTime' | 'shards' | 'idleTimeout'> {
  /** The table whose changes are the source's records: its name, or its settings. */
  readonly dynamoDbStream: string | DynamoDbStreamTable;
  /** `schema` checks each image (old and new) of a change: an image that fails dead-letters the change. */
  readonly schema: S;
  /** The change's event time in epoch milliseconds (a Date is accepted too). */
  readonly eventTime?: (change: TableChange<z.output<S>>) => number | Date;
}

/** What a key extractor may return; the key becomes the Kinesis partition key of the next hop. */
export type KeyValue = string | number;

export interface KeyByOptions extends OperatorOptions {
  /** The shuffle stream's name. @default '<pipeline>-<operator name>' */
  readonly stream?: string;
  /** @default the pipeline's `defaultShards` */
  readonly shards?: number;
  /** Event source mapping settings of the stage that reads the shuffle stream. */
  readonly eventSource?: Partial<EventSourceSettings>;
}

/** How two streams are joined: by key, and by event time (an interval, or a shared window). */
export interface JoinOptions<L, R> extends OperatorOptions {
  /** The join key of a left record. */
  readonly left: (value: L) => KeyValue;
  /** The join key of a right record. */
  readonly right: (value: R) => KeyValue;
  /**
   * Interval join (Flink's intervalJoin): a left record at t joins every right record of its key
   * with an event time in [t - before, t + after].
   */
  readonly within?: { readonly before?: Duration; readonly after?: Duration };
  /** Window join: left and right records of a key in the same window (tumbling or hopping). */
  readonly window?: WindowAssigner;
  /**
   * Interval joins only: 'left', 'right' or 'full' also emit each record of that side that found no
   * partner, with `null` for the other side, once the watermark has passed its interval. @default 'inner'
   */
  readonly type?: JoinType;
  /** How far behind the watermark a record may still join. @default 0 */
  readonly allowedLateness?: Duration;
  /**
   * Stream that receives records too late to join.
   * @default '<pipeline>-<join name>-late'; none with the pipeline's `lateRecords: 'dead-letter'`
   * (or `profile: 'cost'`): late records are then dead letters with the reason `late`
   */
  readonly lateOutput?: string;
  /** The join stream's name (both sides write it). @default '<pipeline>-<join name>' */
  readonly stream?: string;
  /** @default the pipeline's `defaultShards` */
  readonly shards?: number;
  /** Event source mapping settings of the stage that joins. */
  readonly eventSource?: Partial<EventSourceSettings>;
}

export interface SinkOptions extends OperatorOptions {
  /** @default the pipeline's `defaultShards` */
  readonly shards?: number;
}

export interface ToSqsOptions<T> extends OperatorOptions {
  /**
   * A FIFO queue: each record's message group is `group(record)` (by default its key) and its
   * deduplication id the record's deterministic id, so SQS drops a repeat within 5 minutes.
   * @default true when the queue's name ends in `.fifo`, else false
   */
  readonly fifo?: boolean;
  /** FIFO: the message group of a record, 1 to 128 characters. @default the record's key (after keyBy) */
  readonly group?: (value: T) => string;
  /**
   * The queue is the user's: used by its name (or the ARN given as the queue), never created.
   * @default false: the construct creates `<prefix><queue>`
   */
  readonly existing?: boolean;
}

export interface ToEventBridgeOptions extends OperatorOptions {
  /** Each event's DetailType. */
  readonly detailType: string;
  /** Each event's Source (not starting with `aws.`, which AWS keeps for its own events). */
  readonly source: string;
  /** The bus is the user's (by name, or its ARN given as the bus), never created. @default false */
  readonly existing?: boolean;
}

export interface ToFirehoseOptions extends OperatorOptions {
  /** The delivery stream is the user's (by name, or its ARN given as the stream), never created. @default false */
  readonly existing?: boolean;
}

export interface ToTableOptions<T> extends OperatorOptions {
  /** The row's key: the DynamoDB partition key of its item. */
  readonly key: (value: T) => KeyValue;
  /**
   * A number that orders a key's updates (an update time, a revision): a row is only replaced by an
   * update whose version is at least its own, so updates may arrive in any order and be repeated.
   * @default none: the last update applied wins, which is the stream's order only per partition key
   * (produce the changelog with the row's key as partition key)
   */
  readonly version?: (value: T) => number;
  /** Whether an update deletes its key's row (a tombstone). @default never */
  readonly deleted?: (value: T) => boolean;
}

/** A key attribute of a DynamoDB table: its name and type. */
export interface KeyAttribute {
  readonly name: string;
  /** @default 'string' */
  readonly type?: 'string' | 'number';
}

export interface ToDynamoDbOptions<T> extends OperatorOptions {
  /**
   * The item's key: the partition key's value, or `[partition, sort]` when the table has a `sortKey`.
   * A string or a finite number, as the key attribute's type says; anything else dead-letters the record.
   */
  readonly key: (value: T) => KeyValue | readonly [KeyValue, KeyValue];
  /** The partition key attribute. @default { name: 'pk', type: 'string' } */
  readonly partitionKey?: KeyAttribute;
  /** The sort key attribute, when the table has one. @default none */
  readonly sortKey?: KeyAttribute;
  /**
   * Orders a key's writes: a write is kept only over an older one (ties broken by a digest of the
   * item), so that repeats and reordering leave the newest.
   * @default the record's event time (a record without one is dead-lettered)
   */
  readonly version?: (value: T) => number;
  /** Whether a record deletes its key's item (kept as a tombstone with its version). @default never */
  readonly delete?: (value: T) => boolean;
  /**
   * The table exists already (the user's): the name, or the table's ARN given as the table, is used as
   * it is, and the construct neither creates nor prefixes it. An ARN given as the table implies it.
   * @default false: the construct creates `<prefix><table>`
   */
  readonly existing?: boolean;
}

export interface TableOptions<S extends z.ZodType> {
  /** The existing DynamoDB table's name (exact: no deployment prefix is added). */
  readonly tableName: string;
  /** Its partition key attribute; lookups are by this key alone (the table must have no sort key). */
  readonly partitionKey: string;
  /** @default 'string' */
  readonly partitionKeyType?: 'string' | 'number';
  /** Checks each row looked up; a row that fails dead-letters the records that looked it up. */
  readonly schema: S;
  /** Strongly consistent lookups, at twice the read units. @default false */
  readonly consistentRead?: boolean;
}

export interface EnrichOptions<T> extends OperatorOptions {
  /** The key to look up for a record. */
  readonly key: (value: T) => KeyValue;
  /**
   * 'inner' drops a record whose key has no row (counted as filtered); 'left' emits it with `null`.
   * @default 'inner'
   */
  readonly type?: EnrichType;
}
