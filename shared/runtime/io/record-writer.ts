import type { DeadLetterError } from '../../operators/record-errors.js';
import type { OutputRecord } from '../records.js';

/**
 * An output its destination refused for good: no retry can succeed (a message over an existing
 * queue's `MaximumMessageSize`, an event EventBridge calls malformed). It goes to the dead letters.
 */
export interface RefusedOutput {
  readonly record: OutputRecord;
  /** Names the record (its message id), the field or size, and the destination. */
  readonly error: DeadLetterError;
}

/** The result of writing a batch's outputs: the records that could not be written in the time given. */
export interface WriteOutcome {
  readonly failed: readonly OutputRecord[];
  /** Outputs refused for good, neither written nor failed (retrying them would never end). */
  readonly refused?: readonly RefusedOutput[];
  /** PutRecords calls made, for metrics and benchmarks. */
  readonly requests: number;
  /** Streams where a lane's record landed in another shard than its lane's: the shard list was stale. */
  readonly misrouted?: readonly string[];
}

/**
 * The one door from a stage to Kinesis. Kinesis in the cloud and the local stack, an in-memory list
 * in tests and benchmarks.
 */
export interface RecordWriter {
  /**
   * Writes records to their streams, keeping the order of records within each stream. Resolves when
   * every record is written or `deadline` (epoch ms) leaves no time to retry the rest.
   */
  write(records: readonly OutputRecord[], deadline: number): Promise<WriteOutcome>;
}
