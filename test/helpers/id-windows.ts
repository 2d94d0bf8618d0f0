import { expect } from 'vitest';
import * as z from 'zod';
import { pipeline } from '../../shared/index.js';
import { aggregate } from '../../shared/windows/index.js';
import type { WindowAssigner } from '../../shared/windows/types.js';
import { referenceWindows, windowName } from '../unit/windows/reference.js';

/** Events of the window property tests: a key, an event time, and an id to tell them apart. */
export const IdEvent = z.object({ key: z.string(), t: z.number(), id: z.string() });
export type IdEvent = z.infer<typeof IdEvent>;

/** Collects ids, so a result shows exactly which records it holds: a duplicate or a loss is visible. */
export const ids = aggregate<IdEvent, string[], string[]>({
  name: 'ids',
  init: () => [],
  add: (acc, e) => [...acc, e.id],
  merge: (a, b) => [...a, ...b],
  result: (acc) => [...acc].sort(),
});

/**
 * The two stages of the window property tests: a source of IdEvents, keyed by `key` onto a shuffle
 * stream (`p-by-key`), and a windowed stage collecting ids to the sink `out`.
 */
export function idWindowsPipeline(assigner: WindowAssigner, sourceShards: number, shuffleShards: number) {
  return pipeline('p')
    .source('events', { schema: IdEvent, eventTime: (e) => e.t, maxOutOfOrderness: 1000, shards: sourceShards })
    .keyBy((e) => e.key, { name: 'by-key', shards: shuffleShards })
    .window(assigner)
    .aggregate(ids)
    .sink('out');
}

/**
 * Asserts that the `ids` results a run emitted are the batch computation's windows over `events`,
 * each window's repeats (results are at least once) carrying the same ids.
 */
export function expectIdWindows(results: readonly unknown[], events: readonly IdEvent[], assigner: WindowAssigner) {
  const emitted = new Map<string, string>();
  for (const r of results as { key: string; windowStart: number; windowEnd: number; value: string[] }[]) {
    const name = windowName({ key: r.key, start: r.windowStart, end: r.windowEnd });
    const value = JSON.stringify(r.value);
    expect(emitted.get(name) ?? value, `a repeat of ${name} with another value`).toBe(value);
    emitted.set(name, value);
  }
  const expected = new Map<string, string>();
  const reference = referenceWindows(
    assigner,
    events.map((e) => ({ key: e.key, time: e.t, item: { id: e.id, n: 0 } })),
  );
  for (const [name, w] of reference) expected.set(name, JSON.stringify(w.items.map((i) => i.id).sort()));
  expect(Object.fromEntries(emitted)).toEqual(Object.fromEntries(expected));
}
