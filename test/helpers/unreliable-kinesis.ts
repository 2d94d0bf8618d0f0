import { createHash } from 'node:crypto';
import type {
  KinesisClient,
  PutRecordsCommand,
  PutRecordsRequestEntry,
  PutRecordsResultEntry,
} from '@aws-sdk/client-kinesis';
import { KinesisRecordWriter } from '../../shared/runtime/io/kinesis-record-writer.js';
import type { InputRecord } from '../../shared/runtime/records.js';
import type { StageRunner } from '../../shared/runtime/stage-runner.js';
import { CONTROL_PARTITION_KEY, END_OF_INPUT_DATA } from '../../shared/runtime/watermark-records.js';

/**
 * Kinesis for one stream, in memory, and unreliable the way Kinesis is: PutRecords fails some entries
 * (ProvisionedThroughputExceededException) and writes the others, and sometimes fails as a whole. It
 * routes by ExplicitHashKey, else by MD5 of the partition key, over evenly split shards.
 */
export class UnreliableKinesis {
  readonly shards: InputRecord[][];
  #sequence = 49_600_000_000_000_000_000_000_000_000_000_000_000_000_000_000n;

  constructor(
    readonly stream: string,
    shardCount: number,
    readonly random: () => number,
  ) {
    this.shards = Array.from({ length: shardCount }, () => []);
  }

  async send(command: PutRecordsCommand): Promise<{ FailedRecordCount: number; Records: PutRecordsResultEntry[] }> {
    return unreliablePutRecords(command, this.random, (entry, hash) => {
      // Shard i starts at floor(2^128 * i / n), as CreateStream splits the hash key space.
      const count = BigInt(this.shards.length);
      let index = this.shards.length - 1;
      while ((2n ** 128n * BigInt(index)) / count > hash) index -= 1;
      const shardId = `shardId-${String(index).padStart(12, '0')}`;
      this.#sequence += BigInt(1 + Math.floor(this.random() * 1000));
      (this.shards[index] as InputRecord[]).push({
        position: {
          stream: this.stream,
          shardId,
          sequenceNumber: this.#sequence.toString(),
          partitionKey: entry.PartitionKey ?? '',
          arrivalTime: 0,
        },
        data: entry.Data as Uint8Array,
      });
      return { SequenceNumber: this.#sequence.toString(), ShardId: shardId };
    });
  }
}

/**
 * PutRecords as Kinesis answers it under load: now and then the whole call refused, a fifth of the
 * entries refused (ProvisionedThroughputExceededException), the others taken in order by `put`,
 * given the hash key that routes them (ExplicitHashKey, else MD5 of the partition key).
 */
export async function unreliablePutRecords(
  command: PutRecordsCommand,
  random: () => number,
  put: (entry: PutRecordsRequestEntry, hash: bigint) => PutRecordsResultEntry,
): Promise<{ FailedRecordCount: number; Records: PutRecordsResultEntry[] }> {
  if (random() < 0.05) {
    throw Object.assign(new Error('Rate exceeded for stream'), { name: 'ProvisionedThroughputExceededException' });
  }
  const results: PutRecordsResultEntry[] = [];
  let failed = 0;
  for (const entry of command.input.Records ?? []) {
    if (random() < 0.2) {
      failed += 1;
      results.push({ ErrorCode: 'ProvisionedThroughputExceededException', ErrorMessage: 'Rate exceeded for shard' });
      continue;
    }
    const hash =
      entry.ExplicitHashKey !== undefined
        ? BigInt(entry.ExplicitHashKey)
        : BigInt(
            `0x${createHash('md5')
              .update(entry.PartitionKey ?? '')
              .digest('hex')}`,
          );
    results.push(put(entry, hash));
  }
  return { FailedRecordCount: failed, Records: results };
}

/** A KinesisRecordWriter over `client` that retries at once (no backoff) until its deadline. */
export function instantWriter(client: unknown): KinesisRecordWriter {
  return new KinesisRecordWriter({
    client: client as KinesisClient,
    backoff: { baseMs: 0, capMs: 0 },
    safetyMarginMs: 0,
  });
}

/**
 * Lambda's event source mapping over one shard, reduced: random batch sizes; a partial batch response
 * resumes from its lowest record; an invocation may crash after its work is done, and the batch is
 * then delivered again.
 */
export async function deliver(
  runner: StageRunner,
  records: readonly InputRecord[],
  random: () => number,
): Promise<number> {
  let cursor = 0;
  let redeliveries = 0;
  while (cursor < records.length) {
    const batch = records.slice(cursor, cursor + 1 + Math.floor(random() * 30));
    const { failedSequenceNumbers } = await runner.run(batch, Date.now() + 60_000);
    if (failedSequenceNumbers.length > 0) {
      const lowest = failedSequenceNumbers.reduce((a, b) => (BigInt(a) < BigInt(b) ? a : b));
      cursor = records.indexOf(batch.find((r) => r.position.sequenceNumber === lowest) as InputRecord);
      redeliveries += 1;
    } else if (random() < 0.25) {
      redeliveries += 1;
    } else {
      cursor += batch.length;
    }
  }
  return redeliveries;
}

/** One shard of a source stream as its stage reads it: the values as JSON, then the end of input. */
export function sourceShardRecords(stream: string, shard: number, values: readonly unknown[]): InputRecord[] {
  const shardId = `shardId-${String(shard).padStart(12, '0')}`;
  return [...values.map((value) => JSON.stringify(value)), END_OF_INPUT_DATA].map((data, i) => ({
    position: {
      stream,
      shardId,
      sequenceNumber: String(1_000_000 + i * 7),
      partitionKey: i === values.length ? CONTROL_PARTITION_KEY : `pk${i}`,
      arrivalTime: 0,
    },
    data: Buffer.from(data),
  }));
}
