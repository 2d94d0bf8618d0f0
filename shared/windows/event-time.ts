/**
 * The one valid range of event times, shared by every operator that reads them: the source's
 * `eventTime` extraction, the window assigners and operator, the joins, and the state store's key
 * encoding. A time outside it is dead-lettered at the source, so no later operator meets one.
 *
 * The margins, stated once:
 * - event times are finite numbers in [-2^51, 2^51] ms (about 71,000 years either side of 1970);
 * - every length added to a time (window size, slide, session gap, a join's `within.before` and
 *   `within.after`) is at most {@link MAX_TIME_SPAN}, 2^50 ms, checked when the pipeline is defined;
 * - so every window bound and every join range a valid time produces lies within ±(2^51 + 2^50),
 *   inside the ±2^52 the store encodes in its sort keys ({@link STORE_TIME_BOUND});
 * - allowed lateness, which only moves a window's fire time (a DynamoDB number, not a key), is at
 *   most 2^50 too ({@link parseTimeSpan}): every fire time is then at most 2^52, below the end of
 *   time (8.64e15) that closes a bounded input, so every window fires at its end.
 * JavaScript's Date reaches 8.64e15 (about 2^52.9): a Date past the range is refused too.
 */
import { PipelineDefinitionError } from '../dag/errors.js';
import { describeValue, parseDuration } from './duration.js';
import type { Duration } from './types.js';

/** The largest event-time magnitude: 2^51 ms (about 71,000 years from 1970). */
export const MAX_EVENT_TIME = 2 ** 51;

/** The largest length added to an event time: window size, slide, gap, a join's `within` bounds. 2^50 ms. */
export const MAX_TIME_SPAN = 2 ** 50;

/** The state store's sort keys encode times in [-2^52, 2^52) (shared/runtime/io/state-keys.ts, `encodeTime`). */
export const STORE_TIME_BOUND = 2 ** 52;

// The margin above, checked where it is defined: a change of one constant that breaks it fails at load.
if (MAX_EVENT_TIME + MAX_TIME_SPAN >= STORE_TIME_BOUND) {
  throw new Error('event-time range plus the largest time span must stay inside the store encoding');
}

/** The range, as error messages state it. */
export const EVENT_TIME_RANGE_TEXT = 'epoch milliseconds within ±2^51 (±2,251,799,813,685,248)';

/**
 * Why `value` is not a valid event time, or undefined when it is one. Numbers and Dates are taken
 * (the source floors a fraction of a millisecond, as Flink's timestamps are whole); anything else,
 * NaN, ±Infinity and times beyond ±2^51 are not.
 */
export function eventTimeProblem(value: unknown): string | undefined {
  const millis = value instanceof Date ? value.getTime() : value;
  if (typeof millis !== 'number') {
    return `${describeValue(value)} is not a number or a Date: an event time is ${EVENT_TIME_RANGE_TEXT}`;
  }
  if (!Number.isFinite(millis)) return `${millis} is not finite: an event time is ${EVENT_TIME_RANGE_TEXT}`;
  if (Math.abs(millis) > MAX_EVENT_TIME) return `${millis} is out of range: an event time is ${EVENT_TIME_RANGE_TEXT}`;
  return undefined;
}

/**
 * A duration added to event times (a join's `within` bounds, an allowed lateness), at most
 * {@link MAX_TIME_SPAN}: so bounds stay encodable, and every window's fire time, at most
 * 2^51 + 2^50 + 2^50 = 2^52, stays below the end of time (8.64e15) that ends a bounded input.
 *
 * @throws {PipelineDefinitionError} naming `label` and the value.
 */
export function parseTimeSpan(value: Duration, label: string): number {
  const ms = parseDuration(value, label);
  if (ms > MAX_TIME_SPAN) {
    throw new PipelineDefinitionError(`${label} ${describeValue(value)} is over the largest time span, 2^50 ms`);
  }
  return ms;
}

/** Whether `value` is a valid event time in milliseconds (see {@link eventTimeProblem}). */
export function isValidEventTime(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && Math.abs(value) <= MAX_EVENT_TIME;
}
