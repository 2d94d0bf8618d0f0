/**
 * The semantics of a keyed process function (Flink's KeyedProcessFunction), pure: one key's stored
 * state and timers in, that key's records of a batch in, the new state and the emissions out. No I/O:
 * the stage (shared/runtime/process-stage.ts) loads and writes the state, and decides which records
 * an earlier attempt already applied.
 */
import { parseTimeSpan } from '../windows/event-time.js';
import type { Duration } from '../windows/types.js';

/** A piece of keyed state, declared up front; `ttl` (ms of processing time) is Flink's StateTtlConfig. */
export interface StateDescriptor<K extends StateKind = StateKind, V = unknown> {
  readonly kind: K;
  readonly ttl?: number;
  /** Carries the value type for the function's handles; never set. */
  readonly __value?: V;
}
export type StateKind = 'value' | 'map' | 'list';
export type StateDescriptors = Readonly<Record<string, StateDescriptor>>;

/** A single value per key. */
export interface ValueState<V> {
  value(): V | undefined;
  update(value: V): void;
  clear(): void;
}

/** A map per key, string keys (they are stored as the members of a DynamoDB map). */
export interface MapState<V> {
  get(key: string): V | undefined;
  put(key: string, value: V): void;
  remove(key: string): void;
  contains(key: string): boolean;
  entries(): [string, V][];
  isEmpty(): boolean;
  clear(): void;
}

/** A list per key. */
export interface ListState<V> {
  get(): V[];
  add(value: V): void;
  update(values: readonly V[]): void;
  clear(): void;
}

type HandleOf<D> =
  D extends StateDescriptor<'value', infer V>
    ? ValueState<V>
    : D extends StateDescriptor<'map', infer V>
      ? MapState<V>
      : D extends StateDescriptor<'list', infer V>
        ? ListState<V>
        : never;

/** The state handles of a function, one per descriptor. */
export type StateHandles<S extends StateDescriptors> = { readonly [N in keyof S]: HandleOf<S[N]> };

/** Registers and deletes the key's timers; a timer is unique per key, domain and time. */
export interface TimerService {
  /** The watermark: event-time timers at or below it have fired. */
  currentWatermark(): number;
  /** The clock (epoch ms). */
  currentProcessingTime(): number;
  registerEventTimeTimer(time: number): void;
  deleteEventTimeTimer(time: number): void;
  registerProcessingTimeTimer(time: number): void;
  deleteProcessingTimeTimer(time: number): void;
}

/** What a process function gets beside a record or a timer. */
export interface ProcessContext<O, S extends StateDescriptors> {
  readonly key: string;
  /** The record's event time; for a timer, the timer's time. */
  readonly timestamp: number;
  readonly state: StateHandles<S>;
  readonly timers: TimerService;
  /** Emits to the main output, at `timestamp`. */
  emit(value: O): void;
  /** Emits to a named side output (a stream of its own). */
  output(name: string, value: unknown): void;
}

export interface TimerContext<O, S extends StateDescriptors> extends ProcessContext<O, S> {
  readonly domain: TimeDomain;
}

export type TimeDomain = 'event' | 'processing';

export interface ProcessFunction<T, O, S extends StateDescriptors = StateDescriptors> {
  processElement(value: T, context: ProcessContext<O, S>): void;
  onTimer?(time: number, context: TimerContext<O, S>): void;
}

/** How a key's state is stored: JSON, one DynamoDB item per key (see docs/process-functions.md). */
export interface KeyState {
  /** State by name: value `{ v, t }`, map `{ m: { k: { v, t } } }`, list `{ l, t }`; `t` the last write (ms). */
  readonly s: Record<string, StoredState>;
  /** Pending event-time timers, ascending, unique. */
  readonly et: number[];
  /** Pending processing-time timers, ascending, unique. */
  readonly pt: number[];
  /** Timers fired so far: a timer registered again after it fired fires again, under an id of its own. */
  f?: number;
}
type Entry = { v: unknown; t: number };
type StoredState = Entry | { m: Record<string, Entry> } | { l: unknown[]; t: number };

export const emptyKeyState = (): KeyState => ({ s: {}, et: [], pt: [] });

/** A record of the key, in arrival order, with the watermark in force when it arrived. */
export interface KeyedInput {
  readonly id: string;
  readonly value: unknown;
  readonly time: number;
  readonly watermark: number;
}

/** Something the function emitted: main output (`output` undefined) or a side output. */
export interface Emission {
  readonly id: string;
  readonly output?: string;
  readonly value: unknown;
  readonly time: number;
  /** The input whose call emitted it, or, for a timer, the last input of the key run before it fired. */
  readonly after?: number;
  /** The timer whose call emitted it. */
  readonly timer?: { readonly domain: TimeDomain; readonly time: number };
}

/** A record or timer whose call threw, or whose effect does not fit: its effects are undone. */
export interface Failure {
  /** The record's index in the inputs, or the timer. */
  readonly record?: number;
  readonly timer?: { readonly domain: TimeDomain; readonly time: number };
  readonly message: string;
  readonly cause?: unknown;
}

export interface KeyStep {
  readonly state: KeyState;
  readonly emissions: Emission[];
  readonly failures: Failure[];
}

export interface KeyStepOptions {
  /** Ids of emissions start with this (the stage id), so that a repeated batch repeats them. */
  readonly idPrefix: string;
  /** The watermark after the batch. */
  readonly watermark: number;
  /** The clock for processing-time timers and TTL. */
  readonly now: number;
  /** Whether processing-time timers may be registered (the stage gets clock ticks only then). */
  readonly processingTimers: boolean;
  /** Whether the state after an input can be kept; a message says why not (too large for an item). */
  readonly unfit?: (state: KeyState) => string | undefined;
}

/** Firing more timers than this for one key in one step means a timer that registers itself again. */
const MAX_TIMER_FIRINGS = 100_000;

/**
 * Runs one key's inputs: before each record, the event-time timers its arrival watermark has passed
 * fire (in time order, each once); then the record; after the last, the timers the batch's watermark
 * and the clock have passed. A call that throws leaves no effect: its state changes, timers and
 * emissions are dropped, and it is reported as a failure; the others go on.
 */
export function runKey<T, O, S extends StateDescriptors>(
  fn: ProcessFunction<T, O, S>,
  descriptors: S,
  key: string,
  stored: KeyState,
  inputs: readonly KeyedInput[],
  options: KeyStepOptions,
): KeyStep {
  let state = clone(stored);
  const emissions: Emission[] = [];
  const failures: Failure[] = [];
  let firings = 0;
  /** The input run last, if any: what a timer fired next comes after. */
  let after: number | undefined;

  const attempt = (
    watermark: number,
    timestamp: number,
    idBase: string,
    call: (context: TimerContext<O, S>) => void,
    domain: TimeDomain,
    timer?: { readonly domain: TimeDomain; readonly time: number },
  ): { ok: true } | { ok: false; message: string; cause?: unknown } => {
    const working = clone(state);
    const produced: Emission[] = [];
    const context = makeContext<O, S>(
      descriptors,
      key,
      timestamp,
      working,
      watermark,
      options,
      domain,
      (value, output) =>
        produced.push({
          id: `${idBase}/${produced.length}`,
          ...(output !== undefined && { output }),
          value,
          time: timestamp,
          ...(after !== undefined && { after }),
          ...(timer !== undefined && { timer }),
        }),
    );
    try {
      call(context);
    } catch (error) {
      return { ok: false, message: error instanceof Error ? error.message : String(error), cause: error };
    }
    const unfit = options.unfit?.(working);
    if (unfit !== undefined) return { ok: false, message: unfit };
    state = working;
    emissions.push(...produced);
    return { ok: true };
  };

  const fireUpTo = (watermark: number, now: number): void => {
    for (;;) {
      const domain: TimeDomain | undefined =
        (state.et[0] ?? Number.POSITIVE_INFINITY) <= watermark
          ? 'event'
          : (state.pt[0] ?? Number.POSITIVE_INFINITY) <= now
            ? 'processing'
            : undefined;
      if (domain === undefined) return;
      firings += 1;
      if (firings > MAX_TIMER_FIRINGS) {
        throw new Error(`key ${JSON.stringify(key)} fired more than ${MAX_TIMER_FIRINGS} timers in one batch`);
      }
      const list = domain === 'event' ? state.et : state.pt;
      const time = list.shift() as number;
      state.f = (state.f ?? 0) + 1;
      // The timer is gone whatever onTimer does: a timer whose call fails is dead-lettered, not retried.
      const outcome = attempt(
        watermark,
        time,
        `${options.idPrefix}/${key}/timer/${domain === 'event' ? 'e' : 'p'}${time}/${state.f}`,
        (context) => fn.onTimer?.(time, context),
        domain,
        { domain, time },
      );
      if (!outcome.ok) {
        failures.push({ timer: { domain, time }, message: outcome.message, cause: outcome.cause });
      }
    }
  };

  inputs.forEach((input, index) => {
    fireUpTo(input.watermark, options.now);
    after = index;
    const outcome = attempt(
      input.watermark,
      input.time,
      `${options.idPrefix}/${input.id}`,
      (context) => fn.processElement(input.value as T, context),
      'event',
    );
    if (!outcome.ok) failures.push({ record: index, message: outcome.message, cause: outcome.cause });
  });
  fireUpTo(options.watermark, options.now);
  return { state: expire(state, descriptors, options.now), emissions, failures };
}

/** The earliest pending timer of a state (event time, and processing time when asked), if any. */
export function nextTimer(state: KeyState, processing: boolean): number | undefined {
  const times = [state.et[0], processing ? state.pt[0] : undefined].filter((t): t is number => t !== undefined);
  return times.length === 0 ? undefined : Math.min(...times);
}

/** Whether a key's state holds nothing: no state and no timers, so its item can be deleted. */
export function isEmptyState(state: KeyState): boolean {
  return Object.keys(state.s).length === 0 && state.et.length === 0 && state.pt.length === 0;
}

function makeContext<O, S extends StateDescriptors>(
  descriptors: S,
  key: string,
  timestamp: number,
  state: KeyState,
  watermark: number,
  options: KeyStepOptions,
  domain: TimeDomain,
  emit: (value: unknown, output?: string) => void,
): TimerContext<O, S> {
  const { now } = options;
  const handles: Record<string, unknown> = {};
  for (const [name, descriptor] of Object.entries(descriptors)) {
    handles[name] = handleOf(state, name, descriptor, now);
  }
  const checkTime = (time: number) => {
    if (!Number.isSafeInteger(time)) throw new Error(`timer times must be integers (epoch ms), got ${time}`);
  };
  return {
    key,
    timestamp,
    domain,
    state: handles as StateHandles<S>,
    timers: {
      currentWatermark: () => watermark,
      currentProcessingTime: () => now,
      registerEventTimeTimer: (time) => {
        checkTime(time);
        insertSorted(state.et, time);
      },
      deleteEventTimeTimer: (time) => removeSorted(state.et, time),
      registerProcessingTimeTimer: (time) => {
        if (!options.processingTimers) {
          throw new Error('registers a processing-time timer: declare the operator with { processingTimers: true }');
        }
        checkTime(time);
        insertSorted(state.pt, time);
      },
      deleteProcessingTimeTimer: (time) => removeSorted(state.pt, time),
    },
    emit: (value) => emit(value),
    output: (name, value) => {
      if (typeof name !== 'string' || name.length === 0) throw new Error('side outputs need a non-empty name');
      emit(value, name);
    },
  };
}

const live = (entry: { t: number } | undefined, ttl: number | undefined, now: number): boolean =>
  entry !== undefined && (ttl === undefined || entry.t + ttl > now);

function handleOf(state: KeyState, name: string, descriptor: StateDescriptor, now: number): unknown {
  const { ttl } = descriptor;
  const s = state.s;
  switch (descriptor.kind) {
    case 'value':
      return {
        value: () => {
          const entry = s[name] as Entry | undefined;
          return live(entry, ttl, now) ? entry?.v : undefined;
        },
        update: (value: unknown) => {
          if (value === undefined) delete s[name];
          else s[name] = { v: value, t: now };
        },
        clear: () => delete s[name],
      } satisfies ValueState<unknown>;
    case 'map': {
      const members = (): Record<string, Entry> => (s[name] as { m: Record<string, Entry> } | undefined)?.m ?? {};
      const liveEntries = () => Object.entries(members()).filter(([, entry]) => live(entry, ttl, now));
      return {
        get: (member: string) => {
          const entry = members()[member];
          return live(entry, ttl, now) ? entry?.v : undefined;
        },
        put: (member: string, value: unknown) => {
          s[name] = { m: { ...members(), [String(member)]: { v: value, t: now } } };
        },
        remove: (member: string) => {
          const rest = { ...members() };
          delete rest[member];
          if (Object.keys(rest).length === 0) delete s[name];
          else s[name] = { m: rest };
        },
        contains: (member: string) => live(members()[member], ttl, now),
        entries: () => liveEntries().map(([member, entry]) => [member, entry.v]),
        isEmpty: () => liveEntries().length === 0,
        clear: () => delete s[name],
      } satisfies MapState<unknown>;
    }
    case 'list': {
      const entry = () => s[name] as { l: unknown[]; t: number } | undefined;
      const current = () => {
        const e = entry();
        return live(e, ttl, now) ? [...(e?.l ?? [])] : [];
      };
      return {
        get: current,
        add: (value: unknown) => {
          s[name] = { l: [...current(), value], t: now };
        },
        update: (values: readonly unknown[]) => {
          if (values.length === 0) delete s[name];
          else s[name] = { l: [...values], t: now };
        },
        clear: () => delete s[name],
      } satisfies ListState<unknown>;
    }
  }
}

/** Drops expired state, so that it neither counts towards the item's size nor is written again. */
function expire(state: KeyState, descriptors: StateDescriptors, now: number): KeyState {
  for (const [name, stored] of Object.entries(state.s)) {
    const descriptor = descriptors[name];
    // State of a name no longer declared (the function changed): dropped, as Flink drops undeclared state.
    if (descriptor === undefined) {
      delete state.s[name];
      continue;
    }
    const { ttl } = descriptor;
    if (ttl === undefined) continue;
    if ('m' in stored) {
      const kept = Object.entries(stored.m).filter(([, entry]) => live(entry, ttl, now));
      if (kept.length === 0) delete state.s[name];
      else state.s[name] = { m: Object.fromEntries(kept) };
    } else if (!live(stored, ttl, now)) delete state.s[name];
  }
  return state;
}

function insertSorted(list: number[], time: number): void {
  let low = 0;
  let high = list.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    if ((list[middle] as number) < time) low = middle + 1;
    else high = middle;
  }
  if (list[low] !== time) list.splice(low, 0, time);
}

function removeSorted(list: number[], time: number): void {
  const index = list.indexOf(time);
  if (index >= 0) list.splice(index, 1);
}

function clone(state: KeyState): KeyState {
  return structuredClone(state);
}

/** Options of a state descriptor: `ttl` in processing time, as Flink's StateTtlConfig (updated on write). */
export interface StateOptions {
  readonly ttl?: Duration;
}

const describe = <K extends StateKind, V>(kind: K, options: StateOptions): StateDescriptor<K, V> => ({
  kind,
  ...(options.ttl !== undefined && { ttl: parseTimeSpan(options.ttl, `state ttl`) }),
});

/** State descriptors for `process(fn, { state })`. */
export const state = {
  value: <V>(options: StateOptions = {}) => describe<'value', V>('value', options),
  map: <V>(options: StateOptions = {}) => describe<'map', V>('map', options),
  list: <V>(options: StateOptions = {}) => describe<'list', V>('list', options),
};
