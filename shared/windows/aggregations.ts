import { describeValue } from './duration.js';
import type { Aggregation } from './types.js';

/**
 * An aggregation function failed on a record or an accumulator: the window operator reports the
 * record (or window) as failed, for the dead-letter stream, instead of failing the batch.
 */
export class AggregationError extends Error {
  override readonly name = 'AggregationError';

  constructor(
    /** The aggregation's name. */
    readonly aggregation: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(`${aggregation}: ${message}`, options);
  }
}

/** The accumulator of {@link avg}. */
export interface AvgAccumulator {
  readonly sum: number;
  readonly count: number;
}

/** Counts the records of a window. */
export function count<T>(): Aggregation<T, number, number> {
  return {
    name: 'count',
    init: () => 0,
    add: (accumulator) => accumulator + 1,
    merge: (a, b) => a + b,
    result: (accumulator) => accumulator,
  };
}

/** Sums `f(record)` over a window. `f` must return a finite number, or the record is dead-lettered. */
export function sum<T>(f: (value: T) => number): Aggregation<T, number, number> {
  return {
    name: 'sum',
    init: () => 0,
    add: (accumulator, value) => accumulator + numberOf('sum', f, value),
    merge: (a, b) => a + b,
    result: (accumulator) => accumulator,
  };
}

/**
 * The least `f(record)` of a window. The accumulator is null before the first record (JSON has no
 * Infinity); a window always holds a record, so the result is a number.
 */
export function min<T>(f: (value: T) => number): Aggregation<T, number | null, number> {
  return extreme('min', f, Math.min);
}

/** The greatest `f(record)` of a window; see {@link min}. */
export function max<T>(f: (value: T) => number): Aggregation<T, number | null, number> {
  return extreme('max', f, Math.max);
}

/** The mean of `f(record)` over a window, from a `{ sum, count }` accumulator so that partial means merge exactly. */
export function avg<T>(f: (value: T) => number): Aggregation<T, AvgAccumulator, number> {
  return {
    name: 'avg',
    init: () => ({ sum: 0, count: 0 }),
    add: (accumulator, value) => ({ sum: accumulator.sum + numberOf('avg', f, value), count: accumulator.count + 1 }),
    merge: (a, b) => ({ sum: a.sum + b.sum, count: a.count + b.count }),
    result: (accumulator) => {
      if (accumulator.count === 0) throw new AggregationError('avg', 'no values to average');
      return accumulator.sum / accumulator.count;
    },
  };
}

/** A user-defined aggregation; see {@link aggregate}. */
export interface AggregateDefinition<T, A, R> {
  /** Names the aggregation in errors. @default 'aggregate' */
  readonly name?: string;
  /** The accumulator of an empty window: a fresh JSON value, the identity of `merge`. */
  init(): A;
  /** Adds a record. May mutate and return `accumulator`: the operator hands it a private copy. */
  add(accumulator: A, value: T): A;
  /**
   * Joins two partial accumulators (sessions merging). Must be associative and commutative, with
   * `init()` as identity, up to what `result` shows: then results do not depend on how records were
   * batched or in which order sessions merged.
   * May mutate and return `a`, never `b`.
   */
  merge(a: A, b: A): A;
  /** The window's output value. Must not modify `accumulator`: early updates leave the window open. */
  result(accumulator: A): R;
}

/**
 * A user-defined aggregation (Flink's AggregateFunction, Kafka Streams' Initializer, Aggregator and
 * Merger in one). Accumulators are stored in DynamoDB between batches, so they must be JSON values
 * (no Date, Map, undefined or NaN) and stay well under 400 KB.
 *
 * @example
 * // Distinct users per window; the accumulator grows with them, so keep windows small.
 * aggregate({
 *   name: 'distinct-users',
 *   init: (): string[] => [],
 *   add: (users, click: Click) => (users.includes(click.user) ? users : [...users, click.user]),
 *   merge: (a, b) => [...new Set([...a, ...b])],
 *   result: (users) => users.length,
 * })
 */
export function aggregate<T, A, R>(definition: AggregateDefinition<T, A, R>): Aggregation<T, A, R> {
  const { name = 'aggregate', init, add, merge, result } = definition;
  return { name, init, add, merge, result };
}

function extreme<T>(
  name: string,
  f: (value: T) => number,
  pick: (a: number, b: number) => number,
): Aggregation<T, number | null, number> {
  return {
    name,
    init: () => null,
    add: (accumulator, value) => {
      const x = numberOf(name, f, value);
      return accumulator === null ? x : pick(accumulator, x);
    },
    merge: (a, b) => (a === null ? b : b === null ? a : pick(a, b)),
    result: (accumulator) => {
      if (accumulator === null) throw new AggregationError(name, 'no values');
      return accumulator;
    },
  };
}

function numberOf<T>(aggregation: string, f: (value: T) => number, value: T): number {
  const x: unknown = f(value);
  // NaN and Infinity would poison the accumulator for good, and DynamoDB cannot store them.
  if (typeof x !== 'number' || !Number.isFinite(x)) {
    throw new AggregationError(aggregation, `the value function returned ${describeValue(x)}, not a finite number`);
  }
  return x;
}
