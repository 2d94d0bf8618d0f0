/**
 * Library operators written as keyed process functions: what a user could write with `process`, kept
 * here so that they are written once and tested against references of their own.
 */
import { parseTimeSpan } from '../windows/event-time.js';
import type { Duration } from '../windows/types.js';
import { type ProcessFunction, state } from './keyed-process.js';

const dedupeState = { seen: state.map<number>() };

/**
 * Keeps the first record of each identity per key; repeats whose event time is within `within` of
 * the first are dropped. Each identity is remembered until the watermark passes its first time plus
 * `within` (an event-time timer), so state stays bounded by the identities of the last `within`.
 * A repeat that arrives after that is a new first.
 */
export function dedupeFunction<T>(
  identity: (value: T) => string | number,
  within: Duration,
): { fn: ProcessFunction<T, T, typeof dedupeState>; state: typeof dedupeState } {
  const span = parseTimeSpan(within, 'dedupe: within');
  return {
    state: dedupeState,
    fn: {
      processElement(value, context) {
        const id = String(identity(value));
        const seen = context.state.seen.get(id);
        if (seen !== undefined) return;
        context.state.seen.put(id, context.timestamp);
        context.timers.registerEventTimeTimer(context.timestamp + span);
        context.emit(value);
      },
      onTimer(time, context) {
        for (const [id, first] of context.state.seen.entries()) {
          if (first + span <= time) context.state.seen.remove(id);
        }
      },
    },
  };
}

/** One result of `topN`: a key's `n` records ranking highest in a window, best first. */
export interface TopNResult<T> {
  readonly key: string;
  readonly windowStart: number;
  readonly windowEnd: number;
  readonly top: T[];
}

const topNState = { windows: state.map<{ v: unknown; s: number; t: number }[]>() };

/**
 * Per key and tumbling event-time window of `size`, the `n` records with the highest `by`, emitted
 * once when the watermark passes the window's end. Ties go to the earlier event time, then to the
 * earlier arrival. Only the current top `n` are kept per window, so state stays bounded by `n`.
 * Records whose window has already fired go to the side output `late`.
 */
export function topNFunction<T>(
  n: number,
  by: (value: T) => number,
  size: Duration,
): { fn: ProcessFunction<T, TopNResult<T>, typeof topNState>; state: typeof topNState } {
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`topN: n must be a positive integer, got ${n}`);
  const span = parseTimeSpan(size, 'topN: window');
  if (span < 1) throw new Error('topN: window must be at least 1 ms');
  return {
    state: topNState,
    fn: {
      processElement(value, context) {
        const start = Math.floor(context.timestamp / span) * span;
        const end = start + span;
        // The window fired already: the watermark is past its end.
        if (end - 1 <= context.timers.currentWatermark()) {
          context.output('late', value);
          return;
        }
        const score = by(value);
        if (typeof score !== 'number' || Number.isNaN(score))
          throw new Error(`topN: by() gave ${String(score)}, not a number`);
        const kept = [
          ...(context.state.windows.get(String(start)) ?? []),
          { v: value, s: score, t: context.timestamp },
        ];
        kept.sort((a, b) => b.s - a.s || a.t - b.t);
        context.state.windows.put(String(start), kept.slice(0, n));
        context.timers.registerEventTimeTimer(end - 1);
      },
      onTimer(time, context) {
        const start = time + 1 - span;
        const kept = context.state.windows.get(String(start));
        if (kept === undefined) return;
        context.state.windows.remove(String(start));
        context.emit({ key: context.key, windowStart: start, windowEnd: start + span, top: kept.map((k) => k.v as T) });
      },
    },
  };
}
