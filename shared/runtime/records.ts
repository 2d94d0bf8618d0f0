/**
 * The records a stage reads and writes, independent of Lambda's event shape so that the same
 * operator code runs in Lambda, in the local stack, in tests and in benchmarks.
 */

/** Where an input record came from: enough to find it again in Kinesis. */
export interface RecordPosition {
  readonly stream: string;
  readonly shardId: string;
  readonly sequenceNumber: string;
  readonly partitionKey: string;
  /** Kinesis' approximate arrival time, epoch milliseconds. */
  readonly arrivalTime: number;
  /**
   * A user record of a KPL aggregate (kpl-aggregate.ts): its index in the Kinesis record at
   * `sequenceNumber`, as the KCL's UserRecord numbers it. `partitionKey` is then the user record's own.
   */
  readonly subSequenceNumber?: number;
}

/** One Kinesis record as a stage receives it. */
export interface InputRecord {
  readonly position: RecordPosition;
  /** The record's payload bytes. */
  readonly data: Uint8Array;
}

/** A record a stage writes, tagged with the input record it was derived from. */
export interface OutputRecord {
  /** Logical stream name (as in the plan, before any deployment prefix). */
  readonly stream: string;
  readonly partitionKey: string;
  readonly data: string;
  /** Sequence number of the input record this one was derived from, to report it if the write fails. */
  readonly origin: string;
  /** Routes the record to the shard owning this 128-bit hash key, whatever its partition key. */
  readonly explicitHashKey?: string;
  /**
   * Records of one lane are written strictly in order: one is sent only once the one before it is in
   * (shuffle packs of one destination shard; docs/shuffle.md). Records without a lane may be reordered
   * by retries of partial failures.
   */
  readonly lane?: string;
  /** A message sink's (`toSqs`, ...) deterministic id of the record; `partitionKey` is then its FIFO group or ''. */
  readonly messageId?: string;
}

/**
 * What travels on a shuffle stream between two stages. Short field names: this is paid for in
 * Kinesis bytes on every hop.
 */
export interface ShuffleEnvelope {
  /** Correlation id: the source record's position, extended by `/i` for each flatMap output. */
  readonly id: string;
  /** The key set by keyBy (also the Kinesis partition key). */
  readonly k: string;
  /** Event time in epoch milliseconds, when the source defines one. */
  readonly t?: number;
  /** On a join's stream: the side the record is on, 'l' or 'r'. */
  readonly s?: 'l' | 'r';
  /** The value. */
  readonly v: unknown;
}

/** A value moving through a stage's operators, with what the runtime carries beside it. */
export interface Element {
  readonly id: string;
  readonly value: unknown;
  readonly key?: string;
  readonly eventTime?: number;
  /** On a join's stream: which input the record came from. */
  readonly side?: 'left' | 'right';
}

/**
 * Correlation id of a source record; logs, dead letters and shuffle envelopes carry it. A user record
 * of a KPL aggregate adds its sub-sequence number: `<stream>/<shardId>/<sequenceNumber>:<sub>`.
 */
export function correlationIdOf(position: RecordPosition): string {
  const id = `${position.stream}/${position.shardId}/${position.sequenceNumber}`;
  return position.subSequenceNumber === undefined ? id : `${id}:${position.subSequenceNumber}`;
}

/**
 * {@link correlationIdOf} for the records of a stage's batches, which come a shard at a time: the
 * `<stream>/<shardId>/` prefix is made once per shard, and each id is that prefix and one string more.
 */
export function correlationIds(): (position: RecordPosition) => string {
  let stream: string | undefined;
  let shardId: string | undefined;
  let prefix = '';
  return (position) => {
    if (position.subSequenceNumber !== undefined) return correlationIdOf(position);
    if (position.stream !== stream || position.shardId !== shardId) {
      stream = position.stream;
      shardId = position.shardId;
      prefix = `${stream}/${shardId}/`;
    }
    return prefix + position.sequenceNumber;
  };
}
