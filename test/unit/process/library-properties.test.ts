import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { seededRandom } from '../../../examples/data/click-generator.js';
import { type DataStream, pipeline, type TopNResult } from '../../../shared/index.js';
import { MemoryWindowStore } from '../../../shared/runtime/io/memory-window-store.js';
import type { InputRecord } from '../../../shared/runtime/records.js';
import { StageRunner } from '../../../shared/runtime/stage-runner.js';
import {
  arrivals,
  deliver,
  FlakyWriter,
  flakyStore,
  MemoryRecordWriter,
  shuffleRecords,
} from '../../helpers/lambda-delivery.js';

const Event = z.object({ key: z.string(), t: z.number(), id: z.string(), d: z.string(), s: z.number() });
type Event = z.infer<typeof Event>;
const WITHIN = 200;
const WINDOW = 100;
const N = 2;

const keyed = () =>
  pipeline('p')
    .source('events', { schema: Event, eventTime: (e) => e.t })
    .keyBy((e) => e.key, { name: 'by-key' });

/** Dedupe's reference: a repeat is dropped while the watermark has not reached its first's time + within. */
function referenceDedupe(records: readonly InputRecord[]): string[] {
  const first = new Map<string, number>();
  const kept: string[] = [];
  for (const { event, watermark } of arrivals<Event>(records)) {
    const slot = `${event.key}\u0000${event.d}`;
    const seen = first.get(slot);
    if (seen !== undefined && watermark < seen + WITHIN) continue;
    first.set(slot, event.t);
    kept.push(event.id);
  }
  return kept.sort();
}

/** topN's reference: per key and window, all records that arrived before the watermark reached its end, ranked. */
function referenceTopN(records: readonly InputRecord[]): { results: Map<string, string>; late: string[] } {
  const windows = new Map<string, Event[]>();
  const late: string[] = [];
  for (const { event, watermark } of arrivals<Event>(records)) {
    const start = Math.floor(event.t / WINDOW) * WINDOW;
    if (start + WINDOW - 1 <= watermark) {
      late.push(event.id);
      continue;
    }
    const name = `${event.key}/${start}`;
    windows.set(name, [...(windows.get(name) ?? []), event]);
  }
  const results = new Map<string, string>();
  for (const [name, events] of windows) {
    const top = [...events].sort((a, b) => b.s - a.s || a.t - b.t).slice(0, N);
    results.set(name, JSON.stringify(top.map((e) => e.id)));
  }
  return { results, late: late.sort() };
}

/** Runs the keyed stage over the records, Lambda-style, with flaky writes and crashing commits. */
async function run(
  build: (stream: ReturnType<typeof keyed>) => DataStream<unknown>,
  records: InputRecord[],
  seed: number,
) {
  const random = seededRandom(seed);
  const sink = new MemoryRecordWriter();
  const runner = new StageRunner({
    pipeline: build(keyed()).sink('out'),
    stageId: 'from-p-by-key',
    writer: new FlakyWriter(sink, random),
    store: flakyStore(new MemoryWindowStore(), random),
  });
  await deliver(runner, records, random);
  return sink;
}

const input = fc.tuple(
  fc.array(
    fc.record({
      key: fc.constantFrom('a', 'b', 'c'),
      t: fc.integer({ min: 0, max: 1000 }),
      d: fc.constantFrom('x', 'y', 'z'),
      s: fc.integer({ min: 0, max: 5 }),
    }),
    { minLength: 1, maxLength: 80 },
  ),
  fc.integer(),
  fc.integer({ min: 1, max: 10 }),
  fc.integer({ min: 0, max: 400 }),
);

describe('library operators on process functions equal their batch computations (property-based)', () => {
  it('dedupe keeps exactly the firsts, under disorder, repeats, retries, bisects and crashes', async () => {
    await fc.assert(
      fc.asyncProperty(input, async ([raw, seed, every, bound]) => {
        // Prepare: repeats of an identity come from the small set of `d` values; disorder is unbounded.
        const events = raw.map((e, i) => ({ ...e, id: `e${i}` }));
        const records = shuffleRecords(events, bound, every);

        // Act
        const sink = await run((s) => s.dedupe((e) => e.d, { within: WITHIN }), records, seed);

        // Assess: output ids are at least once (a retried batch repeats them), the set is the reference.
        const ids = (sink.values('out') as Event[]).map((e) => e.id);
        expect([...new Set(ids)].sort()).toEqual(referenceDedupe(records));
      }),
      { numRuns: 200 },
    );
  });

  it('topN ranks each window once, late records to the side output', async () => {
    await fc.assert(
      fc.asyncProperty(input, async ([raw, seed, every, bound]) => {
        // Prepare
        const events = raw.map((e, i) => ({ ...e, id: `e${i}` }));
        const records = shuffleRecords(events, bound, every);
        const expected = referenceTopN(records);

        // Act
        const sink = await run(
          (s) => s.topN(N, { by: (e) => e.s, window: WINDOW, name: 'top' }) as DataStream<unknown>,
          records,
          seed,
        );

        // Assess: each window's result repeated only with the same value, and equal to the reference.
        const results = new Map<string, string>();
        for (const r of sink.values('out') as TopNResult<Event>[]) {
          const name = `${r.key}/${r.windowStart}`;
          const value = JSON.stringify(r.top.map((e) => e.id));
          expect(results.get(name) ?? value, `a repeat of ${name} with another value`).toBe(value);
          results.set(name, value);
        }
        expect(new Map([...results].sort())).toEqual(new Map([...expected.results].sort()));
        const late = (sink.values('p-top-late') as { value: Event }[]).map((l) => l.value.id);
        expect([...new Set(late)].sort()).toEqual(expected.late);
      }),
      { numRuns: 200 },
    );
  });
});
