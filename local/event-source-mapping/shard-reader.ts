import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  type KinesisClient,
  type _Record as KinesisRecord,
  type ShardIteratorType,
} from '@aws-sdk/client-kinesis';
import { errorName } from './async-tools.js';

/** Where a shard's reading begins. */
export type ReadStart =
  | { readonly type: 'TRIM_HORIZON' }
  | { readonly type: 'LATEST' }
  | { readonly type: 'AFTER_SEQUENCE_NUMBER'; readonly sequenceNumber: string };

export interface ReadResult {
  readonly records: readonly KinesisRecord[];
  readonly millisBehindLatest: number | undefined;
  /** The shard is closed and every record of it has been read: GetRecords gave no next iterator. */
  readonly endOfShard: boolean;
}

/** Reading a shard failed in a way the reader cannot recover from by itself. */
export class ShardReadError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ShardReadError';
  }
}

/** Most records one GetRecords call may return. */
export const maxGetRecordsLimit = 10_000;

/**
 * Reads one shard with GetShardIterator / GetRecords, keeping its iterator. An expired iterator
 * (they last 5 minutes, e.g. while a batch is being retried) is replaced by one
 * AFTER_SEQUENCE_NUMBER the last record read, which is at or after the checkpoint: records read
 * but not yet processed are still held by the poller, so reading resumes exactly where it stopped.
 */
export class ShardReader {
  readonly #kinesis: KinesisClient;
  readonly #streamName: string;
  readonly #shardId: string;
  readonly #start: ReadStart;
  #iterator: string | undefined;
  #lastRead: string | undefined;
  #ended = false;

  constructor(options: { kinesis: KinesisClient; streamName: string; shardId: string; start: ReadStart }) {
    this.#kinesis = options.kinesis;
    this.#streamName = options.streamName;
    this.#shardId = options.shardId;
    this.#start = options.start;
  }

  /** Whether the end of a closed shard was reached. */
  get ended(): boolean {
    return this.#ended;
  }

  /** Gets the first iterator now, so that LATEST means "from when the mapping started". */
  async open(abort?: AbortSignal): Promise<void> {
    this.#iterator ??= await this.#obtainIterator(abort);
  }

  /** One GetRecords call. Throws the SDK's errors other than an expired iterator (e.g. throttling). */
  async read(limit: number, abort?: AbortSignal): Promise<ReadResult> {
    if (this.#ended) return { records: [], millisBehindLatest: 0, endOfShard: true };
    const boundedLimit = Math.min(maxGetRecordsLimit, Math.max(1, Math.floor(limit)));
    for (let attempt = 0; ; attempt += 1) {
      this.#iterator ??= await this.#obtainIterator(abort);
      try {
        const output = await this.#kinesis.send(
          new GetRecordsCommand({ ShardIterator: this.#iterator, Limit: boundedLimit }),
          { abortSignal: abort },
        );
        const records = output.Records ?? [];
        const last = records.at(-1);
        if (last?.SequenceNumber !== undefined) this.#lastRead = last.SequenceNumber;
        this.#iterator = output.NextShardIterator;
        this.#ended = output.NextShardIterator === undefined || output.NextShardIterator === null;
        return { records, millisBehindLatest: output.MillisBehindLatest, endOfShard: this.#ended };
      } catch (error) {
        // Other errors (throttling, network) leave the iterator valid: dropping it would make LATEST skip records.
        if (errorName(error) !== 'ExpiredIteratorException') throw error;
        this.#iterator = undefined;
        // A fresh iterator expiring at once would loop for ever; twice in a row is not an expiry problem.
        if (attempt > 0) throw error;
      }
    }
  }

  async #obtainIterator(abort?: AbortSignal): Promise<string> {
    const position: { ShardIteratorType: ShardIteratorType; StartingSequenceNumber?: string } =
      this.#lastRead !== undefined
        ? { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', StartingSequenceNumber: this.#lastRead }
        : this.#start.type === 'AFTER_SEQUENCE_NUMBER'
          ? { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', StartingSequenceNumber: this.#start.sequenceNumber }
          : { ShardIteratorType: this.#start.type };
    const output = await this.#kinesis.send(
      new GetShardIteratorCommand({ StreamName: this.#streamName, ShardId: this.#shardId, ...position }),
      { abortSignal: abort },
    );
    if (!output.ShardIterator) {
      throw new ShardReadError(
        `GetShardIterator returned no iterator for ${this.#shardId} (${position.ShardIteratorType})`,
      );
    }
    return output.ShardIterator;
  }
}
