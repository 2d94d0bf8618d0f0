import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AggregationError, aggregate, avg, count, max, min, sum } from '../../../shared/windows/aggregations.js';
import type { Aggregation } from '../../../shared/windows/types.js';

type Item = { n: number };
const n = (item: Item) => item.n;

/** Every built-in, and a user-defined one, over `Item`. */
const aggregations: Aggregation<Item, unknown, unknown>[] = [
  count<Item>(),
  sum(n),
  min(n),
  max(n),
  avg(n),
  aggregate({
    name: 'range',
    init: (): { lo: number | null; hi: number | null } => ({ lo: null, hi: null }),
    add: (acc, item: Item) => ({ lo: Math.min(acc.lo ?? item.n, item.n), hi: Math.max(acc.hi ?? item.n, item.n) }),
    merge: (a, b) => ({
      lo: a.lo === null ? b.lo : b.lo === null ? a.lo : Math.min(a.lo, b.lo),
      hi: a.hi === null ? b.hi : b.hi === null ? a.hi : Math.max(a.hi, b.hi),
    }),
    result: (acc) => (acc.lo === null || acc.hi === null ? null : acc.hi - acc.lo),
  }),
] as Aggregation<Item, unknown, unknown>[];

const items = fc.array(fc.record({ n: fc.integer({ min: -1000, max: 1000 }) }), { maxLength: 20 });
const fold = <A>(agg: Aggregation<Item, A, unknown>, xs: Item[]): A =>
  xs.reduce((acc, x) => agg.add(acc, x), agg.init());
const roundTrip = <A>(a: A): A => JSON.parse(JSON.stringify(a)) as A;

describe('aggregations', () => {
  it('compute what they say', () => {
    // Prepare
    const xs = [3, -1, 7, 7].map((x) => ({ n: x }));

    // Act / Assess
    expect(count<Item>().result(fold(count<Item>(), xs))).toBe(4);
    expect(sum(n).result(fold(sum(n), xs))).toBe(16);
    expect(min(n).result(fold(min(n), xs))).toBe(-1);
    expect(max(n).result(fold(max(n), xs))).toBe(7);
    expect(avg(n).result(fold(avg(n), xs))).toBe(4);
    expect(fold(avg(n), xs)).toEqual({ sum: 16, count: 4 });
    expect(min(n).init()).toBeNull();
  });

  it('default the name of a user-defined aggregation', () => {
    // Act
    const agg = aggregate({ init: () => 0, add: (a: number) => a, merge: (a, b) => a + b, result: (a) => a });

    // Assess
    expect(agg.name).toBe('aggregate');
  });

  it('refuse a value function that returns no finite number, naming the aggregation', () => {
    // Prepare
    const bad = (item: { v: unknown }) => item.v as number;

    // Act / Assess
    expect(() => sum(bad).add(0, { v: Number.NaN })).toThrow(AggregationError);
    expect(() => sum(bad).add(0, { v: Number.NaN })).toThrow(
      'sum: the value function returned NaN, not a finite number',
    );
    expect(() => avg(bad).add({ sum: 0, count: 0 }, { v: '3' })).toThrow("avg: the value function returned '3'");
    expect(() => min(bad).add(null, { v: undefined })).toThrow('min: the value function returned undefined');
    expect(() => max(bad).add(null, { v: Number.POSITIVE_INFINITY })).toThrow(
      'max: the value function returned Infinity',
    );
  });

  it('have an empty-window result that throws rather than lies (a window is never empty)', () => {
    // Act / Assess
    expect(() => min(n).result(null)).toThrow('min: no values');
    expect(() => avg(n).result({ sum: 0, count: 0 })).toThrow('avg: no values to average');
  });

  it('merge associatively, commutatively, with init() as identity, and match a plain fold (properties)', () => {
    for (const agg of aggregations) {
      fc.assert(
        fc.property(items, items, items, (xs, ys, zs) => {
          // Prepare
          const [a, b, c] = [fold(agg, xs), fold(agg, ys), fold(agg, zs)];

          // Act
          const left = agg.merge(agg.merge(a, b), c);
          const right = agg.merge(a, agg.merge(b, c));

          // Assess
          expect(left, agg.name).toEqual(right);
          expect(agg.merge(a, b), agg.name).toEqual(agg.merge(b, a));
          expect(agg.merge(agg.init(), a), agg.name).toEqual(a);
          expect(agg.merge(a, agg.init()), agg.name).toEqual(a);
          expect(left, agg.name).toEqual(fold(agg, [...xs, ...ys, ...zs]));
          // Accumulators survive the trip to DynamoDB (JSON) unchanged.
          expect(roundTrip(left), agg.name).toEqual(left);
        }),
        { numRuns: 200 },
      );
    }
  });
});
