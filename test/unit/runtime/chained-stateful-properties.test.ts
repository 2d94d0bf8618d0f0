import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { JoinType } from '../../../shared/dag/graph.js';
import { pipeline } from '../../../shared/index.js';
import { seededRandom } from '../../../shared/util/random.js';
import { hopping, tumbling } from '../../../shared/windows/index.js';
import { runChain } from '../../helpers/chain-run.js';
import { IdEvent, ids } from '../../helpers/id-windows.js';
import { type Condition, nestedLoopJoin } from '../../helpers/nested-loop-join.js';

/**
 * A stateful stage after a stateful stage, on faulty Kinesis, state and delivery (runChain: partial
 * PutRecords failures, crashes in the middle of the state writes, retries bisected, batches delivered
 * again): what comes out equals an independent batch computation over the whole input, and the first
 * stage's results are never late for the second (its forwarded watermark trails them).
 */

const events = (prefix: string, spread: number) =>
  fc
    .array(fc.record({ key: fc.constantFrom('a', 'b', 'c'), t: fc.integer({ min: 0, max: 600 }) }), { maxLength: 30 })
    .map((raw) => raw.map((e, i) => ({ key: e.key, t: e.t + i * spread, id: `${prefix}${i}` })));

const joinOptions = (condition: Condition, type: JoinType, allowedLateness: number, shards: number) => ({
  name: 'j',
  allowedLateness,
  left: (e: { key: string }) => e.key,
  right: (e: { key: string }) => e.key,
  shards,
  ...(condition.kind === 'interval'
    ? { within: { before: condition.before, after: condition.after }, type }
    : {
        window:
          condition.size === condition.slide ? tumbling(condition.size) : hopping(condition.size, condition.slide),
      }),
});

const conditions = fc.oneof(
  fc.record({
    kind: fc.constant('interval' as const),
    before: fc.integer({ min: 0, max: 200 }),
    after: fc.integer({ min: 0, max: 200 }),
  }),
  fc.constantFrom<Condition>({ kind: 'window', size: 100, slide: 100 }, { kind: 'window', size: 100, slide: 40 }),
);

interface LateRecord {
  readonly value: IdEvent;
}

/** A windowed result as the tests sink it. */
interface Result {
  readonly key: string;
  readonly windowStart: number;
  readonly value: string[];
}

/** Every result's content by window, checking that a repeated result has the same content each time. */
function byWindow(results: readonly Result[]): Map<string, string> {
  const windows = new Map<string, string>();
  for (const r of results) {
    const id = `${r.key}@${r.windowStart}`;
    const content = JSON.stringify(r.value);
    expect(windows.get(id) ?? content, `result ${id} delivered with two contents`).toBe(content);
    windows.set(id, content);
  }
  return windows;
}

describe('a window after a join (property-based)', () => {
  it('counts every pair and outer miss of the nested-loop join once, in the window of its time', async () => {
    let crashes = 0;
    let late = 0;
    await fc.assert(
      fc.asyncProperty(
        events('l', 10),
        events('r', 10),
        conditions,
        fc.constantFrom<JoinType>('inner', 'left', 'right', 'full'),
        fc.integer({ min: 0, max: 300 }),
        fc.integer({ min: 0, max: 100 }),
        fc.integer(),
        async (lefts, rights, condition, anyType, anyBound, joinLateness, seed) => {
          const type = condition.kind === 'window' ? 'inner' : anyType;
          // A record late for some of its windows and not all is joined in the open ones only: the
          // nested loop has no such notion, so window joins get a bound that leaves nothing late.
          const bound = condition.kind === 'window' ? 1000 : anyBound;
          const p = pipeline('wj');
          const left = p.source('lefts', {
            schema: IdEvent,
            eventTime: (e) => e.t,
            maxOutOfOrderness: bound,
            shards: 2,
          });
          const right = p.source('rights', { schema: IdEvent, eventTime: (e) => e.t, maxOutOfOrderness: bound });
          const joined = left.join(
            right,
            joinOptions(condition, type, joinLateness, 2) as Parameters<typeof left.join>[1],
          );
          (joined as ReturnType<typeof left.join<IdEvent>>)
            .map(([l, r]) => ({
              key: (l ?? r)?.key ?? '',
              t: Math.max(l?.t ?? Number.NEGATIVE_INFINITY, r?.t ?? Number.NEGATIVE_INFINITY),
              id: `${l?.id ?? ''}|${r?.id ?? ''}`,
            }))
            .keyBy((pair) => pair.key, { name: 'by-key', shards: 2 })
            .window(tumbling(100), { lateOutput: 'window-late' })
            .aggregate(ids)
            .sink('out');

          const run = await runChain(p, { lefts, rights }, seededRandom(seed));
          crashes += run.crashes;
          const lateIds = new Set((run.values('wj-j-late') as LateRecord[]).map((l) => l.value.id));
          late += lateIds.size;
          expect(run.values('window-late')).toEqual([]);

          const time = new Map([...lefts, ...rights].map((e) => [e.id, e]));
          const onTime = (list: IdEvent[]) => list.filter((e) => !lateIds.has(e.id));
          const expected = new Map<string, string[]>();
          for (const output of nestedLoopJoin(onTime(lefts), onTime(rights), condition, type)) {
            const pair = output.split('@')[0] as string;
            const [l, r] = pair.split('|').map((id) => time.get(id));
            const record = (l ?? r) as IdEvent;
            const t = Math.max(l?.t ?? Number.NEGATIVE_INFINITY, r?.t ?? Number.NEGATIVE_INFINITY);
            const window = `${record.key}@${Math.floor(t / 100) * 100}`;
            expected.set(window, [...(expected.get(window) ?? []), pair]);
          }
          const want = new Map([...expected].map(([w, list]) => [w, JSON.stringify(list.sort())]));
          expect(byWindow(run.values('out') as Result[])).toEqual(want);
        },
      ),
      { numRuns: 500 },
    );
    // The faults and the late records did happen: the property was tested with them.
    expect(crashes).toBeGreaterThan(30);
    expect(late).toBeGreaterThan(5);
  });
});

describe('a join after a window (property-based)', () => {
  it('joins every window result of the batch computation as the nested loop over them does', async () => {
    let crashes = 0;
    await fc.assert(
      fc.asyncProperty(
        events('a', 5),
        events('b', 10),
        fc.record({ before: fc.integer({ min: 0, max: 200 }), after: fc.integer({ min: 0, max: 200 }) }),
        fc.constantFrom<JoinType>('inner', 'left', 'right', 'full'),
        fc.integer({ min: 0, max: 300 }),
        fc.integer({ min: 0, max: 100 }),
        fc.integer(),
        async (as, bs, within, type, bound, windowLateness, seed) => {
          const p = pipeline('jw');
          const a = p.source('as', { schema: IdEvent, eventTime: (e) => e.t, maxOutOfOrderness: bound, shards: 2 });
          const b = p.source('bs', { schema: IdEvent, eventTime: (e) => e.t, maxOutOfOrderness: 1000 });
          const windows = a
            .keyBy((e) => e.key, { name: 'by-key', shards: 2 })
            .window(tumbling(50), { allowedLateness: windowLateness, lateOutput: 'window-late' })
            .aggregate(ids)
            .map(
              (r): IdEvent => ({
                key: r.key,
                t: r.windowEnd - 1,
                id: `${r.key}@${r.windowStart}:${r.value.join(',')}`,
              }),
            );
          windows
            .join(b, joinOptions({ kind: 'interval', ...within }, type, 0, 2) as Parameters<typeof windows.join>[1])
            .map(([l, r]) => ({ l: (l as IdEvent | null)?.id ?? null, r: (r as IdEvent | null)?.id ?? null }))
            .sink('out');

          const run = await runChain(p, { as, bs }, seededRandom(seed));
          crashes += run.crashes;
          // Results of the window are never late for the join; b's bound covers its disorder.
          expect(run.values('jw-j-late')).toEqual([]);
          const lateIds = new Set((run.values('window-late') as LateRecord[]).map((l) => l.value.id));

          // The windows of the records that were not late, by a plain grouping.
          const grouped = new Map<string, IdEvent[]>();
          for (const e of as.filter((x) => !lateIds.has(x.id))) {
            const start = Math.floor(e.t / 50) * 50;
            grouped.set(`${e.key}@${start}`, [...(grouped.get(`${e.key}@${start}`) ?? []), e]);
          }
          const results = [...grouped].map(([window, list]): IdEvent => {
            const start = Number(window.split('@')[1]);
            const key = (list[0] as IdEvent).key;
            return {
              key,
              t: start + 49,
              id: `${window}:${list
                .map((e) => e.id)
                .sort()
                .join(',')}`,
            };
          });
          const emitted = new Set(
            (run.values('out') as { l: string | null; r: string | null }[]).map((o) => `${o.l ?? ''}|${o.r ?? ''}`),
          );
          expect(emitted).toEqual(nestedLoopJoin(results, bs, { kind: 'interval', ...within }, type));
        },
      ),
      { numRuns: 500 },
    );
    expect(crashes).toBeGreaterThan(30);
  });
});
