/**
 * The semantics of keyed windowed aggregation (Flink's WindowOperator, Kafka Streams' windowed
 * aggregate with suppress/emit-final), as pure functions over one key's stored windows. The stage
 * runtime loads the windows of the keys a batch touches, calls {@link processKeyBatch} once per key,
 * writes back each changed window once, and fires the windows that the watermark closed elsewhere
 * with {@link fireWindows}.
 *
 * Conventions, throughout:
 * - Times are epoch milliseconds; windows are half-open [start, end). Record times are floored to
 *   whole milliseconds, as Flink's long timestamps are.
 * - A watermark W promises that every record with time <= W has been seen (Flink's meaning). It is
 *   -Infinity before any, and +Infinity at the end of a bounded input (every window fires).
 * - A window closes when W >= end - 1 + allowedLateness, its {@link windowFireAt} (Flink's cleanup time,
 *   `maxTimestamp + allowedLateness`). Then its final result is emitted and its state can go, in both
 *   emit modes. With no lateness that is the moment every record in it has been seen.
 * - A record is late for a tumbling or hopping window that is closed by the watermark in force when the
 *   record arrives; it is added to its windows that are still open (with hopping windows, possibly not
 *   all of them, as Flink's WindowOperator does) and reported late when none is.
 * - A session record is late when time + allowedLateness <= W (Kafka Streams' grace rule), which is
 *   stricter than Flink's check of the merged window: only so can no accepted record ever belong to a
 *   session already emitted, so final sessions are exactly the sessions of the accepted records.
 *   Sessions join when their windows overlap: records less than `gap` apart.
 * - A window marked `closed` (a tombstone the store keeps after the final result) is closed whatever
 *   the watermark: it never fires again, takes no record and joins no session; a record that would go
 *   only to closed windows is late.
 */
import { AggregationError } from './aggregations.js';
import { assignWindows, lastWindowStart, type TimeWindow } from './assigners.js';
import { eventTimeProblem, isValidEventTime } from './event-time.js';
import type { Aggregation, EmitMode, WindowAssigner, WindowResult, WindowState } from './types.js';

/** What a windowed stage computes: the fields of the DAG's window node, durations already parsed. */
export interface WindowSpec<T, A, R> {
  readonly assigner: WindowAssigner;
  readonly aggregation: Aggregation<T, A, R>;
  /** Milliseconds, >= 0. */
  readonly allowedLateness: number;
  readonly emit: EmitMode;
}

/** A record with its time and id, as the window operator sees it. */
export interface TimedValue<T> {
  readonly value: T;
  /** Event time, or processing time for the `*ProcessingTime` assigners; epoch milliseconds. */
  readonly time: number;
  /** The record's correlation id, carried to the late and failed lists. */
  readonly id: string;
}

/** The bounds of one key's window: what identifies it in the store. */
export type WindowBounds = Pick<WindowState<unknown>, 'key' | 'start' | 'end'>;

/** A record too late for every window it belongs to: for the stage's late output. */
export interface LateRecord<T> {
  readonly record: TimedValue<T>;
  /** The watermark in force when the record arrived. */
  readonly watermark: number;
  /** The windows it would have belonged to, none open; for a session record, [time, time + gap). */
  readonly windows: readonly TimeWindow[];
  readonly reason: string;
}

/** A record the operator could not add: an invalid time, or an aggregation function that threw. For dead letters. */
export interface FailedRecord<T> {
  readonly record: TimedValue<T>;
  readonly message: string;
  readonly cause?: unknown;
}

/** A window whose result could not be computed (`result` threw). For dead letters. */
export interface FailedWindow<A> {
  readonly window: WindowState<A>;
  readonly message: string;
  readonly cause?: unknown;
}

export interface AddResult<T, A> {
  /** The key's windows after the records, in start order: unchanged ones are the objects given. */
  readonly windows: WindowState<A>[];
  /** Windows of `windows` that are new or whose accumulator changed: to write. */
  readonly changed: WindowState<A>[];
  /** Windows given that are no longer there (sessions merged into others): to delete. */
  readonly removed: WindowState<A>[];
  /** Records too late for all their windows, in arrival order; not added anywhere. */
  readonly late: LateRecord<T>[];
  /** Records not added because their time is invalid or an aggregation function threw, in arrival order. */
  readonly failed: FailedRecord<T>[];
}

export interface FireResult<A, R> {
  /** In order of window end, then start, then key. */
  readonly results: WindowResult<R>[];
  /** The windows not fired (those marked closed untouched), in the order given; updated ones with the new `emitted`. */
  readonly windows: WindowState<A>[];
  /** Windows of `windows` whose `emitted` changed (early updates): to write. */
  readonly updated: WindowState<A>[];
  /** Windows closed by the watermark, fired (or failed) and gone: to delete. */
  readonly removed: WindowState<A>[];
  readonly failed: FailedWindow<A>[];
}

export interface KeyBatchResult<T, A, R> {
  /** In order of window end, then start. */
  readonly results: WindowResult<R>[];
  /** The key's windows after the batch, in start order. */
  readonly windows: WindowState<A>[];
  /** Windows to write, each once, in their final state of the batch. */
  readonly put: WindowState<A>[];
  /** Windows given that must be deleted (merged away or fired). Windows born and fired within the batch are in neither list. */
  readonly deleted: WindowState<A>[];
  readonly late: LateRecord<T>[];
  readonly failed: FailedRecord<T>[];
  readonly failedWindows: FailedWindow<A>[];
}

/**
 * Whether record `index` of the batch was already added to `window` by an earlier attempt of the
 * batch (the store's fence says so): then it is not added again, and not reported late either.
 * Consulted for tumbling and hopping windows only; the caller drops repeated session records itself.
 */
export type AlreadyApplied = (index: number, window: TimeWindow) => boolean;

/** A caller broke the operator's contract (windows of another key, a bad lateness): a bug, never data. */
export class WindowStateError extends Error {
  override readonly name = 'WindowStateError';
}

/**
 * The watermark at which a window closes: `end - 1 + allowedLateness`. Then it fires its final result
 * and its state can be deleted; the store indexes windows by it (`fireAt`) to find those due. The -1
 * makes the end exclusive: a watermark of end - 1 says every record of [start, end) has been seen.
 */
export function windowFireAt(window: Pick<TimeWindow, 'end'>, allowedLateness: number): number {
  return window.end - 1 + allowedLateness;
}

/** Whether `watermark` has closed the window: no record is added to it any more, and it fires. */
export function isWindowClosed(window: Pick<TimeWindow, 'end'>, allowedLateness: number, watermark: number): boolean {
  return watermark >= windowFireAt(window, allowedLateness);
}

/** A window of the batch being computed, with an accumulator the operator may mutate once `owned`. */
interface Slot<A> {
  start: number;
  end: number;
  accumulator: A;
  count: number;
  emitted: number;
  /** The accumulator is a private copy (or fresh), never an object the caller gave. */
  owned: boolean;
  changed: boolean;
  readonly closed?: boolean;
  /** The window as given, while unchanged: returned as is. */
  readonly original?: WindowState<A>;
}

/**
 * Adds one key's records, in arrival order, to its windows. `watermarkAt(i)` is the watermark in force
 * when `records[i]` arrived (the watermark may advance within a batch; it must not go back), or one
 * watermark for all. Records late for every window they belong to are returned, not added (see the
 * module's conventions). Sessions merge with every overlapping session of the key; their accumulators
 * merge with the aggregation's `merge`, and the windows merged away are returned in `removed`.
 * `alreadyApplied` tells which records a retried batch already added to which fixed windows.
 *
 * Pure: the windows given are not modified, even by an aggregation that mutates its accumulator.
 */
export function addToWindows<T, A, R>(
  spec: WindowSpec<T, A, R>,
  windows: readonly WindowState<A>[],
  key: string,
  records: readonly TimedValue<T>[],
  watermarkAt: number | ((index: number) => number),
  alreadyApplied: AlreadyApplied = () => false,
): AddResult<T, A> {
  checkSpec(spec);
  const at = typeof watermarkAt === 'number' ? () => watermarkAt : watermarkAt;
  const slots = new Map<string, Slot<A>>();
  for (const w of windows) {
    if (w.key !== key)
      throw new WindowStateError(`window of key ${JSON.stringify(w.key)} given for key ${JSON.stringify(key)}`);
    slots.set(boundsId(w), {
      start: w.start,
      end: w.end,
      accumulator: w.accumulator,
      count: w.count,
      emitted: w.emitted,
      closed: w.closed,
      owned: false,
      changed: false,
      original: w,
    });
  }
  const late: LateRecord<T>[] = [];
  const failed: FailedRecord<T>[] = [];
  const session = spec.assigner.kind === 'session';
  const ids = new BoundsIds();
  for (let index = 0; index < records.length; index += 1) {
    const record = records[index] as TimedValue<T>;
    const time = record.time;
    if (!isValidEventTime(time)) {
      failed.push({ record, message: `time ${eventTimeProblem(time)}` });
      continue;
    }
    const watermark = at(index);
    try {
      const tooLate = session
        ? addToSessions(spec, slots, record, Math.floor(time), watermark)
        : addToFixedWindows(spec, slots, record, Math.floor(time), watermark, alreadyApplied, index, ids);
      if (tooLate !== undefined) late.push(tooLate);
    } catch (error) {
      failed.push({ record, message: failureMessage(spec.aggregation, error), cause: error });
    }
  }
  const after = [...slots.values()].sort(byBounds);
  const states = after.map((slot) => toState(slot, key));
  return {
    windows: states,
    changed: states.filter((_, i) => after[i]?.changed),
    removed: windows.filter((w) => !slots.has(boundsId(w))),
    late,
    failed,
  };
}

/**
 * Decides what the windows emit at `watermark`, the watermark after the batch:
 * - every window closed by it (`watermark >= end - 1 + allowedLateness`) emits its final result
 *   (kind 'final') and is removed, in both emit modes;
 * - with `emit: 'early'`, every other window in `changed` (those a batch changed, as
 *   {@link addToWindows} returned them) emits an update (kind 'update'): early firings before the
 *   window's end and late firings within the allowed lateness alike, at most one per window per batch.
 *
 * So in early mode the latest result of a window always reflects every record added to it, and its
 * last result is the final one, equal to what final mode emits. Flink's on-time firing at the end
 * of the window is not a separate result: it would repeat the latest update. A session merged into
 * another gets no more results; the merged window's results (revisions from 0) supersede them.
 *
 * `revision` is the window's `emitted` count before the result, so (key, windowStart, windowEnd,
 * revision) names a result: a batch retried emits the same four values. `windows` may belong to any
 * keys (the store's query of due windows returns many). Windows marked `closed` are passed through.
 */
export function fireWindows<T, A, R>(
  spec: WindowSpec<T, A, R>,
  windows: readonly WindowState<A>[],
  changed: Iterable<WindowBounds>,
  watermark: number,
): FireResult<A, R> {
  checkSpec(spec);
  const changedIds = new Set<string>();
  for (const w of changed) changedIds.add(windowKeyId(w));
  const results: WindowResult<R>[] = [];
  const remaining: WindowState<A>[] = [];
  const updated: WindowState<A>[] = [];
  const removed: WindowState<A>[] = [];
  const failed: FailedWindow<A>[] = [];
  for (const window of windows) {
    if (window.closed === true) {
      remaining.push(window);
      continue;
    }
    const final = isWindowClosed(window, spec.allowedLateness, watermark);
    if (!final && (spec.emit !== 'early' || !changedIds.has(windowKeyId(window)))) {
      remaining.push(window);
      continue;
    }
    let value: R;
    try {
      value = spec.aggregation.result(window.accumulator);
    } catch (error) {
      failed.push({ window, message: failureMessage(spec.aggregation, error), cause: error });
      // A window that cannot produce its result must still go, or it would fail every batch from now on.
      (final ? removed : remaining).push(window);
      continue;
    }
    const { key, start, end, emitted } = window;
    results.push({
      key,
      windowStart: start,
      windowEnd: end,
      value,
      kind: final ? 'final' : 'update',
      revision: emitted,
    });
    if (final) {
      removed.push(window);
    } else {
      const next = { ...window, emitted: emitted + 1 };
      remaining.push(next);
      updated.push(next);
    }
  }
  results.sort(
    (a, b) =>
      a.windowEnd - b.windowEnd || a.windowStart - b.windowStart || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0),
  );
  return { results, windows: remaining, updated, removed, failed };
}

/**
 * One key's part of a batch: {@link addToWindows}, then {@link fireWindows} at `watermark` (the
 * watermark after the batch), and what to write so that each window is written at most once.
 */
export function processKeyBatch<T, A, R>(
  spec: WindowSpec<T, A, R>,
  windows: readonly WindowState<A>[],
  key: string,
  records: readonly TimedValue<T>[],
  watermarkAt: number | ((index: number) => number),
  watermark: number,
  alreadyApplied?: AlreadyApplied,
): KeyBatchResult<T, A, R> {
  const added = addToWindows(spec, windows, key, records, watermarkAt, alreadyApplied);
  const fired = fireWindows(spec, added.windows, added.changed, watermark);
  const given = new Set(windows.map(boundsId));
  const gone = new Set(fired.removed.map(boundsId));
  const put = new Map<string, WindowState<A>>();
  for (const w of [...added.changed, ...fired.updated]) if (!gone.has(boundsId(w))) put.set(boundsId(w), w);
  return {
    results: fired.results,
    windows: fired.windows,
    put: [...put.values()],
    deleted: [...added.removed, ...fired.removed.filter((w) => given.has(boundsId(w)))],
    late: added.late,
    failed: added.failed,
    failedWindows: fired.failed,
  };
}

// ---------------------------------------------------------------------------------------------------

/** Tumbling and hopping windows: fixed bounds, so a record's windows never change. */
function addToFixedWindows<T, A, R>(
  spec: WindowSpec<T, A, R>,
  slots: Map<string, Slot<A>>,
  record: TimedValue<T>,
  t: number,
  watermark: number,
  alreadyApplied: AlreadyApplied,
  index: number,
  ids: BoundsIds,
): LateRecord<T> | undefined {
  const all = ids.windowsOf(spec.assigner, t);
  // The record's windows the watermark has not closed, and of those the ones not fired (tombstones).
  let unfired = 0;
  const open: TimeWindow[] = [];
  const openIds: string[] = [];
  for (const w of all) {
    if (isWindowClosed(w, spec.allowedLateness, watermark)) continue;
    unfired += 1;
    const id = ids.of(w);
    if (slots.get(id)?.closed === true) continue;
    open.push(w);
    openIds.push(id);
  }
  if (open.length === 0) {
    const last = all[all.length - 1] as TimeWindow;
    if (unfired > 0) {
      const fired = all
        .filter((w) => !isWindowClosed(w, spec.allowedLateness, watermark))
        .map((w) => `[${w.start}, ${w.end})`)
        .join(', ');
      return { record, watermark, windows: [...all], reason: `time ${t} is too late: ${fired} already fired` };
    }
    return {
      record,
      watermark,
      windows: [...all],
      reason:
        `time ${t} is too late: its ${all.length === 1 ? 'window' : `${all.length} windows`} closed when the ` +
        `watermark reached ${windowFireAt(last, spec.allowedLateness)} (end of [${last.start}, ${last.end}) - 1 + ` +
        `allowed lateness ${spec.allowedLateness} ms), and the watermark is ${watermark}`,
    };
  }
  const { aggregation } = spec;
  const fresh: TimeWindow[] = [];
  const freshIds: string[] = [];
  for (let i = 0; i < open.length; i += 1) {
    const w = open[i] as TimeWindow;
    if (alreadyApplied(index, w)) continue;
    fresh.push(w);
    freshIds.push(openIds[i] as string);
  }
  // Every accumulator first, then commit: a record whose add throws is in none of its windows.
  const targets: (Slot<A> | undefined)[] = [];
  const accumulators: A[] = [];
  for (const id of freshIds) {
    const slot = slots.get(id);
    targets.push(slot);
    accumulators.push(aggregation.add(slot === undefined ? aggregation.init() : own(slot), record.value));
  }
  for (let i = 0; i < fresh.length; i += 1) {
    const accumulator = accumulators[i] as A;
    const slot = targets[i];
    if (slot === undefined) {
      const w = fresh[i] as TimeWindow;
      slots.set(freshIds[i] as string, {
        start: w.start,
        end: w.end,
        accumulator,
        count: 1,
        emitted: 0,
        owned: true,
        changed: true,
      });
    } else {
      slot.accumulator = accumulator;
      slot.count += 1;
      slot.changed = true;
    }
  }
  return undefined;
}

/**
 * A key's fixed windows, worked out once per window of a batch: its records mostly fall in the
 * windows of the record before. {@link boundsId} of each, and the windows of a time (shared: not to
 * be modified).
 */
class BoundsIds {
  readonly #byStart = new Map<number, { readonly end: number; readonly id: string }>();
  #group: number | undefined;
  #windows: readonly TimeWindow[] = [];

  windowsOf(assigner: WindowAssigner, t: number): readonly TimeWindow[] {
    const group = lastWindowStart(assigner, t);
    if (group === undefined || group !== this.#group) {
      this.#windows = assignWindows(assigner, t);
      this.#group = group;
    }
    return this.#windows;
  }

  of(w: Pick<TimeWindow, 'start' | 'end'>): string {
    const known = this.#byStart.get(w.start);
    if (known !== undefined && known.end === w.end) return known.id;
    const id = boundsId(w);
    this.#byStart.set(w.start, { end: w.end, id });
    return id;
  }
}

/** Session windows: the record's [t, t + gap) joins every overlapping session of the key into one. */
function addToSessions<T, A, R>(
  spec: WindowSpec<T, A, R>,
  slots: Map<string, Slot<A>>,
  record: TimedValue<T>,
  t: number,
  watermark: number,
): LateRecord<T> | undefined {
  const { aggregation, allowedLateness, assigner } = spec;
  const gap = assigner.kind === 'session' ? assigner.gap : 0;
  if (t + allowedLateness <= watermark) {
    return {
      record,
      watermark,
      windows: [{ start: t, end: t + gap }],
      reason:
        `time ${t} is too late: the watermark ${watermark} is past it by at least the allowed lateness ` +
        `${allowedLateness} ms, so it could belong to a session already emitted`,
    };
  }
  const start = t;
  const end = t + gap;
  const overlapping = [...slots.values()].filter((s) => s.start < end && start < s.end).sort(byBounds);
  const fired = overlapping.filter((s) => s.closed === true);
  if (fired.length > 0) {
    const sessions = fired.map((s) => `[${s.start}, ${s.end})`).join(', ');
    return {
      record,
      watermark,
      windows: [{ start, end }],
      reason: `time ${t} is too late: session ${sessions} already fired`,
    };
  }
  const [first] = overlapping;
  if (first === undefined) {
    const accumulator = aggregation.add(aggregation.init(), record.value);
    slots.set(boundsId({ start, end }), { start, end, accumulator, count: 1, emitted: 0, owned: true, changed: true });
    return undefined;
  }
  if (overlapping.length === 1 && first.start <= start && end <= first.end) {
    first.accumulator = aggregation.add(own(first), record.value);
    first.count += 1;
    first.changed = true;
    return undefined;
  }
  // Merged from init() up, so that a merge mutating its first argument touches no session it may fail to replace.
  let accumulator = aggregation.init();
  for (const s of overlapping) accumulator = aggregation.merge(accumulator, own(s));
  accumulator = aggregation.add(accumulator, record.value);
  const merged: Slot<A> = {
    start: Math.min(start, first.start),
    end: Math.max(end, ...overlapping.map((s) => s.end)),
    accumulator,
    count: overlapping.reduce((n, s) => n + s.count, 1),
    // New bounds, a new window: its results start again from revision 0.
    emitted: 0,
    owned: true,
    changed: true,
  };
  for (const s of overlapping) slots.delete(boundsId(s));
  slots.set(boundsId(merged), merged);
  return undefined;
}

/** The slot's accumulator, copied first if it is still the caller's object, so the caller's state stays as given. */
function own<A>(slot: Slot<A>): A {
  if (!slot.owned) {
    slot.accumulator = copy(slot.accumulator);
    slot.owned = true;
  }
  return slot.accumulator;
}

function copy<A>(accumulator: A): A {
  return typeof accumulator === 'object' && accumulator !== null ? structuredClone(accumulator) : accumulator;
}

function toState<A>(slot: Slot<A>, key: string): WindowState<A> {
  if (!slot.changed && slot.original !== undefined) return slot.original;
  const { start, end, accumulator, count, emitted } = slot;
  return { key, start, end, accumulator, count, emitted };
}

function byBounds(a: Pick<TimeWindow, 'start' | 'end'>, b: Pick<TimeWindow, 'start' | 'end'>): number {
  return a.start - b.start || a.end - b.end;
}

function boundsId(w: Pick<TimeWindow, 'start' | 'end'>): string {
  return `${w.start}/${w.end}`;
}

function windowKeyId(w: WindowBounds): string {
  return `${w.start}/${w.end}/${w.key}`;
}

function checkSpec<T, A, R>(spec: WindowSpec<T, A, R>): void {
  if (!Number.isFinite(spec.allowedLateness) || spec.allowedLateness < 0) {
    throw new WindowStateError(`allowedLateness must be a finite number of ms >= 0, got ${spec.allowedLateness}`);
  }
}

function failureMessage<T, A, R>(aggregation: Aggregation<T, A, R>, error: unknown): string {
  if (error instanceof AggregationError) return error.message;
  return `${aggregation.name} threw: ${error instanceof Error ? error.message : String(error)}`;
}
