import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { runPipelineOnFiles } from '../../local/runner/run-files.js';
import { pipeline } from '../../shared/index.js';
import { aggregate, hopping, session, tumbling } from '../../shared/windows/index.js';
import type { WindowAssigner } from '../../shared/windows/types.js';

const Event = z.object({ key: z.string(), t: z.number(), id: z.string() });
type Event = z.infer<typeof Event>;

const ids = aggregate<Event, string[], string[]>({
  init: () => [],
  add: (acc, e) => [...acc, e.id],
  merge: (a, b) => [...a, ...b],
  result: (acc) => [...acc].sort(),
});

/** Written here, apart from Eddy: every window of the whole input, and the ids in it. */
function batchComputation(events: readonly Event[], assigner: WindowAssigner): Map<string, string> {
  const windows = new Map<string, string[]>();
  const add = (key: string, start: number, end: number, id: string) => {
    const name = `${key}|${start}|${end}`;
    windows.set(name, [...(windows.get(name) ?? []), id]);
  };
  if (assigner.kind === 'session') {
    const keys = new Set(events.map((e) => e.key));
    for (const key of keys) {
      const sorted = events.filter((e) => e.key === key).sort((a, b) => a.t - b.t);
      let group: Event[] = [];
      const flush = () => {
        const first = group[0];
        const last = group.at(-1);
        if (first !== undefined && last !== undefined) {
          for (const e of group) add(key, first.t, last.t + assigner.gap, e.id);
        }
        group = [];
      };
      for (const e of sorted) {
        const last = group.at(-1);
        if (last !== undefined && e.t - last.t >= assigner.gap) flush();
        group.push(e);
      }
      flush();
    }
  } else {
    const slide = assigner.kind === 'hopping' ? assigner.slide : assigner.size;
    for (const e of events) {
      for (let start = Math.floor(e.t / slide) * slide; start > e.t - assigner.size; start -= slide) {
        add(e.key, start, start + assigner.size, e.id);
      }
    }
  }
  return new Map([...windows].map(([name, list]) => [name, JSON.stringify(list.sort())]));
}

describe('windows on the emulators, property-based: random shards, batch sizes, reordering and crashes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'eddy-winprop-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  let run = 0;
  const crashes = new Map<string, number>();

  it('every emitted window equals the batch computation, whatever is redelivered', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ key: fc.constantFrom('a', 'b', 'c'), t: fc.integer({ min: 0, max: 3000 }) }), {
          minLength: 1,
          maxLength: 150,
        }),
        fc.constantFrom<WindowAssigner>(tumbling(500), hopping(600, 200), session(150)),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 60 }),
        fc.integer(),
        async (raw, assigner, sourceShards, shuffleShards, batchSize, seed) => {
          // Prepare: arrival order shuffled within a bound the watermark allows for (nothing late).
          run += 1;
          const events = raw.map((e, i) => ({ key: e.key, t: e.t + i * 20, id: `e${i}` }));
          const input = join(dir, `in-${run}.jsonl`);
          const output = join(dir, `out-${run}.jsonl`);
          writeFileSync(input, `${events.map((e) => JSON.stringify(e)).join('\n')}\n`);
          const p = pipeline('prop', { eventSource: { maxBatchingWindowSeconds: 0, batchSize } });
          p.source('events', { schema: Event, eventTime: (e) => e.t, maxOutOfOrderness: 3100, shards: sourceShards })
            .keyBy((e) => e.key, { shards: shuffleShards })
            .window(assigner)
            .aggregate(ids)
            .sink('windows');

          // Act: a fifth of all invocations crash after their work is done, and Lambda delivers those
          // batches again: the windowed stage's own retries (its fences), and the stateless stage's
          // retries, which write its shuffle packs again (the positions tell the repeats).
          const summary = await runPipelineOnFiles({
            pipeline: p,
            inputs: [{ stream: 'events', file: input }],
            outputs: [{ stream: 'windows', file: output }],
            crashAfterBatchRate: 0.2,
            crashFirstBatches: 1,
            faultSeed: seed,
          });

          // Assess: repeats of a result carry its identity and value; the set is the batch computation's.
          const emitted = new Map<string, string>();
          for (const line of readFileSync(output, 'utf8').split('\n').filter(Boolean)) {
            const r = JSON.parse(line) as { key: string; windowStart: number; windowEnd: number; value: string[] };
            const name = `${r.key}|${r.windowStart}|${r.windowEnd}`;
            const value = JSON.stringify(r.value);
            expect(emitted.get(name) ?? value).toBe(value);
            emitted.set(name, value);
          }
          expect(emitted).toEqual(batchComputation(events, assigner));
          expect(summary.failedBatches).toEqual([]);
          for (const s of summary.stages)
            crashes.set(s.stage.id, (crashes.get(s.stage.id) ?? 0) + s.stats.functionErrors);
        },
      ),
      { numRuns: 8 },
    );
    // The redeliveries did happen: the property was tested under them, not around them.
    expect(crashes.get('from-events')).toBeGreaterThan(0);
    expect(crashes.get('from-prop-keyBy-1')).toBeGreaterThan(0);
  }, 600_000);
});
