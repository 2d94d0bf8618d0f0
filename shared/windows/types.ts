/**
 * The vocabulary of windowed aggregation, shared by the pure window semantics (`shared/windows/`),
 * the state store (`shared/runtime/io/`) and the stage runtime. Times are epoch milliseconds;
 * windows are half-open, [start, end).
 */

/** '500ms', '5s', '1m', '1h', '1d' or a number of milliseconds. */
export type Duration = number | `${number}${'ms' | 's' | 'm' | 'h' | 'd'}`;

export const TimeDomains = { event: 'event', processing: 'processing' } as const;
export type TimeDomain = (typeof TimeDomains)[keyof typeof TimeDomains];

/** How records are assigned to windows. Sizes in milliseconds. */
export type WindowAssigner =
  | { readonly kind: 'tumbling'; readonly size: number; readonly timeDomain: TimeDomain }
  | { readonly kind: 'hopping'; readonly size: number; readonly slide: number; readonly timeDomain: TimeDomain }
  | { readonly kind: 'session'; readonly gap: number; readonly timeDomain: TimeDomain };

/**
 * An aggregate function, as Flink's AggregateFunction / Kafka Streams' Aggregator: `merge` joins two
 * partial aggregates (session windows merging, pre-aggregation within a batch). Accumulators must be
 * JSON values: they are stored in DynamoDB between batches.
 */
export interface Aggregation<T, A, R> {
  readonly name: string;
  init(): A;
  add(accumulator: A, value: T): A;
  merge(a: A, b: A): A;
  result(accumulator: A): R;
}

export const EmitModes = {
  /** One result per window, when the watermark passes its end plus the allowed lateness. */
  final: 'final',
  /** Also an update after every batch that changed the window, each superseding the last. */
  early: 'early',
} as const;
export type EmitMode = (typeof EmitModes)[keyof typeof EmitModes];

export interface WindowOptions {
  /** How long after a window's end records are still added to it. @default 0 */
  readonly allowedLateness?: Duration;
  /**
   * Stream that receives records too late for every window they belong to.
   * @default '<pipeline>-<window name>-late'; none with the pipeline's `lateRecords: 'dead-letter'`
   * (or `profile: 'cost'`): late records are then dead letters with the reason `late`
   */
  readonly lateOutput?: string;
  /** @default 'final' */
  readonly emit?: EmitMode;
}

/** What a windowed stage emits per window: the documented output record. */
export interface WindowResult<R> {
  readonly key: string;
  readonly windowStart: number;
  readonly windowEnd: number;
  readonly value: R;
  /** 'update' for an early update (superseded by a later result of the same window), else 'final'. */
  readonly kind: 'update' | 'final';
  /**
   * Results of this window emitted before this one. With `key`, `windowStart` and `windowEnd` it
   * identifies the result deterministically: a repeat after a retry has the same four values.
   */
  readonly revision: number;
}

/** One window of one key, as the state store holds it (one DynamoDB item). */
export interface WindowState<A> {
  readonly key: string;
  readonly start: number;
  readonly end: number;
  readonly accumulator: A;
  /** Records aggregated into the accumulator. */
  readonly count: number;
  /** Results emitted for this window so far. */
  readonly emitted: number;
  /**
   * The window has fired its final result: its item stays, as a tombstone until TTL removes it, so
   * that a retried batch finds the fence and does not rebuild the window from part of its records.
   */
  readonly closed?: boolean;
}
