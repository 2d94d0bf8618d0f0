/**
 * A brute-force CEP matcher, independent of shared/process/cep-nfa.ts: it enumerates every
 * subsequence of a key's events (in event-time order) with every way the pattern's stages can label
 * it, keeps those docs/cep.md allows (Flink CEP's definition, restated below from Flink's NFA, not from
 * Eddy's matcher), and picks the matches skip-past-last-event allows. Slow on
 * purpose; for a handful of events per key.
 */
import type { Pattern } from '../../shared/index.js';

interface Stage {
  readonly name: string;
  readonly predicate: (value: never) => boolean;
  readonly contiguity: 'strict' | 'relaxed';
  readonly times: number;
  readonly inner: 'strict' | 'relaxed';
  readonly optional: boolean;
}

export interface ReferenceEvent {
  readonly t: number;
  readonly v: unknown;
}

export interface ReferenceResult {
  /** Each as JSON of `{ stage: [values] }`. */
  readonly matches: string[];
  readonly timedOut: string[];
}

/** A labelled run: event indexes and the stage of each. */
interface Labelled {
  readonly at: number[];
  readonly stage: number[];
}

/** The events of one key, sorted by time then JSON with sorted members (the documented order), matched by brute force. */
export function referenceMatch(
  pattern: Pattern<never>,
  within: number,
  unsorted: readonly ReferenceEvent[],
): ReferenceResult {
  const stages = pattern.stages as unknown as readonly Stage[];
  const events = [...unsorted].sort((a, b) => a.t - b.t || compareStrings(sortedJson(a.v), sortedJson(b.v)));
  const holds = (stage: number, index: number) =>
    (stages[stage] as Stage).predicate((events[index] as ReferenceEvent).v as never) === true;

  // The stage labels of every whole match: each optional stage in or out, `times` slots per stage.
  const shapes: number[][] = [];
  const optionals = stages.map((s, i) => (s.optional ? i : -1)).filter((i) => i >= 0);
  for (let subset = 0; subset < 1 << optionals.length; subset++) {
    const shape: number[] = [];
    stages.forEach((stage, i) => {
      const index = optionals.indexOf(i);
      if (index >= 0 && (subset & (1 << index)) === 0) return;
      for (let k = 0; k < stage.times; k++) shape.push(i);
    });
    shapes.push(shape);
  }
  // Every labelling that is a prefix of a shape, once.
  const prefixes = new Map<string, number[]>();
  for (const shape of shapes) {
    for (let length = 1; length <= shape.length; length++)
      prefixes.set(shape.slice(0, length).join(','), shape.slice(0, length));
  }
  const last = stages.length - 1;
  const isWhole = (labels: number[]) =>
    labels.at(-1) === last && labels.filter((l) => l === last).length === (stages[last] as Stage).times;

  /**
   * The relaxed stages a run labelled `labels` may take next: the same stage while it has fewer than
   * `times` events, else the next stages up to and including the first that is not optional.
   */
  const relaxedNext = (labels: number[]): number[] => {
    const stage = labels.at(-1) as number;
    const count = labels.filter((l) => l === stage).length;
    const current = stages[stage] as Stage;
    if (count < current.times) return current.inner === 'relaxed' ? [stage] : [];
    const out: number[] = [];
    for (let next = stage + 1; next < stages.length; next++) {
      if ((stages[next] as Stage).contiguity === 'relaxed') out.push(next);
      if (!(stages[next] as Stage).optional) break;
    }
    return out;
  };
  const contiguityOf = (labels: number[], j: number): 'strict' | 'relaxed' => {
    const stage = stages[labels[j] as number] as Stage;
    return labels[j - 1] === labels[j] ? stage.inner : stage.contiguity;
  };
  /**
   * Whether `at` labelled `labels` is a run Flink's NFA builds: predicates, within, and contiguity
   * per event taken. After an event, the run waits for each stage it may take next on a branch of its
   * own; a branch takes the first later event that satisfies its own stage (skip till next), or only
   * the very next event when the stage is strict. So an event taken by stage s comes right after the
   * previous one, or (s relaxed) after events none of which satisfies s.
   */
  const valid = (at: number[], labels: number[]): boolean => {
    if (!at.every((index, j) => holds(labels[j] as number, index))) return false;
    if ((events[at.at(-1) as number] as ReferenceEvent).t - (events[at[0] as number] as ReferenceEvent).t >= within)
      return false;
    for (let j = 1; j < at.length; j++) {
      const from = at[j - 1] as number;
      const to = at[j] as number;
      if (to === from + 1) continue;
      if (contiguityOf(labels, j) === 'strict') return false;
      for (let between = from + 1; between < to; between++) {
        if (holds(labels[j] as number, between)) return false;
      }
    }
    return true;
  };

  const runs: Labelled[] = [];
  for (const labels of prefixes.values()) {
    for (const at of increasingTuples(events.length, labels.length)) {
      if (valid(at, labels)) runs.push({ at, stage: labels });
    }
  }

  // Skip past last event: repeatedly the whole match that starts first, then ends first, then comes first.
  const wholes = runs.filter((r) => isWhole(r.stage)).sort(compareRuns);
  const emitted: Labelled[] = [];
  let from = 0;
  for (const run of wholes) {
    if ((run.at[0] as number) < from) continue;
    emitted.push(run);
    from = (run.at.at(-1) as number) + 1;
  }

  // A partial match times out when one of its branches outlives `within`: no event came after its last
  // one before the deadline (it still waits for all its next stages), or some relaxed next stage is
  // satisfied by none of those events (that branch still waits); and no emitted match covers its start.
  // Reported once per partial match, however many branches wait.
  const timedOut = runs.filter((run) => {
    if (isWhole(run.stage)) return false;
    const start = run.at[0] as number;
    if (emitted.some((m) => (m.at[0] as number) <= start && start <= (m.at.at(-1) as number))) return false;
    const deadline = (events[start] as ReferenceEvent).t + within;
    const later: number[] = [];
    for (let i = (run.at.at(-1) as number) + 1; i < events.length; i++) {
      if ((events[i] as ReferenceEvent).t >= deadline) break;
      later.push(i);
    }
    return later.length === 0 || relaxedNext(run.stage).some((stage) => later.every((i) => !holds(stage, i)));
  });

  const show = (run: Labelled) => {
    const out: Record<string, unknown[]> = {};
    run.at.forEach((index, j) => {
      const name = (stages[run.stage[j] as number] as Stage).name;
      out[name] = [...(out[name] ?? []), (events[index] as ReferenceEvent).v];
    });
    return JSON.stringify(out);
  };
  return { matches: emitted.map(show).sort(), timedOut: timedOut.map(show).sort() };
}

/** {@link referenceMatch} per key: each result as `<key>|<JSON of the events by stage>`, sorted. */
export function referenceMatchByKey<T>(
  pattern: Pattern<T>,
  within: number,
  events: readonly T[],
  keyOf: (event: T) => string,
  timeOf: (event: T) => number,
): ReferenceResult {
  const byKey = new Map<string, ReferenceEvent[]>();
  for (const v of events) byKey.set(keyOf(v), [...(byKey.get(keyOf(v)) ?? []), { t: timeOf(v), v }]);
  const matches: string[] = [];
  const timedOut: string[] = [];
  for (const [key, keyed] of byKey) {
    const result = referenceMatch(pattern as unknown as Pattern<never>, within, keyed);
    matches.push(...result.matches.map((m) => `${key}|${m}`));
    timedOut.push(...result.timedOut.map((m) => `${key}|${m}`));
  }
  return { matches: matches.sort(), timedOut: timedOut.sort() };
}

/**
 * Earlier start, then earlier end, then Flink's order among the runs of one start: where two runs part,
 * the one that took, or waits for, the earlier stage first (the order of the NFA's edges).
 */
function compareRuns(a: Labelled, b: Labelled): number {
  const start = (a.at[0] as number) - (b.at[0] as number);
  if (start !== 0) return start;
  const end = (a.at.at(-1) as number) - (b.at.at(-1) as number);
  if (end !== 0) return end;
  for (let j = 0; j < Math.min(a.at.length, b.at.length); j++) {
    if (a.at[j] !== b.at[j] || a.stage[j] !== b.stage[j]) {
      return (a.stage[j] as number) - (b.stage[j] as number) || (a.at[j] as number) - (b.at[j] as number);
    }
  }
  return a.at.length - b.at.length;
}

/** JSON text with every object's members in name order. */
function sortedJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(sortedJson).join(',')}]`;
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  const names = Object.keys(value).sort(compareStrings);
  return `{${names.map((n) => `${JSON.stringify(n)}:${sortedJson((value as Record<string, unknown>)[n])}`).join(',')}}`;
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Every strictly increasing tuple of `length` indexes below `n`. */
function* increasingTuples(n: number, length: number, from = 0, prefix: number[] = []): Generator<number[]> {
  if (prefix.length === length) {
    yield prefix;
    return;
  }
  for (let i = from; i <= n - (length - prefix.length); i++) yield* increasingTuples(n, length, i + 1, [...prefix, i]);
}
