/**
 * The semantics of a keyed event-time join, as pure functions: which buffered records a record
 * joins, when it is late, when it is no longer needed, and which records an outer join emits alone.
 * No I/O: the join stage (shared/runtime/join-stage.ts) loads and writes the buffers.
 */
import type { JoinCondition, JoinSide, JoinType } from '../dag/graph.js';
import { assignWindows } from '../windows/assigners.js';
import { isWindowClosed, windowFireAt } from '../windows/window-operator.js';

export interface JoinSpec {
  readonly condition: JoinCondition;
  readonly type: JoinType;
  /** ms */
  readonly allowedLateness: number;
}

/** A record held in a join's buffer. */
export interface BufferedRecord {
  readonly key: string;
  readonly side: JoinSide;
  readonly time: number;
  /** The record's correlation id: with side and time, its identity in the buffer. */
  readonly id: string;
  readonly value: unknown;
  /**
   * Whether it has joined any record so far (outer joins emit the ones that never did). Kept up to
   * date for records of an outer side only: a record of an inner side is not written again when it
   * joins after it was buffered, as nothing reads its flag.
   */
  readonly matched: boolean;
  /**
   * A tombstone: the watermark is done with the record (an outer join emitted it alone if it never
   * joined). It stays in the buffer, out of the fire-time index, so that a replay of the batch that
   * was done with it still finds it as a partner, and does not emit it again (docs/joins.md).
   */
  readonly done?: boolean;
}

/** A record of the batch, with the join's watermark when it arrived. */
export interface JoinArrival {
  readonly side: JoinSide;
  readonly time: number;
  readonly id: string;
  readonly value: unknown;
  readonly watermark: number;
}

/** What the join emits: a pair, or (outer joins) a record with no partner. */
export interface JoinOutput {
  readonly left: BufferedRecord | null;
  readonly right: BufferedRecord | null;
  /** Window joins: the window the pair shares. */
  readonly window?: { readonly start: number; readonly end: number };
}

export interface KeyJoinOutcome {
  readonly outputs: JoinOutput[];
  /** Arrivals too late to join (for the late output). */
  readonly late: JoinArrival[];
  /**
   * Arrivals the buffer already held (an earlier attempt of the batch wrote them): not joined again,
   * but the partners they would join are marked, since the attempt may have crashed before it wrote
   * their marks.
   */
  readonly duplicates: number;
  /** Records to write: the arrivals buffered, and buffered records that found their first partner. */
  readonly changed: BufferedRecord[];
}

interface PartnerRange {
  readonly from: number;
  readonly to: number;
  readonly window?: { readonly start: number; readonly end: number };
}

const other = (side: JoinSide): JoinSide => (side === 'left' ? 'right' : 'left');

/**
 * The times, inclusive, a record's partners may have, per window for window joins. Interval: a left
 * record at t joins right records in [t - before, t + after], so a right record at t joins left
 * records in [t - after, t + before]. Windows still open at `watermark` only.
 */
function partnerRanges(spec: JoinSpec, side: JoinSide, time: number, watermark: number): PartnerRange[] {
  const { condition } = spec;
  if (condition.kind === 'interval') {
    if (isLate(spec, time, watermark)) return [];
    return side === 'left'
      ? [{ from: time - condition.before, to: time + condition.after }]
      : [{ from: time - condition.after, to: time + condition.before }];
  }
  return assignWindows(condition.assigner, Math.floor(time))
    .filter((w) => !isWindowClosed(w, spec.allowedLateness, watermark))
    .map((w) => ({ from: w.start, to: w.end - 1, window: { start: w.start, end: w.end } }));
}

/**
 * Interval joins: a record at t is late once the watermark is past t + allowedLateness. Its earliest
 * partner (t - before for a left record, t - after for a right one) is kept until exactly then, so a
 * record that is not late finds every partner that is still coming or still kept.
 */
export function isLate(spec: JoinSpec, time: number, watermark: number): boolean {
  if (spec.condition.kind === 'window') {
    return assignWindows(spec.condition.assigner, Math.floor(time)).every((w) =>
      isWindowClosed(w, spec.allowedLateness, watermark),
    );
  }
  return watermark > time + spec.allowedLateness;
}

/**
 * When a buffered record is done with: no record that is not late can join it once the watermark is
 * at or past this. Outer joins emit it then if it never joined.
 */
export function joinFireAt(spec: JoinSpec, side: JoinSide, time: number): number {
  const { condition, allowedLateness } = spec;
  if (condition.kind === 'window') {
    const windows = assignWindows(condition.assigner, Math.floor(time));
    return Math.max(...windows.map((w) => windowFireAt(w, allowedLateness)));
  }
  const reach = side === 'left' ? condition.after : condition.before;
  return time + reach + allowedLateness + 1;
}

/**
 * How far behind its input watermark W a join stage's forwarded watermark must trail, so that nothing
 * it emits later is late for the stage after it (docs/watermarks.md, "Through stateful stages"). A
 * forwarded watermark F says no output at or below F is still to come:
 *
 * - a pair is emitted when its second record arrives, at the later record's time, and a record that
 *   is not late has `t >= W - allowedLateness`: pairs need `allowedLateness + 1`;
 * - an outer join emits a record alone at its own time `t` once `W >= t + reach + allowedLateness + 1`
 *   (its fireAt), so one still buffered has `t >= W - reach - allowedLateness`: add the reach of each
 *   outer side (`after` for left records, `before` for right ones);
 * - a window join pairs records of a window still open (`W < end - 1 + allowedLateness`), at a time
 *   at or after the window's start: `allowedLateness + size - 1`.
 *
 * Flink's SQL interval join holds back `max(before, after) + allowedLateness` whatever the type
 * (its output time may be either record's); Eddy's pairs carry the later time, so inner joins need less.
 */
export function joinWatermarkHoldBack(spec: JoinSpec): number {
  const { condition, allowedLateness } = spec;
  if (condition.kind === 'window') {
    const { assigner } = condition;
    // The DSL refuses session windows for joins: only fixed windows have a size.
    if (assigner.kind === 'session') throw new Error('a window join needs tumbling or hopping windows');
    return allowedLateness + assigner.size - 1;
  }
  const outer = outerSides(spec.type);
  const reach = Math.max(0, ...[...outer].map((side) => (side === 'left' ? condition.after : condition.before)));
  return allowedLateness + 1 + reach;
}

const OUTER_SIDES: Readonly<Record<JoinType, ReadonlySet<JoinSide>>> = {
  inner: new Set<JoinSide>(),
  left: new Set<JoinSide>(['left']),
  right: new Set<JoinSide>(['right']),
  full: new Set<JoinSide>(['left', 'right']),
};

/** The sides whose records that never joined are emitted alone (one shared set per type: it is asked per key). */
export function outerSides(type: JoinType): ReadonlySet<JoinSide> {
  return OUTER_SIDES[type];
}

/** The time range of buffered records a key's arrivals can touch: their partners, and themselves. */
export function bufferRange(spec: JoinSpec, arrivals: readonly JoinArrival[]): { from: number; to: number } {
  let from = Number.POSITIVE_INFINITY;
  let to = Number.NEGATIVE_INFINITY;
  for (const arrival of arrivals) {
    from = Math.min(from, arrival.time);
    to = Math.max(to, arrival.time);
    for (const range of partnerRanges(spec, arrival.side, arrival.time, Number.NEGATIVE_INFINITY)) {
      from = Math.min(from, range.from);
      to = Math.max(to, range.to);
    }
  }
  return { from: Math.floor(from), to: Math.ceil(to) };
}

export function bufferIdentity(record: Pick<BufferedRecord, 'side' | 'time' | 'id'>): string {
  return `${record.side}\u0000${record.time}\u0000${record.id}`;
}

/**
 * Whether two records have one identity in a key's buffer: what equal {@link bufferIdentity} strings
 * say, compared field by field, so that the per-record path builds and hashes no string (a time is
 * a finite number, whose string names it alone; 0 and -0 print alike and compare equal).
 */
export function sameIdentity(
  a: Pick<BufferedRecord, 'side' | 'time' | 'id'>,
  b: Pick<BufferedRecord, 'side' | 'time' | 'id'>,
): boolean {
  return a.time === b.time && a.id === b.id && a.side === b.side;
}

/** Where a record with `record`'s identity is in `records`, or -1. */
export function indexOfIdentity(
  records: readonly Pick<BufferedRecord, 'side' | 'time' | 'id'>[],
  record: Pick<BufferedRecord, 'side' | 'time' | 'id'>,
): number {
  for (let index = 0; index < records.length; index += 1) {
    if (sameIdentity(records[index] as BufferedRecord, record)) return index;
  }
  return -1;
}

/**
 * One key's arrivals, in arrival order, against its buffer: each arrival that is new and not late
 * joins the buffered records of the other side in its range (and the arrivals before it in the
 * batch), and is buffered itself. Pairs are emitted as soon as both records are there, as Flink's
 * interval join does; the result set is the same as a join over the whole input.
 *
 * An arrival the buffer already holds was, unless its source repeated it, written by an attempt of
 * this batch that crashed among its buffer writes (the outputs go out before them, so its pairs are
 * out): it emits nothing, but marks again the partners it joins, as the crashed attempt may not have
 * written their marks. Only records of an outer side are marked: nothing reads an inner side's flag. Marks only ever name a real pair, so a replay against any part of the crashed
 * attempt's writes ends with the same flags as a run without the crash.
 */
export function joinKeyBatch(
  spec: JoinSpec,
  key: string,
  buffered: readonly BufferedRecord[],
  arrivals: readonly JoinArrival[],
): KeyJoinOutcome {
  // The key's buffer as an array in first-seen order, each slot's place in `changed` beside it: a
  // key holds few records, and a scan of them (partnersIn scans them all anyway) costs less than an
  // identity string built and hashed per record.
  const buffer = buffered.slice();
  const changedAt: number[] = new Array<number>(buffer.length).fill(-1);
  const changed: BufferedRecord[] = [];
  const outputs: JoinOutput[] = [];
  const late: JoinArrival[] = [];
  let duplicates = 0;
  const outer = outerSides(spec.type);
  const store = (slot: number, record: BufferedRecord) => {
    buffer[slot] = record;
    const at = changedAt[slot] as number;
    if (at >= 0) changed[at] = record;
    else changedAt[slot] = changed.push(record) - 1;
  };
  // Only an outer side's flag is ever read: marking an inner side's record would be a write for nothing.
  const mark = (slot: number, record: BufferedRecord): BufferedRecord => {
    if (record.matched || !outer.has(record.side)) return record;
    const joined = { ...record, matched: true };
    store(slot, joined);
    return joined;
  };
  for (const arrival of arrivals) {
    const heldAt = indexOfIdentity(buffer, arrival);
    const ranges = partnerRanges(spec, arrival.side, arrival.time, arrival.watermark);
    if (heldAt >= 0) {
      duplicates += 1;
      const partners = partnersIn(buffer, other(arrival.side), ranges);
      for (const { slot, partner } of partners) mark(slot, partner);
      if (partners.length > 0) mark(heldAt, buffer[heldAt] as BufferedRecord);
      continue;
    }
    if (ranges.length === 0) {
      late.push(arrival);
      continue;
    }
    const record: BufferedRecord = {
      key,
      side: arrival.side,
      time: arrival.time,
      id: arrival.id,
      value: arrival.value,
      matched: false,
    };
    const partners = partnersIn(buffer, other(arrival.side), ranges);
    for (const { slot, partner, window } of partners) {
      const [left, right] = arrival.side === 'left' ? [record, partner] : [partner, record];
      outputs.push(window === undefined ? { left, right } : { left, right, window });
      mark(slot, partner);
    }
    const stored = partners.length > 0 ? { ...record, matched: true } : record;
    changedAt.push(-1);
    store(buffer.push(stored) - 1, stored);
  }
  return { outputs, late, duplicates, changed };
}

/** The buffered records of `side` in each range, once per range (window joins: per shared window). */
function partnersIn(
  buffer: readonly BufferedRecord[],
  side: JoinSide,
  ranges: readonly PartnerRange[],
): { slot: number; partner: BufferedRecord; window?: PartnerRange['window'] }[] {
  const found: { slot: number; partner: BufferedRecord; window?: PartnerRange['window'] }[] = [];
  for (const range of ranges) {
    for (let slot = 0; slot < buffer.length; slot += 1) {
      const partner = buffer[slot] as BufferedRecord;
      if (partner.side !== side || partner.time < range.from || partner.time > range.to) continue;
      found.push(range.window === undefined ? { slot, partner } : { slot, partner, window: range.window });
    }
  }
  return found;
}

/**
 * Whether an arrival needs no buffered record of a side below that side's floor: its own identity
 * (the duplicate check) is above its side's floor, and every time its partners may have is above the
 * other side's. A cache of a key's buffer that dropped records up to the floors then answers for it
 * exactly what a Query of the whole range would (join-buffer-cache.ts).
 */
export function arrivalAboveFloors(spec: JoinSpec, arrival: JoinArrival, floors: Readonly<Record<JoinSide, number>>) {
  if (!(arrival.time > floors[arrival.side])) return false;
  const floor = floors[other(arrival.side)];
  return partnerRanges(spec, arrival.side, arrival.time, arrival.watermark).every((range) => range.from > floor);
}

/** The deterministic identity of an output: a sink can drop a repeat by it. */
export function joinOutputId(stageId: string, output: JoinOutput): string {
  const window = output.window === undefined ? '' : `/${output.window.start}`;
  return `${stageId}/${output.left?.id ?? ''}|${output.right?.id ?? ''}${window}`;
}
