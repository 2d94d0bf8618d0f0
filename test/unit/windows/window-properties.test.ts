import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hopping, session, tumbling } from '../../../shared/windows/assigners.js';
import type { EmitMode, WindowAssigner, WindowResult } from '../../../shared/windows/types.js';
import type { WindowSpec } from '../../../shared/windows/window-operator.js';
import { type AggregationName, check, runStream, testAggregations } from './harness.js';
import { fixedWindowsContaining, type KeyedItem, referenceResults, referenceWindows, windowName } from './reference.js';

const RUNS = 300;
const aggregationNames = Object.keys(testAggregations) as AggregationName[];

/** Records of keys a, b, c whose event times rise in small steps, arriving out of order by at most `disorder`. */
const stream = (disorder: number) =>
  fc
    .record({
      origin: fc.integer({ min: -100, max: 100 }),
      events: fc.array(
        fc.record({
          key: fc.constantFrom('a', 'b', 'c'),
          step: fc.nat({ max: 6 }),
          delay: fc.nat({ max: disorder }),
          n: fc.integer({ min: -50, max: 50 }),
        }),
        { maxLength: 60, size: 'max' },
      ),
    })
    .map(({ origin, events }) => {
      let time = origin;
      const timed = events.map((e, i) => {
        time += e.step;
        return { key: e.key, time, arrival: time + e.delay, i, item: { id: `r${i}`, n: e.n } };
      });
      // Arrival order: by time plus a delay of at most `disorder`, so a record is at most that behind any before it.
      timed.sort((a, b) => a.arrival - b.arrival || a.i - b.i);
      return timed.map(({ key, time, item }): KeyedItem => ({ key, time, item }));
    });

const assigners: Record<WindowAssigner['kind'], fc.Arbitrary<WindowAssigner>> = {
  tumbling: fc.integer({ min: 1, max: 30 }).map((size) => tumbling(size)),
  // Up to 5 windows a record, size a multiple of the slide or not.
  hopping: fc
    .integer({ min: 1, max: 30 })
    .chain((size) => fc.integer({ min: Math.ceil(size / 5), max: size }).map((slide) => hopping(size, slide))),
  session: fc.integer({ min: 1, max: 20 }).map((gap) => session(gap)),
};

const lateness = fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 20 }));
const cuts = fc.array(fc.integer({ min: 1, max: 25 }), { minLength: 1, maxLength: 8 });

/** The watermark in force at each arrival (and after the last): the highest time seen before minus a lag, never back. */
function boundedWatermarks(records: readonly KeyedItem[], lags: (i: number) => number): number[] {
  const watermarks: number[] = [];
  let highest = Number.NEGATIVE_INFINITY;
  let watermark = Number.NEGATIVE_INFINITY;
  for (let i = 0; i <= records.length; i += 1) {
    watermark = Math.max(watermark, highest - lags(i));
    watermarks.push(watermark);
    highest = Math.max(highest, records[i]?.time ?? highest);
  }
  return watermarks;
}

const specOf = (assigner: WindowAssigner, name: AggregationName, allowedLateness: number, emit: EmitMode = 'final') =>
  ({ assigner, aggregation: testAggregations[name], allowedLateness, emit }) as WindowSpec<never, unknown, unknown>;

function finalsOf(results: readonly WindowResult<unknown>[]): Map<string, unknown> {
  const finals = new Map<string, unknown>();
  for (const r of results.filter((x) => x.kind === 'final')) {
    const name = windowName({ key: r.key, start: r.windowStart, end: r.windowEnd });
    expect(finals.has(name), `two final results for ${name}`).toBe(false);
    finals.set(name, r.value);
  }
  return finals;
}

/** The windows a record is accepted into, by the documented conventions; none when it is late. */
function openWindows(assigner: WindowAssigner, record: KeyedItem, watermark: number, allowedLateness: number) {
  if (assigner.kind === 'session') {
    return record.time + allowedLateness > watermark ? [{ start: record.time, end: record.time + assigner.gap }] : [];
  }
  const slide = assigner.kind === 'hopping' ? assigner.slide : assigner.size;
  return fixedWindowsContaining(assigner.size, slide, record.time).filter(
    (w) => w.end - 1 + allowedLateness > watermark,
  );
}

/** The reference: every window of the accepted records, each over exactly the records accepted into it. */
function expectedFinals(
  assigner: WindowAssigner,
  name: AggregationName,
  records: readonly KeyedItem[],
  watermarks: readonly number[],
  allowedLateness: number,
): Map<string, unknown> {
  const windows = new Map<string, { items: KeyedItem['item'][] }>();
  if (assigner.kind === 'session') {
    const accepted = records.filter(
      (r, i) => openWindows(assigner, r, watermarks[i] as number, allowedLateness).length > 0,
    );
    for (const [id, w] of referenceWindows(assigner, accepted)) windows.set(id, w);
  } else {
    records.forEach((r, i) => {
      for (const w of openWindows(assigner, r, watermarks[i] as number, allowedLateness)) {
        const id = windowName({ key: r.key, ...w });
        windows.set(id, { items: [...(windows.get(id)?.items ?? []), r.item] });
      }
    });
  }
  const result = referenceResults[name] as (items: KeyedItem['item'][]) => unknown;
  return new Map([...windows].map(([id, w]) => [id, result(w.items)]));
}

describe.each(['tumbling', 'hopping', 'session'] as const)('%s windows (property-based)', (kind) => {
  it('emit, with no late data, exactly the batch computation over the whole input, for every aggregation', () => {
    const disorder = 12;
    fc.assert(
      fc.property(
        assigners[kind],
        stream(disorder),
        lateness,
        cuts,
        fc.nat({ max: 10 }),
        (assigner, records, allowedLateness, sizes, extra) => {
          // Prepare: a watermark that trails the highest time by more than the disorder: nothing is late.
          const watermarks = boundedWatermarks(records, () => disorder + 1 + extra);
          for (const name of aggregationNames) {
            // Act
            const run = runStream(specOf(assigner, name, allowedLateness), records, watermarks, sizes);

            // Assess
            expect(run.late).toEqual([]);
            expect(run.failed).toEqual([]);
            expect(run.results.every((r) => r.kind === 'final' && r.revision === 0)).toBe(true);
            const result = referenceResults[name] as (items: KeyedItem['item'][]) => unknown;
            const reference = new Map(
              [...referenceWindows(assigner, records)].map(([id, w]) => [id, result(w.items)] as const),
            );
            expect(finalsOf(run.results), name).toEqual(reference);
          }
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('with late data, add each record to exactly its open windows or report it late, and emit the reference over them', () => {
    fc.assert(
      fc.property(
        assigners[kind],
        stream(15),
        lateness,
        cuts,
        fc.array(fc.integer({ min: -5, max: 20 }), { minLength: 1, maxLength: 10 }),
        (assigner, records, allowedLateness, sizes, lags) => {
          // Prepare: a watermark that trails by less than the disorder at times: records arrive behind it.
          const watermarks = boundedWatermarks(records, (i) => lags[i % lags.length] as number);
          for (const name of aggregationNames) {
            // Act
            const run = runStream(specOf(assigner, name, allowedLateness), records, watermarks, sizes);

            // Assess: reported late exactly when no window was open at arrival, with the watermark then.
            expect(run.failed).toEqual([]);
            const lateIndexes = run.late.map((l) => l.index);
            const expectedLate = records
              .map((r, i) => (openWindows(assigner, r, watermarks[i] as number, allowedLateness).length === 0 ? i : -1))
              .filter((i) => i >= 0);
            expect(lateIndexes).toEqual(expectedLate);
            for (const { index, late } of run.late) {
              expect(late.watermark).toBe(watermarks[index]);
              expect(late.record.id).toBe(records[index]?.item.id);
              if (assigner.kind === 'session') {
                expect(late.record.time + allowedLateness).toBeLessThanOrEqual(late.watermark);
              } else {
                for (const w of late.windows) expect(w.end - 1 + allowedLateness).toBeLessThanOrEqual(late.watermark);
              }
            }
            // Every final is the reference over exactly the records accepted into it; with `stats`, whose
            // result lists record ids, this is conservation: each accepted record in exactly its open windows.
            expect(finalsOf(run.results), name).toEqual(
              expectedFinals(assigner, name, records, watermarks, allowedLateness),
            );
          }
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('give the same results however the input is cut into batches', () => {
    fc.assert(
      fc.property(
        assigners[kind],
        stream(15),
        lateness,
        cuts,
        cuts,
        fc.array(fc.integer({ min: -5, max: 20 }), { minLength: 1, maxLength: 10 }),
        (assigner, records, allowedLateness, oneCut, otherCut, lags) => {
          // Prepare
          const watermarks = boundedWatermarks(records, (i) => lags[i % lags.length] as number);
          const spec = specOf(assigner, 'stats', allowedLateness);
          const sorted = (results: readonly WindowResult<unknown>[]) =>
            [...results].sort((a, b) => a.key.localeCompare(b.key) || a.windowStart - b.windowStart);

          // Act
          const one = runStream(spec, records, watermarks, oneCut);
          const other = runStream(spec, records, watermarks, otherCut);
          const single = runStream(spec, records, watermarks, [records.length]);

          // Assess
          expect(sorted(other.results)).toEqual(sorted(one.results));
          expect(sorted(single.results)).toEqual(sorted(one.results));
          expect(other.late.map((l) => l.index)).toEqual(one.late.map((l) => l.index));
        },
      ),
      { numRuns: RUNS },
    );
  });

  it("in early mode, number each window's results 0, 1, 2, ..., keep the latest current, and end on the final-mode result", () => {
    fc.assert(
      fc.property(
        assigners[kind],
        stream(15),
        lateness,
        cuts,
        fc.array(fc.integer({ min: -5, max: 20 }), { minLength: 1, maxLength: 10 }),
        fc.constantFrom(...aggregationNames),
        (assigner, records, allowedLateness, sizes, lags, name) => {
          // Prepare
          const watermarks = boundedWatermarks(records, (i) => lags[i % lags.length] as number);
          const aggregation = testAggregations[name] as { result(a: unknown): unknown };
          const latest = new Map<string, WindowResult<unknown>>();
          let seen = 0;
          let counts = new Map<string, number>();

          // Act
          const early = runStream(
            specOf(assigner, name, allowedLateness, 'early'),
            records,
            watermarks,
            sizes,
            (store, results) => {
              // Updates only for open windows the batch added records to, at most one each.
              const inBatch = new Set<string>();
              for (const r of results.slice(seen)) {
                const id = windowName({ key: r.key, start: r.windowStart, end: r.windowEnd });
                const grown = (store.get(id)?.count ?? 0) > (counts.get(id) ?? 0);
                check(r.kind === 'final' || grown, () => `${id}: an update, but the batch did not change the window`);
                check(!inBatch.has(id), () => `${id}: two results in one batch`);
                inBatch.add(id);
                latest.set(id, r);
              }
              seen = results.length;
              counts = new Map([...store].map(([id, w]) => [id, w.count]));
              // After every batch, the latest result of each open window is an update showing its current state.
              for (const [id, w] of store) {
                const last = latest.get(id);
                check(
                  last?.kind === 'update' && last.revision === w.emitted - 1,
                  () => `${id}: latest result not an update`,
                );
                check(
                  JSON.stringify(last?.value) === JSON.stringify(aggregation.result(w.accumulator)),
                  () => `${id}: latest update ${JSON.stringify(last?.value)} is not the window's current result`,
                );
              }
            },
          );
          const final = runStream(specOf(assigner, name, allowedLateness), records, watermarks, sizes);

          // Assess
          const byWindow = new Map<string, WindowResult<unknown>[]>();
          for (const r of early.results) {
            const id = windowName({ key: r.key, start: r.windowStart, end: r.windowEnd });
            byWindow.set(id, [...(byWindow.get(id) ?? []), r]);
          }
          const finals = finalsOf(final.results);
          for (const [id, results] of byWindow) {
            expect(results.map((r) => r.revision)).toEqual(results.map((_, i) => i));
            const last = results[results.length - 1];
            expect(results.slice(0, -1).every((r) => r.kind === 'update')).toBe(true);
            if (last?.kind === 'final') {
              expect(last.value).toEqual(finals.get(id));
            } else {
              // Only a session merged into another goes without a final: one of its key's finals covers it.
              expect(kind).toBe('session');
              const [key, start, end] = id.split('|');
              const covering = [...finals.keys()].filter((f) => {
                const [k, s, e] = f.split('|');
                return k === key && Number(s) <= Number(start) && Number(end) <= Number(e);
              });
              expect(covering.length, id).toBeGreaterThan(0);
            }
          }
          expect(finalsOf(early.results)).toEqual(finals);
        },
      ),
      { numRuns: RUNS },
    );
  });
});
