import { PipelineDefinitionError } from '../dag/errors.js';
import { describeValue, parseDuration } from './duration.js';
import { MAX_EVENT_TIME, MAX_TIME_SPAN } from './event-time.js';
import type { Duration, TimeDomain, WindowAssigner } from './types.js';

/** A window's bounds: [start, end), epoch milliseconds. */
export interface TimeWindow {
  readonly start: number;
  readonly end: number;
}

export type TumblingAssigner = Extract<WindowAssigner, { kind: 'tumbling' }>;
export type HoppingAssigner = Extract<WindowAssigner, { kind: 'hopping' }>;
export type SessionAssigner = Extract<WindowAssigner, { kind: 'session' }>;

/**
 * The largest window size, slide or gap: {@link MAX_TIME_SPAN}, 2^50 ms (about 35,000 years). With
 * event times bounded by {@link MAX_EVENT_TIME}, window bounds then stay within the ±2^52 the state
 * store's keys encode (event-time.ts).
 */
export const MAX_WINDOW_SIZE = MAX_TIME_SPAN;

/** The most hopping windows a record may belong to (size / slide, rounded up). */
export const MAX_WINDOWS_PER_RECORD = 1000;

/** The largest event time magnitude (event-time.ts): re-exported where windows were first defined. */
export { MAX_EVENT_TIME };

/**
 * Fixed-size, non-overlapping windows aligned to the epoch: `tumbling('1m')` cuts time into
 * [00:00, 00:01), [00:01, 00:02), ... (UTC), so every key and every stage agree on the windows.
 *
 * @throws {PipelineDefinitionError} when `size` is not a positive whole number of milliseconds.
 */
export function tumbling(size: Duration): TumblingAssigner {
  return { kind: 'tumbling', size: windowLength(size, 'tumbling window size'), timeDomain: 'event' };
}

/**
 * Windows of `size` starting every `slide` (Flink's sliding windows, Kafka Streams' hopping windows),
 * aligned to the epoch: a record belongs to every window that contains it, about `size / slide` of them.
 * `size` need not be a multiple of `slide`.
 *
 * @throws {PipelineDefinitionError} when a length is not a positive whole number of milliseconds, or
 *   `slide` exceeds `size` (records between windows would belong to none).
 */
export function hopping(size: Duration, slide: Duration): HoppingAssigner {
  return hoppingIn('event', size, slide);
}

/**
 * Per-key windows of activity: a record at t opens [t, t + gap), and windows of one key that overlap
 * merge, so a session ends `gap` after its last record. Records exactly `gap` apart are in different
 * sessions (the windows are half-open); Flink and Kafka Streams would join them.
 *
 * @throws {PipelineDefinitionError} when `gap` is not a positive whole number of milliseconds.
 */
export function session(gap: Duration): SessionAssigner {
  return { kind: 'session', gap: windowLength(gap, 'session window gap'), timeDomain: 'event' };
}

/** {@link tumbling} by the time records are processed rather than their event time: no waiting, no lateness. */
export function tumblingProcessingTime(size: Duration): TumblingAssigner {
  return { ...tumbling(size), timeDomain: 'processing' };
}

/** {@link hopping} by the time records are processed rather than their event time. */
export function hoppingProcessingTime(size: Duration, slide: Duration): HoppingAssigner {
  return hoppingIn('processing', size, slide);
}

/** {@link session} by the time records are processed rather than their event time. */
export function sessionProcessingTime(gap: Duration): SessionAssigner {
  return { ...session(gap), timeDomain: 'processing' };
}

/**
 * Checks an assigner that was not made by the factories (built by hand, or read back from JSON) with
 * the factories' rules, and returns it.
 *
 * @throws {PipelineDefinitionError} naming the bad field.
 */
export function validateAssigner(assigner: WindowAssigner): WindowAssigner {
  const domain: unknown = assigner.timeDomain;
  if (domain !== 'event' && domain !== 'processing') {
    throw new PipelineDefinitionError(`window timeDomain ${describeValue(domain)} must be 'event' or 'processing'`);
  }
  switch (assigner.kind) {
    case 'tumbling':
      tumbling(assigner.size);
      return assigner;
    case 'hopping':
      hopping(assigner.size, assigner.slide);
      return assigner;
    case 'session':
      session(assigner.gap);
      return assigner;
    default:
      throw new PipelineDefinitionError(
        `window kind ${describeValue((assigner as { kind: unknown }).kind)} must be 'tumbling', 'hopping' or 'session'`,
      );
  }
}

/**
 * The windows a record at time `t` belongs to, in start order, half-open: `start <= t < end`.
 * Tumbling and hopping windows start at multiples of their slide (of their size for tumbling),
 * counted from the epoch, negative times included. A session record's window is [t, t + gap): the
 * window operator merges it with the key's overlapping sessions.
 */
export function assignWindows(assigner: WindowAssigner, t: number): TimeWindow[] {
  switch (assigner.kind) {
    case 'tumbling':
      return slidingWindows(t, assigner.size, assigner.size);
    case 'hopping':
      return slidingWindows(t, assigner.size, assigner.slide);
    case 'session':
      return [{ start: t, end: t + assigner.gap }];
  }
}

/**
 * For tumbling windows, and hopping windows whose size is a multiple of their slide, the start of the
 * last window that holds `t`: two times with the same one belong to the same windows, so a caller can
 * reuse what it computed for the first. Undefined where the windows depend on the time itself:
 * sessions, and hopping windows of another size (how many hold `t` depends on where it falls).
 */
export function lastWindowStart(assigner: WindowAssigner, t: number): number | undefined {
  switch (assigner.kind) {
    case 'tumbling':
      return floorToMultiple(t, assigner.size);
    case 'hopping':
      return assigner.size % assigner.slide === 0 ? floorToMultiple(t, assigner.slide) : undefined;
    case 'session':
      return undefined;
  }
}

function floorToMultiple(t: number, slide: number): number {
  // Flink's `t - (t + slide) % slide` goes wrong for negative t (JavaScript's % keeps the sign): floor-mod.
  return t - (((t % slide) + slide) % slide);
}

function slidingWindows(t: number, size: number, slide: number): TimeWindow[] {
  const lastStart = floorToMultiple(t, slide);
  const windows: TimeWindow[] = [];
  for (let start = lastStart; start > t - size; start -= slide) windows.push({ start, end: start + size });
  return windows.reverse();
}

function hoppingIn(timeDomain: TimeDomain, size: Duration, slide: Duration): HoppingAssigner {
  const sizeMs = windowLength(size, 'hopping window size');
  const slideMs = windowLength(slide, 'hopping window slide');
  if (slideMs > sizeMs) {
    throw new PipelineDefinitionError(
      `hopping window slide ${describeValue(slide)} must not exceed its size ${describeValue(size)}: ` +
        'records between two windows would belong to none',
    );
  }
  if (Math.ceil(sizeMs / slideMs) > MAX_WINDOWS_PER_RECORD) {
    throw new PipelineDefinitionError(
      `hopping window size ${describeValue(size)} and slide ${describeValue(slide)} put each record in ` +
        `${Math.ceil(sizeMs / slideMs)} windows, more than ${MAX_WINDOWS_PER_RECORD}: every window of every key is ` +
        'a state item written per batch; use a larger slide',
    );
  }
  return { kind: 'hopping', size: sizeMs, slide: slideMs, timeDomain };
}

function windowLength(value: Duration, label: string): number {
  const ms = parseDuration(value, label);
  if (!Number.isSafeInteger(ms) || ms <= 0 || ms > MAX_WINDOW_SIZE) {
    throw new PipelineDefinitionError(
      `${label} ${describeValue(value)} must be a positive whole number of milliseconds, at most 2^50`,
    );
  }
  return ms;
}
