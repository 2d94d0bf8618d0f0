import { type KinesisClient, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { backoffDelay, sleep } from '../../shared/util/backoff.js';
import { compareSequenceNumbers } from '../event-source-mapping/sequence-number.js';
import { isBlank, readByteLines } from './byte-lines.js';
import { linesInStream } from './fed-lines.js';
import type { ShardPositions } from './input-progress.js';
import { lineKey } from './line-keys.js';
import { retryTransient } from './runner-retries.js';

/** Where a fed record came from, so that a dead letter can be traced to its line. */
export interface LineOrigin {
  readonly file: string;
  readonly line: number;
}

export interface FeedResult {
  /** Records this call put into the stream. */
  readonly records: number;
  /** Lines the stream could not take, handed to `onTooLarge`. */
  readonly tooLarge: number;
}

/** Kinesis' limits (docs/../shared/aws-semantics.md): a record counts its data and its partition key. */
export const KINESIS_RECORD_LIMIT = 1024 * 1024;
const CALL_RECORDS = 500;
const CALL_BYTES = 5 * 1024 * 1024;

/** A line the stream cannot take: over the record limit with its partition key. */
export interface OversizedLine extends LineOrigin {
  readonly partitionKey: string;
  readonly bytes: Buffer;
  /** Data and partition key, as Kinesis counts them. */
  readonly recordBytes: number;
  readonly limit: number;
}

export interface FeedOptions {
  /** Lines up to this one (1-based) were fed before: skip them (a run resumed on its data folder). @default 0 */
  readonly afterLine?: number;
  /** Lines after `afterLine` found in the stream already (fed-lines.ts): not fed again. @default none */
  readonly alreadyIn?: ReadonlySet<number>;
  /**
   * Called after each PutRecords round once every line up to `line` is in the stream, with the
   * highest position the round got per shard.
   */
  readonly onCommitted?: (line: number, shards: ShardPositions) => void;
  /**
   * Called, before the round it would have been in, for each line the stream cannot take; its
   * position in the file counts as fed. Without it, such a line fails the feed with an error that
   * names its file and line.
   */
  readonly onTooLarge?: (line: OversizedLine) => Promise<void>;
  /** @default KINESIS_RECORD_LIMIT */
  readonly recordLimit?: number;
  /**
   * How long to wait, after a PutRecords whose outcome is unknown (a timeout, a cut connection, a
   * 5xx), before reading the stream back to see which of its lines got in: a request the client
   * gave up on may still reach the stream a little later. @default 2000
   */
  readonly settleMs?: number;
}

/** A line that the stream cannot take, with nowhere to send it. */
export class LineTooLargeError extends Error {
  override readonly name = 'LineTooLargeError';
}

interface Entry {
  readonly line: number;
  readonly partitionKey: string;
  readonly data: Buffer;
  readonly size: number;
}

/**
 * Puts each non-blank line of a JSON-lines file into a stream as one record, as the bytes the file
 * holds (the source stage decodes and validates them, so a malformed line, invalid UTF-8 included, is
 * dead-lettered like any bad record in production). Each record's partition key names its file and
 * line (line-keys.ts). Records that PutRecords reports as failed are retried with backoff until they
 * are in; one round (at most 500 records and 5 MiB) is in flight at a time.
 */
export async function feedJsonLines(
  client: KinesisClient,
  stream: string,
  file: string,
  onProgress: (records: number) => void = () => {},
  options: FeedOptions = {},
): Promise<FeedResult> {
  const afterLine = options.afterLine ?? 0;
  const limit = options.recordLimit ?? KINESIS_RECORD_LIMIT;
  let records = 0;
  let tooLarge = 0;
  let batch: Entry[] = [];
  let batchBytes = 0;
  let committed = afterLine;
  /** The highest position each shard got from this feed: where a look for lines already in starts. */
  const positions: Record<string, string> = {};
  const put = (n: number) => {
    records += n;
    onProgress(records);
  };
  const alreadyIn = async (): Promise<ReadonlySet<number>> => {
    await sleep(options.settleMs ?? 2_000);
    return retryTransient(`reading ${stream} back after a PutRecords of unknown outcome`, () =>
      linesInStream(client, stream, file, committed, positions),
    );
  };
  const flush = async (throughLine: number): Promise<void> => {
    const shards = batch.length === 0 ? {} : await putAll(client, stream, batch, put, positions, alreadyIn);
    batch = [];
    batchBytes = 0;
    if (throughLine > committed) {
      committed = throughLine;
      options.onCommitted?.(committed, shards);
    }
  };
  let lastLine = afterLine;
  for await (const { line, bytes } of readByteLines(file, afterLine)) {
    lastLine = line;
    if (isBlank(bytes) || options.alreadyIn?.has(line)) continue;
    const partitionKey = lineKey(file, line);
    const size = bytes.length + Buffer.byteLength(partitionKey);
    if (size > limit) {
      if (options.onTooLarge === undefined) {
        throw new LineTooLargeError(
          `${file}:${line}: a line of ${size} bytes with its partition key is over the stream's record limit of ${limit} bytes`,
        );
      }
      await options.onTooLarge({ file, line, partitionKey, bytes, recordBytes: size, limit });
      tooLarge += 1;
      continue;
    }
    if (batch.length === CALL_RECORDS || batchBytes + size > CALL_BYTES) await flush(line - 1);
    // Each entry owns its bytes: a subarray would keep the file's whole read chunk alive.
    batch.push({ line, partitionKey, data: Buffer.from(bytes), size });
    batchBytes += size;
  }
  await flush(lastLine);
  return { records, tooLarge };
}

/**
 * Puts every entry, retrying those PutRecords reports as failed; returns the highest position each
 * shard got.
 */
async function putAll(
  client: KinesisClient,
  stream: string,
  entries: readonly Entry[],
  onPut: (records: number) => void,
  positions: Record<string, string>,
  alreadyIn: () => Promise<ReadonlySet<number>>,
): Promise<ShardPositions> {
  const shards: Record<string, string> = {};
  let pending = entries;
  for (let attempt = 0; pending.length > 0; attempt += 1) {
    if (attempt > 0) await sleep(backoffDelay(attempt));
    if (attempt > 50) {
      const lines = pending.map((entry) => entry.line);
      throw new Error(
        `could not put lines ${lines.slice(0, 5).join(', ')}${lines.length > 5 ? ', ...' : ''} into ${stream}`,
      );
    }
    const records = [...pending];
    // A PutRecords that timed out or lost its connection may have written some or all of its
    // records: before it is sent again, the lines found in the stream are taken out, so that no line
    // is fed twice (Kinesis has no idempotency token to do it for us).
    const response = await retryTransient(
      `PutRecords of ${records.length} lines into ${stream}`,
      async () =>
        records.length === 0
          ? { Records: [], FailedRecordCount: 0, $metadata: {} }
          : client.send(
              new PutRecordsCommand({
                StreamName: stream,
                Records: records.map((entry) => ({ PartitionKey: entry.partitionKey, Data: entry.data })),
              }),
            ),
      {
        beforeRetry: async () => {
          const found = await alreadyIn();
          const before = records.length;
          records.splice(0, records.length, ...records.filter((entry) => !found.has(entry.line)));
          onPut(before - records.length);
        },
      },
    );
    const failed: Entry[] = [];
    records.forEach((entry, index) => {
      const result = response.Records?.[index];
      if (result?.ErrorCode !== undefined || result?.SequenceNumber === undefined || result.ShardId === undefined) {
        failed.push(entry);
        return;
      }
      for (const held of [shards, positions]) {
        const known = held[result.ShardId];
        if (known === undefined || compareSequenceNumbers(result.SequenceNumber, known) > 0)
          held[result.ShardId] = result.SequenceNumber;
      }
    });
    onPut(records.length - failed.length);
    pending = failed;
  }
  return shards;
}
