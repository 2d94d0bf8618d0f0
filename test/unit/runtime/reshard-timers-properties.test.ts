import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { JoinType } from '../../../shared/dag/graph.js';
import { type DataStream, type JoinOptions, type ProcessFunction, pipeline, state } from '../../../shared/index.js';
import type { BufferedRecord } from '../../../shared/joins/join-operator.js';
import type { BufferedPut } from '../../../shared/runtime/io/join-store.js';
import { MemoryWindowStore } from '../../../shared/runtime/io/memory-window-store.js';
import type { StateStore, WindowChange } from '../../../shared/runtime/io/state-store.js';
import { seededRandom } from '../../../shared/util/random.js';
import { tumbling } from '../../../shared/windows/index.js';
import { expectIdWindows, IdEvent, ids } from '../../helpers/id-windows.js';
import { outputsOf } from '../../helpers/join-run.js';
import { nestedLoopJoin } from '../../helpers/nested-loop-join.js';
import { type Reshard, runResharded } from '../../helpers/reshard-run.js';

/**
 * Timers left on a parent shard after a reshard of a stage's input (docs/reliability.md,
 * "Resharding"): outer-join rows buffered on the parent, and process-function timers registered on
 * it, must be fired by the one child that owns their key (by hash key range), exactly once, under
 * crashes among the state writes, retries, bisects and redeliveries. Keys a and c hash into the lower
 * half of the hash key space, b and d into the upper: after a split each child owns two of them.
 */
const KEYS = ['a', 'b', 'c', 'd'] as const;

const events = (prefix: string, spread: number) =>
  fc
    .array(fc.record({ key: fc.constantFrom(...KEYS), t: fc.integer({ min: 0, max: 400 }) }), { maxLength: 30 })
    .map((raw) => raw.map((e, i) => ({ key: e.key, t: e.t + i * spread, id: `${prefix}${i}` })));

/** A store whose buffer writes and state commits crash part-way (any part of them written). */
function crashingStore(random: () => number, crashRate: number, crashes: { count: number }): StateStore {
  const partly = <T>(write: (items: readonly T[]) => Promise<unknown>, items: readonly T[]) => {
    crashes.count += 1;
    return write(items.filter(() => random() < 0.5)).then(() => {
      throw new Error('crashed among the state writes');
    });
  };
  return new Proxy(new MemoryWindowStore(), {
    get(target, property, receiver) {
      if (property === 'writeBuffered') {
        return async (stageId: string, puts: readonly BufferedPut[], deletes: readonly BufferedRecord[]) =>
          random() < crashRate
            ? partly((some) => target.writeBuffered(stageId, some, []), puts)
            : target.writeBuffered(stageId, puts, deletes);
      }
      if (property === 'commitAll') {
        return async (changes: readonly WindowChange[]) =>
          random() < crashRate ? partly((some) => target.commitAll(some), changes) : target.commitAll(changes);
      }
      const value = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/** Where the input is cut by the reshard, which one, the sources' bound, and the faults. */
const reshardCases = fc.record({
  bound: fc.integer({ min: 0, max: 300 }),
  reshard: fc.constantFrom<Reshard>('split', 'merge'),
  cut: fc.nat({ max: 30 }),
  crashRate: fc.constantFrom(0, 0.3),
  seed: fc.integer(),
});

describe('timers on a parent shard after a reshard (property-based)', () => {
  it('interval joins, inner and every outer type: every pair and every unmatched row, once', async () => {
    let crashes = 0;
    await fc.assert(
      fc.asyncProperty(
        events('l', 15),
        events('r', 15),
        fc.record({ before: fc.integer({ min: 0, max: 200 }), after: fc.integer({ min: 0, max: 200 }) }),
        fc.constantFrom<JoinType>('inner', 'left', 'right', 'full'),
        reshardCases,
        fc.integer({ min: 0, max: 300 }),
        async (drawnLefts, drawnRights, within, type, { bound, reshard, cut, crashRate, seed }, setBack) => {
          // Arrange: the records after the reshard set back by up to 300, so that many are behind the
          // parent's watermark: late on the child as they would have been on the parent
          // (docs/watermarks.md, "After a reshard").
          const [lefts, rights] = [drawnLefts, drawnRights].map((list) =>
            list.map((e, i) => (i < cut ? e : { ...e, t: Math.max(0, e.t - setBack) })),
          ) as [IdEvent[], IdEvent[]];
          const random = seededRandom(seed);
          const p = pipeline('j');
          const source = (name: string) =>
            p.source(name, { schema: IdEvent, eventTime: (e) => e.t, maxOutOfOrderness: bound });
          // The implementation's signature: the overloads name each type's row shape.
          const left = source('lefts');
          const join = left.join as (
            other: DataStream<IdEvent>,
            options: JoinOptions<IdEvent, IdEvent>,
          ) => DataStream<[IdEvent | null, IdEvent | null]>;
          join
            .call(left, source('rights'), { name: 'j', left: (e) => e.key, right: (e) => e.key, within, type })
            .map(([l, r]) => ({ l: l?.id ?? null, r: r?.id ?? null }))
            .sink('out');
          const count = { count: 0 };
          const store = crashingStore(random, crashRate, count);

          // Act
          const sink = await runResharded({
            pipeline: p,
            sources: [
              { stream: 'lefts', values: lefts },
              { stream: 'rights', values: rights },
            ],
            keyed: 'j-j',
            reshard,
            cut,
            store,
            random,
          });

          // Assess
          crashes += count.count;
          const run = {
            emitted: sink.values('out') as { l: string | null; r: string | null }[],
            late: sink.values('j-j-late'),
            repeats: 0,
          };
          const lateIds = new Set((run.late as { value: IdEvent }[]).map((l) => l.value.id));
          const onTime = (list: IdEvent[]) => list.filter((e) => !lateIds.has(e.id));
          const expected = nestedLoopJoin(onTime(lefts), onTime(rights), { kind: 'interval', ...within }, type);
          expect(outputsOf(run)).toEqual(expected);
          // Without crashes nothing is written twice: each row once (a crash repeats rows, same ids).
          if (crashRate === 0) expect(run.emitted.length).toBe(expected.size);
        },
      ),
      { numRuns: 300 },
    );
    expect(crashes).toBeGreaterThan(30);
  });

  it("tumbling windows (the ancestors' timers, as windows had them first): every window once, with its records", async () => {
    await fc.assert(
      fc.asyncProperty(events('w', 10), reshardCases, async (drawn, { bound, reshard, cut, crashRate, seed }) => {
        // Arrange: in time order on each side of the cut, so that a record is late only when it reaches
        // a child behind the watermark its parent had acted on (docs/watermarks.md, "After a reshard").
        const inOrder = (part: IdEvent[]) => [...part].sort((a, b) => a.t - b.t);
        const list = [...inOrder(drawn.slice(0, cut)), ...inOrder(drawn.slice(cut))].map((e, i) => ({
          ...e,
          id: `w${i}`,
        }));
        const random = seededRandom(seed);
        const assigner = tumbling(100);
        const p = pipeline('p');
        p.source('events', { schema: IdEvent, eventTime: (e) => e.t, maxOutOfOrderness: bound })
          .keyBy((e) => e.key, { name: 'by-key' })
          .window(assigner, { lateOutput: 'late' })
          .aggregate(ids)
          .sink('out');

        // Act
        const sink = await runResharded({
          pipeline: p,
          sources: [{ stream: 'events', values: list }],
          keyed: 'p-by-key',
          reshard,
          cut,
          store: crashingStore(random, crashRate, { count: 0 }),
          random,
        });

        // Assess: the batch computation over the records not late; only records after the cut can be.
        const late = new Set((sink.values('late') as { value: IdEvent }[]).map((l) => l.value.id));
        for (const id of late)
          expect(
            list.findIndex((e) => e.id === id),
            `${id} late before the reshard`,
          ).toBeGreaterThanOrEqual(cut);
        expectIdWindows(
          sink.values('out'),
          list.filter((e) => !late.has(e.id)),
          assigner,
        );
      }),
      { numRuns: 100 },
    );
  });

  it('a process function with event-time or processing-time timers: every record closed by exactly one timer of its key', async () => {
    let crashes = 0;
    await fc.assert(
      fc.asyncProperty(
        events('e', 10),
        fc.constantFrom<Domain>('event', 'processing'),
        reshardCases,
        async (list, domain, { bound, reshard, cut, crashRate, seed }) => {
          // Arrange
          const random = seededRandom(seed);
          const p = pipeline('p');
          p.source('events', { schema: IdEvent, eventTime: (e) => e.t, maxOutOfOrderness: bound })
            .keyBy((e) => e.key, { name: 'by-key' })
            .process(closing(domain), { state: declared, processingTimers: domain === 'processing' })
            .sink('out');
          const count = { count: 0 };
          // Every batch a step later than the one before: a timer a step ahead is due in the shard's next batch.
          let clock = 0;

          // Act
          const sink = await runResharded({
            pipeline: p,
            sources: [{ stream: 'events', values: list }],
            keyed: 'p-by-key',
            reshard,
            cut,
            store: crashingStore(random, crashRate, count),
            random,
            now: () => {
              clock += STEP;
              return clock;
            },
            // Batches after the last record: its processing-time timers are due there.
            ticks: 12,
          });

          // Assess: the batch computation is each record's bucket; its id closed once, by its key.
          crashes += count.count;
          const timers = new Map<string, Closed>();
          for (const value of sink.values('out') as Closed[]) {
            const identity = `${value.key}/${value.n}`;
            const seen = timers.get(identity);
            if (seen !== undefined) expect(value, `a repeat of timer ${identity} with another value`).toEqual(seen);
            timers.set(identity, value);
          }
          if (crashRate === 0) expect(sink.values('out').length).toBe(timers.size);
          const closedBy = new Map<string, Closed>();
          for (const timer of timers.values()) {
            for (const id of timer.ids) {
              expect(closedBy.get(id), `${id} closed twice`).toBeUndefined();
              closedBy.set(id, timer);
            }
          }
          expect([...closedBy.keys()].sort()).toEqual(list.map((e) => e.id).sort());
          for (const e of list) expect((closedBy.get(e.id) as Closed).key).toBe(e.key);
        },
      ),
      { numRuns: 100 },
    );
    expect(crashes).toBeGreaterThan(10);
  });
});

const BUCKET = 100;
const bucketEnd = (t: number) => Math.floor(t / BUCKET) * BUCKET + BUCKET - 1;

/** A timer's emission: the key's n-th timer fired, at `time`, and the ids of the records it closed. */
interface Closed {
  readonly key: string;
  readonly n: number;
  readonly time: number;
  readonly ids: string[];
}

const declared = { fired: state.value<number>(), pending: state.list<string>() };

type Domain = 'event' | 'processing';
const STEP = 10;

/**
 * Keeps each record pending until a timer closes it: an event-time timer at the end of its bucket, or
 * a processing-time timer half a clock step ahead.
 */
const closing = (domain: Domain): ProcessFunction<IdEvent, Closed, typeof declared> => ({
  processElement(event, context) {
    context.state.pending.add(event.id);
    if (domain === 'event') context.timers.registerEventTimeTimer(bucketEnd(context.timestamp));
    else context.timers.registerProcessingTimeTimer(context.timers.currentProcessingTime() + STEP / 2);
  },
  onTimer(time, context) {
    const n = (context.state.fired.value() ?? 0) + 1;
    context.state.fired.update(n);
    context.emit({ key: context.key, n, time, ids: [...context.state.pending.get()].sort() });
    context.state.pending.clear();
  },
});
