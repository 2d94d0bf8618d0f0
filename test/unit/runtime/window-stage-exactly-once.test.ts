import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../../examples/data/click-generator.js';
import { pipeline } from '../../../shared/index.js';
import { MemoryRecordWriter } from '../../../shared/runtime/io/memory-record-writer.js';
import { MemoryWindowStore } from '../../../shared/runtime/io/memory-window-store.js';
import type { RecordWriter, WriteOutcome } from '../../../shared/runtime/io/record-writer.js';
import type { WindowChange, WindowStore } from '../../../shared/runtime/io/window-store.js';
import type { InputRecord, OutputRecord } from '../../../shared/runtime/records.js';
import { StageRunner } from '../../../shared/runtime/stage-runner.js';
import { END_OF_TIME } from '../../../shared/runtime/watermark-records.js';
import { hopping, session, tumbling } from '../../../shared/windows/index.js';
import type { WindowAssigner } from '../../../shared/windows/types.js';
import { expectIdWindows, IdEvent, ids } from '../../helpers/id-windows.js';

function windowed(assigner: WindowAssigner) {
  return pipeline('p')
    .source('events', { schema: IdEvent, eventTime: (e) => e.t })
    .keyBy((e) => e.key, { name: 'by-key' })
    .window(assigner)
    .aggregate(ids)
    .sink('out');
}

/** A writer that, now and then, writes part of what it is given and reports the rest failed. */
class FlakyWriter implements RecordWriter {
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

/** A store whose commits sometimes crash after a random part of the changes is written. */
function flakyStore(inner: MemoryWindowStore, random: () => number): WindowStore {
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

/** The shuffle records the keyed stage reads: envelopes, with the source's watermark after every few. */
function shuffleRecords(events: readonly IdEvent[], bound: number, every: number): InputRecord[] {
  const records: InputRecord[] = [];
  const push = (data: unknown, partitionKey: string) => {
    sequence += 1n;
    records.push({
      position: { stream: 'p-by-key', shardId, sequenceNumber: sequence.toString(), partitionKey, arrivalTime: 0 },
      data: Buffer.from(JSON.stringify(data)),
    });
  };
  let highest = Number.NEGATIVE_INFINITY;
  events.forEach((event, index) => {
    push({ id: event.id, k: event.key, t: event.t, v: event }, event.key);
    highest = Math.max(highest, event.t);
    if ((index + 1) % every === 0) push({ wm: highest - bound, ch: 'from-events/shardId-000000000000', n: 1 }, 'wm');
  });
  push({ wm: END_OF_TIME, ch: 'from-events/shardId-000000000000', n: 1 }, 'wm');
  return records;
}

/** Lambda's event source mapping, reduced: in order, retrying a failed batch, bisecting it on error. */
async function deliver(runner: StageRunner, records: readonly InputRecord[], random: () => number): Promise<number> {
  let cursor = 0;
  let attempts = 0;
  while (cursor < records.length) {
    let size = 1 + Math.floor(random() * 40);
    for (;;) {
      attempts += 1;
      if (attempts > 10_000) throw new Error('no progress');
      try {
        await runner.run(records.slice(cursor, cursor + size), Date.now() + 60_000);
        cursor += size;
        break;
      } catch {
        if (random() < 0.5) size = Math.max(1, Math.floor(size / 2));
      }
    }
  }
  return attempts;
}

const assigners: [string, WindowAssigner][] = [
  ['tumbling', tumbling(100)],
  ['hopping', hopping(100, 40)],
  ['session', session(30)],
];

describe('windowed stage: exactly-once results under retries, crashes and partial writes (property-based)', () => {
  it.each(assigners)(
    '%s windows equal the batch computation, each result repeated only with the same value',
    async (_, assigner) => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.record({ key: fc.constantFrom('a', 'b', 'c', 'd'), t: fc.integer({ min: 0, max: 1000 }) }), {
            minLength: 1,
            maxLength: 120,
          }),
          fc.integer(),
          fc.integer({ min: 1, max: 10 }),
          async (raw, seed, every) => {
            // Prepare: disorder is bounded by construction, and the watermark bound exceeds it: nothing is late.
            const events = raw.map((e, i) => ({ key: e.key, t: e.t + i * 5, id: `e${i}` }));
            const bound = 1000;
            const random = seededRandom(seed);
            const sink = new MemoryRecordWriter();
            const runner = new StageRunner({
              pipeline: windowed(assigner),
              stageId: 'from-p-by-key',
              writer: new FlakyWriter(sink, random),
              store: flakyStore(new MemoryWindowStore(), random),
            });

            // Act
            await deliver(runner, shuffleRecords(events, bound, every), random);

            // Assess
            expectIdWindows(sink.values('out'), events, assigner);
            expect(sink.values('p-window-1-late')).toEqual([]);
          },
        ),
        { numRuns: 500 },
      );
    },
    120_000,
  );
});
