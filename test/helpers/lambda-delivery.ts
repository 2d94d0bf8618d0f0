import { MemoryRecordWriter } from '../../shared/runtime/io/memory-record-writer.js';
import type { MemoryWindowStore } from '../../shared/runtime/io/memory-window-store.js';
import type { RecordWriter, WriteOutcome } from '../../shared/runtime/io/record-writer.js';
import type { StateStore, WindowChange } from '../../shared/runtime/io/state-store.js';
import type { InputRecord, OutputRecord } from '../../shared/runtime/records.js';
import type { StageRunner } from '../../shared/runtime/stage-runner.js';
import { END_OF_TIME } from '../../shared/runtime/watermark-records.js';

/** A writer that, now and then, writes part of what it is given and reports the rest failed. */
export class FlakyWriter implements RecordWriter {
  constructor(
    readonly inner: MemoryRecordWriter,
    readonly random: () => number,
  ) {}

  async write(records: readonly OutputRecord[]): Promise<WriteOutcome> {
    if (this.random() < 0.15) {
      const cut = Math.floor(this.random() * records.length);
      await this.inner.write(records.slice(0, cut));
      return { failed: records.slice(cut), requests: 1 };
    }
    return this.inner.write(records);
  }
}

export { MemoryRecordWriter };

/** A store whose commits sometimes crash after a random part of the changes is written. */
export function flakyStore(inner: MemoryWindowStore, random: () => number): StateStore {
  return new Proxy(inner, {
    get(target, property, receiver) {
      if (property === 'commitAll') {
        return async (changes: readonly WindowChange[]) => {
          if (random() < 0.2) {
            const part = changes.filter(() => random() < 0.5);
            await target.commitAll(part);
            throw new Error('crashed in the middle of the state writes');
          }
          return target.commitAll(changes);
        };
      }
      const value = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

const shardId = 'shardId-000000000000';
let sequence = 49_600_000_000_000_000_000_000_000_000_000_000_000_000_000_000n;

/** An event of a keyed stage's input: its key, event time, id and value. */
export interface KeyedEvent {
  readonly key: string;
  readonly t: number;
  readonly id: string;
}

/**
 * The shuffle records a keyed stage reads from `<stream>`: envelopes, with the source's watermark
 * (`highest - bound`) after every `every` of them, and the end of input last. `packed`: each envelope
 * in a pack of its own, with its position, as Eddy's stages write them (a batch that commits any of
 * them saves the shard's channel watermarks item).
 */
export function shuffleRecords(
  events: readonly KeyedEvent[],
  bound: number,
  every: number,
  stream = 'p-by-key',
  packed = false,
): InputRecord[] {
  const records: InputRecord[] = [];
  const push = (data: unknown, partitionKey: string) => {
    sequence += 1n;
    records.push({
      position: { stream, shardId, sequenceNumber: sequence.toString(), partitionKey, arrivalTime: 0 },
      data: Buffer.from(JSON.stringify(data)),
    });
  };
  let highest = Number.NEGATIVE_INFINITY;
  events.forEach((event, index) => {
    const envelope = { id: event.id, k: event.key, t: event.t, v: event };
    // A pack carries its envelopes' positions in the producer's channel, which the stage saves.
    if (packed) push({ ch: 'from-events/shardId-000000000000', e: [{ ...envelope, q: `${index + 1}` }] }, event.key);
    else push(envelope, event.key);
    highest = Math.max(highest, event.t);
    if ((index + 1) % every === 0) push({ wm: highest - bound, ch: 'from-events/shardId-000000000000', n: 1 }, 'wm');
  });
  push({ wm: END_OF_TIME, ch: 'from-events/shardId-000000000000', n: 1 }, 'wm');
  return records;
}

/** A keyed stage's input in order, each event with the watermark in force when it arrives (one upstream channel). */
export function arrivals<E>(records: readonly InputRecord[]): { event: E; watermark: number }[] {
  let watermark = Number.NEGATIVE_INFINITY;
  const out: { event: E; watermark: number }[] = [];
  for (const record of records) {
    const data = JSON.parse(record.data.toString());
    if ('wm' in data) watermark = Math.max(watermark, data.wm);
    else out.push({ event: ('e' in data ? data.e[0].v : data.v) as E, watermark });
  }
  return out;
}

/** The most records {@link deliver} puts in one batch (Lambda's Kinesis mapping: 10,000). */
export const MAX_DELIVERED_BATCH = 40;

/**
 * Lambda's event source mapping, reduced: in order, retrying a failed batch, bisecting it on error,
 * in batches of at most {@link MAX_DELIVERED_BATCH} records. `runner` may change with the attempt
 * (its number, from 1): an upgrade of the function between two attempts, a failed one's retry included.
 */
export async function deliver(
  runner: StageRunner | ((attempt: number) => StageRunner),
  records: readonly InputRecord[],
  random: () => number,
): Promise<number> {
  const runnerOf = typeof runner === 'function' ? runner : () => runner;
  let cursor = 0;
  let attempts = 0;
  while (cursor < records.length) {
    let size = 1 + Math.floor(random() * MAX_DELIVERED_BATCH);
    for (;;) {
      attempts += 1;
      if (attempts > 10_000) throw new Error('no progress');
      try {
        await runnerOf(attempts).run(records.slice(cursor, cursor + size), Date.now() + 60_000);
        cursor += size;
        break;
      } catch {
        if (random() < 0.5) size = Math.max(1, Math.floor(size / 2));
      }
    }
  }
  return attempts;
}
