/**
 * Runs the window operator over a keyed stream the way the stage runtime and its store do: the input
 * cut into batches, per batch one processKeyBatch per key touched, the store changed only through the
 * put and deleted lists, the windows of other keys fired through a query by fireAt, and a last
 * watermark of +Infinity. Checks the store contract on every batch.
 */
import { aggregate, avg, count, max, min, sum } from '../../../shared/windows/aggregations.js';
import type { WindowResult, WindowState } from '../../../shared/windows/types.js';
import {
  type FailedRecord,
  fireWindows,
  type LateRecord,
  processKeyBatch,
  type TimedValue,
  type WindowSpec,
  windowFireAt,
} from '../../../shared/windows/window-operator.js';
import { type Item, type KeyedItem, windowName } from './reference.js';

type Stats = { ids: string[]; squares: number };

/** The aggregations under test; `stats` mutates its accumulator, which must never reach the stored state. */
export const testAggregations = {
  count: count<Item>(),
  sum: sum((i: Item) => i.n),
  min: min((i: Item) => i.n),
  max: max((i: Item) => i.n),
  avg: avg((i: Item) => i.n),
  stats: aggregate({
    name: 'stats',
    init: (): Stats => ({ ids: [], squares: 0 }),
    add: (acc, item: Item) => {
      acc.ids.push(item.id);
      acc.ids.sort();
      acc.squares += item.n * item.n;
      return acc;
    },
    merge: (a, b) => ({ ids: [...a.ids, ...b.ids].sort(), squares: a.squares + b.squares }),
    result: (acc) => ({ ids: acc.ids, squares: acc.squares }),
  }),
} as const;
export type AggregationName = keyof typeof testAggregations;

export interface StreamRun {
  /** Every result, in emission order. */
  readonly results: WindowResult<unknown>[];
  /** Late records with the index of their arrival. */
  readonly late: { index: number; late: LateRecord<Item> }[];
  readonly failed: FailedRecord<Item>[];
}

type Store = Map<string, WindowState<unknown>>;

/**
 * @param watermarks `watermarks[i]` is in force when record i arrives; the batch ending before record
 *   b fires at `watermarks[b]` (length = records + 1). Then a last firing at +Infinity.
 * @param cuts batch sizes, used in turn.
 * @param afterBatch called after every batch with the store and the results so far.
 */
export function runStream(
  spec: WindowSpec<Item, unknown, unknown>,
  records: readonly KeyedItem[],
  watermarks: readonly number[],
  cuts: readonly number[],
  afterBatch?: (store: ReadonlyMap<string, WindowState<unknown>>, results: readonly WindowResult<unknown>[]) => void,
): StreamRun {
  const store: Store = new Map();
  const results: WindowResult<unknown>[] = [];
  const late: StreamRun['late'] = [];
  const failed: FailedRecord<Item>[] = [];
  const batches: [number, number][] = [];
  for (let start = 0, c = 0; start < records.length; c += 1) {
    const end = Math.min(records.length, start + Math.max(1, cuts[c % cuts.length] ?? 1));
    batches.push([start, end]);
    start = end;
  }
  batches.push([records.length, records.length]);
  batches.forEach(([from, to], b) => {
    const last = b === batches.length - 1;
    const watermark = last ? Number.POSITIVE_INFINITY : (watermarks[to] as number);
    const byKey = new Map<string, number[]>();
    for (let i = from; i < to; i += 1) {
      const key = (records[i] as KeyedItem).key;
      byKey.set(key, [...(byKey.get(key) ?? []), i]);
    }
    for (const [key, indexes] of byKey) {
      const given = windowsOf(store, key);
      const timed: TimedValue<Item>[] = indexes.map((i) => {
        const r = records[i] as KeyedItem;
        return { value: r.item, time: r.time, id: r.item.id };
      });
      const out = processKeyBatch(
        spec,
        given,
        key,
        timed,
        (j) => watermarks[indexes[j] as number] as number,
        watermark,
      );
      applyChanges(store, given, out.put, out.deleted);
      check(
        sortedNames(windowsOf(store, key)) === sortedNames(out.windows),
        () => `the store holds other windows than the operator returned for key ${key}`,
      );
      results.push(...out.results);
      late.push(...out.late.map((l) => ({ index: indexes[timed.indexOf(l.record)] as number, late: l })));
      failed.push(...out.failed);
      check(out.failedWindows.length === 0, 'failed windows');
    }
    // The other keys' windows: what the store's query by fireAt returns, fired with nothing changed.
    const due = [...store.values()].filter(
      (w) => !byKey.has(w.key) && windowFireAt(w, spec.allowedLateness) <= watermark,
    );
    const fired = fireWindows(spec, due, [], watermark);
    check(
      fired.windows.length === 0 && fired.removed.length === due.length && fired.removed.every((w, i) => w === due[i]),
      'a due window did not fire',
    );
    for (const w of due) store.delete(windowName(w));
    results.push(...fired.results);
    afterBatch?.(store, results);
  });
  check(store.size === 0, 'windows left after the watermark reached +Infinity');
  late.sort((a, b) => a.index - b.index);
  return { results, late, failed };
}

function windowsOf(store: Store, key: string): WindowState<unknown>[] {
  return [...store.values()].filter((w) => w.key === key).sort((a, b) => a.start - b.start || a.end - b.end);
}

function applyChanges(
  store: Store,
  given: readonly WindowState<unknown>[],
  put: readonly WindowState<unknown>[],
  deleted: readonly WindowState<unknown>[],
): void {
  const givenNames = new Set(given.map(windowName));
  const putNames = new Set(put.map(windowName));
  // Each window written at most once a batch, never both written and deleted, only existing ones deleted.
  check(putNames.size === put.length, () => `a window written twice in a batch: ${put.map(windowName)}`);
  for (const w of deleted) {
    const name = windowName(w);
    check(givenNames.has(name), () => `deleted a window never stored: ${name}`);
    check(!putNames.has(name), () => `both wrote and deleted ${name}`);
    store.delete(name);
  }
  // A JSON copy, as DynamoDB keeps; frozen, so that an operator mutating state it was given throws.
  for (const w of put) store.set(windowName(w), deepFreeze(JSON.parse(JSON.stringify(w)) as WindowState<unknown>));
}

function sortedNames(windows: readonly WindowState<unknown>[]): string {
  return windows.map(windowName).sort().join(',');
}

/** `expect` is too slow for checks run thousands of times a property; this fails the same way. */
export function check(condition: boolean, message: string | (() => string)): void {
  if (!condition) throw new Error(typeof message === 'string' ? message : message());
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const member of Object.values(value)) deepFreeze(member);
    Object.freeze(value);
  }
  return value;
}
