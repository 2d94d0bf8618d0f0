import type { OutputRecord } from '../records.js';

/** The result of writing a batch's outputs: the records that could not be written in the time given. */
export interface WriteOutcome {
  readonly failed: readonly OutputRecord[];
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
