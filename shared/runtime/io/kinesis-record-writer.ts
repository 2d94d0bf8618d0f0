import { type KinesisClient, PutRecordsCommand, type PutRecordsRequestEntry } from '@aws-sdk/client-kinesis';
import { type BackoffOptions, backoffDelay, sleep } from '../../util/backoff.js';
import type { OutputRecord } from '../records.js';
import type { RecordWriter, WriteOutcome } from './record-writer.js';
import { isTransientAwsError } from './transient-errors.js';

export interface KinesisRecordWriterOptions {
  readonly client: KinesisClient;
  /** Prepended to every logical stream name. @default '' */
  readonly streamPrefix?: string;
  readonly backoff?: BackoffOptions;
  /** Stop retrying this long before the deadline, to leave time to report the failures. @default 1000 */
  readonly safetyMarginMs?: number;
}

/** PutRecords limits: 500 records and 5 MiB per call (partition keys count towards the bytes). */
const MAX_RECORDS_PER_CALL = 500;
const MAX_BYTES_PER_CALL = 5 * 1024 * 1024;

/**
 * Writes with PutRecords. A call can succeed with some records failed (FailedRecordCount, e.g.
 * ProvisionedThroughputExceededException per record): those, and the records of a call that failed as
 * a whole, are retried with backoff until the deadline. Streams are written in parallel; the calls of
 * one stream one after another, so that records of a key keep their order when nothing fails, and
 * records of one lane (OutputRecord.lane) keep it whatever fails.
 */
export class KinesisRecordWriter implements RecordWriter {
  readonly #client: KinesisClient;
  readonly #prefix: string;
  readonly #backoff: BackoffOptions;
  readonly #margin: number;

  constructor(options: KinesisRecordWriterOptions) {
    this.#client = options.client;
    this.#prefix = options.streamPrefix ?? '';
    this.#backoff = options.backoff ?? {};
    this.#margin = options.safetyMarginMs ?? 1000;
  }

  async write(records: readonly OutputRecord[], deadline: number): Promise<WriteOutcome> {
    const byStream = new Map<string, OutputRecord[]>();
    for (const record of records) {
      const list = byStream.get(record.stream);
      if (list === undefined) byStream.set(record.stream, [record]);
      else list.push(record);
    }
    const results = await Promise.all([...byStream].map(([stream, list]) => this.#writeStream(stream, list, deadline)));
    return {
      failed: results.flatMap((result) => result.failed),
      requests: results.reduce((sum, result) => sum + result.requests, 0),
      ...(results.some((result) => result.misrouted !== undefined) && {
        misrouted: results.flatMap((result) => result.misrouted ?? []),
      }),
    };
  }

  /**
   * Rounds of calls: every record without a lane that is still pending, and the next record of each
   * lane. A lane moves on only when its record is in, so a lane's records land in order; a failed
   * round is retried after a backoff, a successful one goes on at once.
   */
  async #writeStream(stream: string, records: OutputRecord[], deadline: number): Promise<WriteOutcome> {
    let loose = records.filter((record) => record.lane === undefined);
    const lanes = new Map<string, OutputRecord[]>();
    for (const record of records) {
      if (record.lane === undefined) continue;
      const lane = lanes.get(record.lane);
      if (lane === undefined) lanes.set(record.lane, [record]);
      else lane.push(record);
    }
    let requests = 0;
    let failures = 0;
    // Lanes whose record landed in another shard: written, but where their consumer drops them. They
    // stop, and they and the rest of their lane are reported failed (written again over a fresh list).
    const stopped: OutputRecord[] = [];
    while (loose.length > 0 || lanes.size > 0) {
      if (failures > 0) {
        const delay = backoffDelay(failures - 1, this.#backoff);
        if (Date.now() + delay + this.#margin > deadline) break;
        await sleep(delay);
      }
      const heads = [...lanes.values()].map((lane) => lane[0] as OutputRecord);
      const failed = new Set<OutputRecord>();
      const misrouted = new Set<OutputRecord>();
      for (const chunk of chunks([...loose, ...heads])) {
        requests += 1;
        const result = await this.#put(stream, chunk);
        for (const record of result.failed) failed.add(record);
        for (const record of result.misrouted) misrouted.add(record);
      }
      loose = loose.filter((record) => failed.has(record));
      for (const [name, lane] of lanes) {
        if (!misrouted.has(lane[0] as OutputRecord)) continue;
        stopped.push(...lane);
        lanes.delete(name);
      }
      for (const [name, lane] of lanes) {
        if (failed.has(lane[0] as OutputRecord)) continue;
        lane.shift();
        if (lane.length === 0) lanes.delete(name);
      }
      failures = failed.size > 0 ? failures + 1 : 0;
    }
    const failed = [...loose, ...[...lanes.values()].flat(), ...stopped];
    return { failed, requests, ...(stopped.length > 0 && { misrouted: [stream] }) };
  }

  /** The records of the chunk that were not written, and those of a lane written to another shard than the lane's. */
  async #put(stream: string, chunk: OutputRecord[]): Promise<{ failed: OutputRecord[]; misrouted: OutputRecord[] }> {
    const entries: PutRecordsRequestEntry[] = chunk.map((record) => ({
      PartitionKey: record.partitionKey,
      Data: Buffer.from(record.data),
      ...(record.explicitHashKey !== undefined && { ExplicitHashKey: record.explicitHashKey }),
    }));
    try {
      const response = await this.#client.send(
        new PutRecordsCommand({ StreamName: `${this.#prefix}${stream}`, Records: entries }),
      );
      // The response lists results in request order; failed entries carry an ErrorCode.
      const failed = chunk.filter((_, index) => response.Records?.[index]?.ErrorCode !== undefined);
      const misrouted = chunk.filter((record, index) => {
        const shardId = response.Records?.[index]?.ShardId;
        return (
          record.lane !== undefined &&
          shardId !== undefined &&
          record.lane.slice(record.lane.lastIndexOf('/') + 1) !== shardId
        );
      });
      return { failed, misrouted };
    } catch (error) {
      // Throttling, 5xx and network errors that outlasted the SDK's own retries: retry the whole call.
      if (isRetryable(error)) return { failed: chunk, misrouted: [] };
      throw error;
    }
  }
}

/** Kinesis' throttling errors (per shard, per account, and KMS under the stream's encryption). */
const KINESIS_TRANSIENT = [
  'ProvisionedThroughputExceededException',
  'LimitExceededException',
  'KMSThrottlingException',
];

function isRetryable(error: unknown): boolean {
  return isTransientAwsError(error, KINESIS_TRANSIENT);
}

function* chunks(records: OutputRecord[]): Generator<OutputRecord[]> {
  let chunk: OutputRecord[] = [];
  let bytes = 0;
  for (const record of records) {
    const size = Buffer.byteLength(record.data) + Buffer.byteLength(record.partitionKey);
    if (chunk.length === MAX_RECORDS_PER_CALL || (chunk.length > 0 && bytes + size > MAX_BYTES_PER_CALL)) {
      yield chunk;
      chunk = [];
      bytes = 0;
    }
    chunk.push(record);
    bytes += size;
  }
  if (chunk.length > 0) yield chunk;
}
