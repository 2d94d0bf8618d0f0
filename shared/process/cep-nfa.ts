/**
 * The matcher of a CEP pattern, pure: one key's matcher state in, that key's events in event-time
 * order in, the new state, the matches and the timed-out partial matches out.
 *
 * Semantics (docs/cep.md), those of Flink CEP's NFA (NFACompiler, NFA.computeNextStates):
 * - A partial match is a run of events, each taken by a stage: stage by stage in order, `times`
 *   events per stage, an optional stage taken fully or not at all. Every event that satisfies the
 *   first stage starts a partial match of its own.
 * - The stages a partial match may take next are its "edges": the same stage while the stage has
 *   taken fewer than `times` events (contiguity: the stage's inner one), else the next stage, and
 *   past it while it is optional (Flink's PROCEED edges), each with its own contiguity.
 * - Right after taking an event, a partial match is "fresh". The next event splits it into one branch
 *   per edge, each of which waits for its own stage only: it takes the event when the event satisfies
 *   the stage; else, relaxed, it skips the event and waits (skip till next match), and strict, it ends.
 *   A waiting branch takes the first later event that satisfies its stage and skips the others. So an
 *   optional stage that took one of its `times` events does not stop a branch that left it out.
 * - `within`: a partial match whose first event is `within` or more before the current time (an
 *   event's time, then the watermark) times out: it goes to the timed-out output with what it matched,
 *   once per partial match (Flink reports it once per waiting branch).
 * - Skip past last event: the match emitted is the one that starts first, then ends first, then came
 *   first out of the NFA (where two runs of one start part, the one that took or waits for the earlier
 *   stage: the order of Flink's edges, which its priority queue keeps for equal starts). It is emitted
 *   once no partial match that started before it is running (one could still end as an earlier match),
 *   and then every partial match or held match that started at or before its last event is dropped.
 */
import type { PatternStage } from './cep-pattern.js';

/** An event of the key, ready to be matched: `m` has bit i set when stage i's predicate holds. */
export interface MaskedEvent {
  readonly t: number;
  readonly v: unknown;
  readonly m: number;
}

/** A partial (or, held, complete) match: the sequence numbers of its events and the stage of each. */
interface PartialMatch {
  /** The sequence number of its first event. */
  readonly s: number;
  /** The event time of its first event. */
  readonly st: number;
  /** The stage of its last event, and how many events that stage has taken. */
  readonly g: number;
  readonly c: number;
  /** The stage this branch waits for, or {@link FRESH} right after taking an event (it waits for all its edges). */
  readonly w: number;
  /** [sequence number, stage] per event. */
  readonly e: readonly (readonly [number, number])[];
}

/** A partial match that has just taken an event: the next event splits it into a branch per edge. */
const FRESH = -1;

/** One key's matcher, stored as JSON in its state item. */
export interface MatcherState {
  /** The next event's sequence number: events are numbered in the order they are matched. */
  readonly n: number;
  /** The events that running or held matches refer to, by sequence number. */
  readonly ev: Readonly<Record<string, { readonly t: number; readonly v: unknown }>>;
  /** Running partial matches (branches), in the order Flink's NFA creates them. */
  readonly p: readonly PartialMatch[];
  /** Complete matches waiting for an earlier-started partial match to end, in the order they completed. */
  readonly h: readonly PartialMatch[];
}

export const emptyMatcher = (): MatcherState => ({ n: 0, ev: {}, p: [], h: [] });

/** A match or a timed-out partial match: the events taken by each stage, in event-time order. */
export type MatchedEvents = Record<string, unknown[]>;

export interface MatcherStep {
  readonly state: MatcherState;
  readonly matches: MatchedEvents[];
  readonly timedOut: MatchedEvents[];
}

/** Whether the matcher holds nothing: no running or held match. */
export const isIdle = (state: MatcherState): boolean => state.p.length === 0 && state.h.length === 0;

/** The earliest time at which a running partial match times out, if any runs. */
export function nextTimeout(state: MatcherState, within: number): number | undefined {
  if (state.p.length === 0) return undefined;
  return Math.min(...state.p.map((p) => p.st)) + within;
}

/**
 * Matches `events` (in event-time order, all after every event matched before) and then lets time
 * pass up to `until`: partial matches whose first event is `within` or more before it time out.
 */
export function advance(
  stages: readonly PatternStage<never>[],
  within: number,
  stored: MatcherState,
  events: readonly MaskedEvent[],
  until: number,
): MatcherStep {
  const last = stages.length - 1;
  const lastTimes = (stages[last] as PatternStage<never>).times;
  const ev: Record<string, { t: number; v: unknown }> = { ...stored.ev };
  let n = stored.n;
  let partials: PartialMatch[] = [...stored.p];
  let held: PartialMatch[] = [...stored.h];
  const matches: MatchedEvents[] = [];
  const timedOut: MatchedEvents[] = [];
  const complete = (p: PartialMatch) => p.g === last && p.c === lastTimes;

  const materialize = (p: PartialMatch): MatchedEvents => {
    const out: MatchedEvents = {};
    for (const [seq, stage] of p.e) {
      const name = (stages[stage] as PatternStage<never>).name;
      out[name] = [...(out[name] ?? []), ev[seq]?.v];
    }
    return out;
  };

  /** Emits held matches that nothing earlier can beat, dropping what each overlaps; `expired` too. */
  const resolve = (expired: PartialMatch[]): PartialMatch[] => {
    let remaining = expired;
    for (;;) {
      // Ties keep the held order: the order in which the NFA completed them.
      const first = held.reduce<PartialMatch | undefined>(
        (best, h) =>
          best === undefined || h.s < best.s || (h.s === best.s && lastSequence(h) < lastSequence(best)) ? h : best,
        undefined,
      );
      // Flink's rule: a match waits while a run that started before it goes on: that run could still
      // end as an earlier-starting match (a branch waiting for an optional stage before a strict one).
      if (first === undefined || partials.some((p) => p.s < first.s)) return remaining;
      const end = lastSequence(first);
      matches.push(materialize(first));
      const overlaps = (p: PartialMatch) => p.s >= first.s && p.s <= end;
      held = held.filter((h) => h !== first && !overlaps(h));
      partials = partials.filter((p) => !overlaps(p));
      remaining = remaining.filter((p) => !overlaps(p));
    }
  };

  const timeOut = (now: number) => {
    const expired = partials.filter((p) => now - p.st >= within);
    if (expired.length === 0) return;
    partials = partials.filter((p) => now - p.st < within);
    // Branches of one partial match hold the same events: report the partial match once.
    const reported = new Set<string>();
    for (const p of resolve(expired)) {
      const events = JSON.stringify(p.e);
      if (reported.has(events)) continue;
      reported.add(events);
      timedOut.push(materialize(p));
    }
  };

  for (const event of events) {
    timeOut(event.t);
    const seq = n++;
    ev[seq] = { t: event.t, v: event.v };
    const next: PartialMatch[] = [];
    const place = (p: PartialMatch) => (complete(p) ? held.push(p) : next.push(p));
    const holds = (stage: number) => (event.m & (1 << stage)) !== 0;
    const take = (p: PartialMatch, stage: number): PartialMatch => ({
      s: p.s,
      st: p.st,
      g: stage,
      c: stage === p.g ? p.c + 1 : 1,
      w: FRESH,
      e: [...p.e, [seq, stage]],
    });
    for (const p of partials) {
      if (p.w !== FRESH) {
        // A waiting branch is relaxed by construction: it takes the event or skips it.
        if (holds(p.w)) place(take(p, p.w));
        else next.push(p);
        continue;
      }
      // The event right after the last one taken: strict edges may take it too. One branch per edge, in
      // edge order (Flink's decision graph: the stage's own edges, then those reached through PROCEED).
      for (const edge of edgesOf(stages, p.g, p.c)) {
        if (holds(edge.stage)) place(take(p, edge.stage));
        else if (!edge.strict) next.push({ ...p, w: edge.stage });
      }
    }
    if (holds(0)) place({ s: seq, st: event.t, g: 0, c: 1, w: FRESH, e: [[seq, 0]] });
    partials = next;
    resolve([]);
  }
  timeOut(until);

  // Keep only the events that a running or held match still refers to: state stays bounded by `within`.
  const referenced = new Set([...partials, ...held].flatMap((p) => p.e.map(([seq]) => String(seq))));
  for (const seq of Object.keys(ev)) if (!referenced.has(seq)) delete ev[seq];
  return { state: { n, ev, p: partials, h: held }, matches, timedOut };
}

/** The stages a partial match at `stage` with `count` events there may take next, with their contiguity. */
export function edgesOf(
  stages: readonly PatternStage<never>[],
  stage: number,
  count: number,
): { stage: number; strict: boolean }[] {
  const current = stages[stage] as PatternStage<never>;
  if (count < current.times) return [{ stage, strict: current.inner === 'strict' }];
  const edges: { stage: number; strict: boolean }[] = [];
  for (let next = stage + 1; next < stages.length; next++) {
    const candidate = stages[next] as PatternStage<never>;
    edges.push({ stage: next, strict: candidate.contiguity === 'strict' });
    if (!candidate.optional) break;
  }
  return edges;
}

const lastSequence = (p: PartialMatch): number => (p.e.at(-1) as readonly [number, number])[0];
