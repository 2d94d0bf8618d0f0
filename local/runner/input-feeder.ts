import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { type KinesisClient, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { backoffDelay, sleep } from '../../shared/util/backoff.js';

/** Where a fed record came from, so that a dead letter can be traced to its line. */
export interface LineOrigin {
  readonly file: string;
  readonly line: number;
}

export interface FeedResult {
  readonly records: number;
  /** `<shardId>/<sequenceNumber>` -> file and line. */
  readonly origins: Map<string, LineOrigin>;
}

const BATCH = 500;

export interface FeedOptions {
  /** Lines up to this one (1-based) were fed before: skip them (a run resumed on its data folder). @default 0 */
  readonly afterLine?: number;
  /** Called after each PutRecords round once every line up to `line` is in the stream. */
  readonly onCommitted?: (line: number) => void;
}

/**
 * Puts each non-blank line of a JSON-lines file into a stream as one record, as bytes: the source
 * stage validates them, so a malformed line is dead-lettered like any bad record in production.
 * Records that PutRecords reports as failed are retried with backoff until they are in.
 */
export async function feedJsonLines(
  client: KinesisClient,
  stream: string,
  file: string,
  onProgress: (records: number) => void = () => {},
  options: FeedOptions = {},
): Promise<FeedResult> {
  const origins = new Map<string, LineOrigin>();
  let batch: { line: number; text: string }[] = [];
  let records = 0;
  const flush = async (): Promise<void> => {
    let pending = batch;
    batch = [];
    for (let attempt = 0; pending.length > 0; attempt += 1) {
      if (attempt > 0) await sleep(backoffDelay(attempt));
      if (attempt > 50) throw new Error(`could not put ${pending.length} records into ${stream}`);
      const response = await client.send(
        new PutRecordsCommand({
          StreamName: stream,
          Records: pending.map((entry) => ({
            PartitionKey: `${file}:${entry.line}`.slice(-256),
            Data: Buffer.from(entry.text),
          })),
        }),
      );
      const failed: typeof pending = [];
      pending.forEach((entry, index) => {
        const result = response.Records?.[index];
        if (result?.ErrorCode !== undefined || result?.SequenceNumber === undefined) failed.push(entry);
        else origins.set(`${result.ShardId}/${result.SequenceNumber}`, { file, line: entry.line });
      });
      records += pending.length - failed.length;
      onProgress(records);
      pending = failed;
    }
    options.onCommitted?.(committed);
  };
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Number.POSITIVE_INFINITY });
  let lineNumber = 0;
  let committed = options.afterLine ?? 0;
  for await (const text of lines) {
    lineNumber += 1;
    if (lineNumber <= (options.afterLine ?? 0) || text.trim() === '') continue;
    batch.push({ line: lineNumber, text });
    if (batch.length === BATCH) {
      committed = lineNumber;
      await flush();
    }
  }
  committed = lineNumber;
  await flush();
  return { records, origins };
}
