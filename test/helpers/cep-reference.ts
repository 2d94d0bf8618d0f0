/**
 * A brute-force CEP matcher, independent of shared/process/cep-nfa.ts: it enumerates every
 * subsequence of a key's events (in event-time order) with every way the pattern's stages can label
 * it, keeps those docs/cep.md allows, and picks the matches skip-past-last-event allows. Slow on
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

  /** The relaxed stages a run labelled `labels` may take next (from the definition, not the matcher). */
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
  /** Whether `at` labelled `labels` is a run the matcher allows: predicates, within, contiguity. */
  const valid = (at: number[], labels: number[]): boolean => {
    if (!at.every((index, j) => holds(labels[j] as number, index))) return false;
    if ((events[at.at(-1) as number] as ReferenceEvent).t - (events[at[0] as number] as ReferenceEvent).t >= within)
      return false;
    for (let j = 1; j < at.length; j++) {
      const from = at[j - 1] as number;
      const to = at[j] as number;
      if (contiguityOf(labels, j) === 'strict') {
        if (to !== from + 1) return false;
        continue;
      }
      const skippable = relaxedNext(labels.slice(0, j));
      for (let between = from + 1; between < to; between++) {
        if (skippable.some((stage) => holds(stage, between))) return false;
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

  // A partial match times out when it outlives `within`: every later event inside its window is one it
  // skips, and no emitted match covers its start.
  const timedOut = runs.filter((run) => {
    if (isWhole(run.stage)) return false;
    const start = run.at[0] as number;
    if (emitted.some((m) => (m.at[0] as number) <= start && start <= (m.at.at(-1) as number))) return false;
    const relaxed = relaxedNext(run.stage);
    const deadline = (events[start] as ReferenceEvent).t + within;
    for (let later = (run.at.at(-1) as number) + 1; later < events.length; later++) {
      if ((events[later] as ReferenceEvent).t >= deadline) break;
      if (relaxed.length === 0 || relaxed.some((stage) => holds(stage, later))) return false;
    }
    return true;
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

function compareRuns(a: Labelled, b: Labelled): number {
  const start = (a.at[0] as number) - (b.at[0] as number);
  if (start !== 0) return start;
  const end = (a.at.at(-1) as number) - (b.at.at(-1) as number);
  if (end !== 0) return end;
  for (let j = 0; j < Math.min(a.at.length, b.at.length); j++) {
    if (a.at[j] !== b.at[j]) return (a.at[j] as number) - (b.at[j] as number);
    if (a.stage[j] !== b.stage[j]) return (a.stage[j] as number) - (b.stage[j] as number);
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
