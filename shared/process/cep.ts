/**
 * A CEP pattern as a keyed process function: the events of a key are buffered in its state until the
 * watermark passes them (as Flink CEP does in event time), then matched in event-time order by the
 * matcher of shared/process/cep-nfa.ts, whose state is kept in the same item. So the operator has the
 * process runtime's exactly-once fences, item size limit and timers, and nothing of its own to store.
 */
import { parseTimeSpan } from '../windows/event-time.js';
import type { Duration } from '../windows/types.js';
import { advance, emptyMatcher, isIdle, type MaskedEvent, type MatcherState, nextTimeout } from './cep-nfa.js';
import { checkPattern, type Pattern, type PatternStage } from './cep-pattern.js';
import { type ProcessFunction, state } from './keyed-process.js';

/** A match of a pattern: the key and the events each stage took, in event-time order. */
export interface PatternMatch<T> {
  readonly key: string;
  readonly events: Readonly<Record<string, T[]>>;
}

/** The side outputs of a pattern operator. */
export const PatternOutputs = {
  /** Partial matches that timed out (`within`), with what they matched: `{ key, events }`. */
  timedOut: 'timed-out',
  /** Records at or behind the watermark when they arrived: the events before them were matched already. */
  late: 'late',
} as const;

const patternState = { pending: state.list<MaskedEvent>(), matcher: state.value<MatcherState>() };

/**
 * The process function of `keyBy(...).pattern(pattern, { within })`: per record, the stages'
 * predicates are evaluated (a predicate that throws dead-letters the record) and the record is
 * buffered with an event-time timer at its time; each timer matches the buffered events up to its
 * time, in event-time order, ties by the records' JSON with members sorted (so a replay matches in the
 * same order, whatever order DynamoDB gives a stored map's members), and
 * lets the partial matches that have run for `within` time out.
 */
export function patternFunction<T>(
  pattern: Pattern<T>,
  within: Duration,
): { fn: ProcessFunction<T, PatternMatch<T>, typeof patternState>; state: typeof patternState } {
  const stages = checkPattern(pattern);
  const span = parseTimeSpan(within, 'pattern: within');
  if (span < 1) throw new Error('pattern: within must be at least 1 ms');
  return {
    state: patternState,
    fn: {
      processElement(value, context) {
        if (context.timestamp <= context.timers.currentWatermark()) {
          context.output(PatternOutputs.late, value);
          return;
        }
        context.state.pending.add({ t: context.timestamp, v: value, m: maskOf(stages, value) });
        context.timers.registerEventTimeTimer(context.timestamp);
      },
      onTimer(time, context) {
        const pending = context.state.pending.get();
        const due = pending.filter((e) => e.t <= time);
        const stored = context.state.matcher.value() ?? emptyMatcher();
        const step = advance(stages as readonly PatternStage<never>[], span, stored, inEventTimeOrder(due), time);
        context.state.pending.update(pending.filter((e) => e.t > time));
        if (isIdle(step.state)) context.state.matcher.clear();
        else context.state.matcher.update(step.state);
        const timeout = nextTimeout(step.state, span);
        if (timeout !== undefined) context.timers.registerEventTimeTimer(timeout);
        for (const events of step.matches) context.emit({ key: context.key, events: events as Record<string, T[]> });
        for (const events of step.timedOut) context.output(PatternOutputs.timedOut, { key: context.key, events });
      },
    },
  };
}

/** Bit i set when stage i's predicate holds for the value; a predicate that is not a boolean is an error. */
function maskOf<T>(stages: readonly PatternStage<T>[], value: T): number {
  let mask = 0;
  stages.forEach((stage, index) => {
    const holds = stage.predicate(value);
    if (typeof holds !== 'boolean') {
      throw new Error(`pattern: the predicate of stage '${stage.name}' returned ${String(holds)}, not a boolean`);
    }
    if (holds) mask |= 1 << index;
  });
  return mask;
}

/** By event time, ties by the record's JSON (members sorted): an order that does not depend on arrival. */
export function inEventTimeOrder(events: readonly MaskedEvent[]): MaskedEvent[] {
  return events
    .map((event) => ({ event, json: canonicalJson(event.v) }))
    .sort((a, b) => a.event.t - b.event.t || (a.json < b.json ? -1 : a.json > b.json ? 1 : 0))
    .map(({ event }) => event);
}

/** JSON with each object's members sorted by name: DynamoDB does not keep the order of a map's members. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_name, member: unknown) =>
    member !== null && typeof member === 'object' && !Array.isArray(member)
      ? Object.fromEntries(Object.entries(member).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : member,
  );
}
