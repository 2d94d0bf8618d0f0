/**
 * The state store of windowed (and later join) stages: one item per (stage, key, window) plus one
 * "channel watermarks" item per (stage, input shard). Exactly-once under Lambda's retries rests on two
 * things kept in every window item: a `version` that makes every write conditional (optimistic
 * concurrency), and a `fence` holding, per input shard, the last sequence number applied to the window,
 * so that a retried batch skips the records it already applied ({@link isApplied}).
 *
 * This file holds the narrow interface and everything both implementations share (key encoding, item
 * size estimate, errors); it imports no AWS SDK.
 */
import { STORE_TIME_BOUND } from '../../windows/event-time.js';
import type { WindowState } from '../../windows/types.js';
import type { JoinStore } from './join-store.js';

/** Identifies one window of one key of a stage. */
export interface WindowRef {
  readonly key: string;
  readonly start: number;
  readonly end: number;
}

/** A window item as read from the store. */
export interface StoredWindow<A = unknown> {
  readonly stageId: string;
  readonly state: WindowState<A>;
  /** Incremented on every write; the version a change must name to replace or delete this item. */
  readonly version: number;
  /** Input shard id → last Kinesis sequence number of that shard applied to this window. */
  readonly fence: Readonly<Record<string, string>>;
  /** `<stageId>#<shardId>` of the input shard that last wrote the window: whose timer fires it. */
  readonly timer: string;
  /** Epoch ms from which the window may be fired and forgotten (its end plus the allowed lateness). */
  readonly fireAt: number;
  /** Epoch seconds after which the item is dead (DynamoDB's TTL attribute): reads never return it. */
  readonly expiresAt: number;
}

/**
 * Writes a window: creates it when `expectedVersion` is 0 (succeeds when no live item exists), else
 * replaces the item whose version is `expectedVersion`. The new item has version `expectedVersion + 1`
 * and `fence[shardId] = sequenceNumber`, other shards' fence entries kept.
 */
export interface PutWindowChange<A = unknown> {
  readonly kind: 'put';
  readonly stageId: string;
  readonly state: WindowState<A>;
  /** The version loaded, 0 when the window was not found. */
  readonly expectedVersion: number;
  /** Input shard whose records this write applies; it becomes the window's timer. */
  readonly shardId: string;
  /** The last sequence number of `shardId` applied to the state (the batch's last, when the batch touched it). */
  readonly sequenceNumber: string;
  /** Epoch ms: the window's end plus the allowed lateness. */
  readonly fireAt: number;
}

/** Deletes a window (fired, or merged into another session) if its version is still `expectedVersion`. */
export interface DeleteWindowChange {
  readonly kind: 'delete';
  readonly stageId: string;
  readonly window: WindowRef;
  readonly expectedVersion: number;
}

export type WindowChange<A = unknown> = PutWindowChange<A> | DeleteWindowChange;

/** A change that was written, and the item's version after it (0 after a delete). */
export interface CommittedChange {
  readonly change: WindowChange;
  readonly version: number;
}

/**
 * A change whose version condition failed: another writer (or this writer's own earlier attempt that
 * timed out after DynamoDB applied it) changed the window since it was loaded. Reload and recompute.
 */
export interface StateConflict {
  readonly change: WindowChange;
  /**
   * The live item at the time of the failure, when the store returned it (DynamoDB does with
   * ReturnValuesOnConditionCheckFailure; dynalite does not); undefined also when there is none.
   */
  readonly current?: StoredWindow;
}

export interface CommitOutcome {
  /** The changes written, in the order given. */
  readonly committed: readonly CommittedChange[];
  /** The changes not written because their condition failed, in the order given. */
  readonly conflicts: readonly StateConflict[];
}

/**
 * The channel watermarks of one (stage, input shard): channel id → watermark in epoch ms; and the
 * highest envelope position applied per channel (shuffle-pack.ts AppliedPositions).
 */
export interface StoredChannelWatermarks {
  readonly channels: Readonly<Record<string, number>>;
  readonly positions?: Readonly<Record<string, string>>;
  readonly version: number;
}

export const StoreOperations = {
  getItem: 'GetItem',
  batchGetItem: 'BatchGetItem',
  query: 'Query',
  putItem: 'PutItem',
  updateItem: 'UpdateItem',
  deleteItem: 'DeleteItem',
  batchWriteItem: 'BatchWriteItem',
} as const;
export type StoreOperation = (typeof StoreOperations)[keyof typeof StoreOperations];

/** What a store asked of DynamoDB, for metrics and for benchmarks' requests per 1,000 events. */
export interface RequestCounts {
  /** Requests sent, every attempt counted (retries by the SDK and by the store, and failed ones). */
  readonly requests: number;
  readonly byOperation: Readonly<Record<StoreOperation, number>>;
  /** Of `requests`, those that failed with throttling, a 5xx or a network error. */
  readonly throttled: number;
  /** Conditional writes refused because of their version condition (conflicts). */
  readonly conditionalFailures: number;
  /** Read capacity units consumed, as DynamoDB reported them (`ReturnConsumedCapacity: 'TOTAL'`). */
  readonly readUnits: number;
  /** Write capacity units consumed by successful writes, as DynamoDB reported them. */
  readonly writeUnits: number;
}

const zeroByOperation = (): Record<StoreOperation, number> => ({
  GetItem: 0,
  BatchGetItem: 0,
  Query: 0,
  PutItem: 0,
  UpdateItem: 0,
  DeleteItem: 0,
  BatchWriteItem: 0,
});

/** Accumulates {@link RequestCounts}; a store owns one and updates it on every request. */
export class RequestCounter {
  #requests = 0;
  #byOperation = zeroByOperation();
  #throttled = 0;
  #conditionalFailures = 0;
  #readUnits = 0;
  #writeUnits = 0;

  /** Counts `attempts` requests of `operation`, and the capacity they consumed. */
  request(operation: StoreOperation, attempts = 1, units = 0): void {
    this.#requests += attempts;
    this.#byOperation[operation] += attempts;
    if (isWrite(operation)) this.#writeUnits += units;
    else this.#readUnits += units;
  }

  throttle(): void {
    this.#throttled += 1;
  }

  conditionalFailure(): void {
    this.#conditionalFailures += 1;
  }

  snapshot(): RequestCounts {
    return {
      requests: this.#requests,
      byOperation: { ...this.#byOperation },
      throttled: this.#throttled,
      conditionalFailures: this.#conditionalFailures,
      readUnits: this.#readUnits,
      writeUnits: this.#writeUnits,
    };
  }

  reset(): void {
    this.#requests = 0;
    this.#byOperation = zeroByOperation();
    this.#throttled = 0;
    this.#conditionalFailures = 0;
    this.#readUnits = 0;
    this.#writeUnits = 0;
  }
}

function isWrite(operation: StoreOperation): boolean {
  return (
    operation === 'PutItem' ||
    operation === 'UpdateItem' ||
    operation === 'DeleteItem' ||
    operation === 'BatchWriteItem'
  );
}

/**
 * The window items of a stage (also a keyed process function's items, which use the window layout):
 * versioned, fenced, found through the fire-time index. Reads never return items whose `expiresAt`
 * has passed. The store is dumb on purpose: it never retries a conflict, because only the caller can
 * recompute the state.
 *
 * Accumulators are JSON values: `undefined` object members and array elements are dropped (as
 * `JSON.stringify` drops members), -0 reads back as 0, and DynamoDB refuses numbers outside
 * ±1E-130..9.9E125.
 */
export interface WindowStore extends CountedStore {
  /**
   * Reads exact windows with strongly consistent reads (BatchGetItem, 100 keys a request, unprocessed
   * keys retried). Returns the live ones found, in the order first asked for; duplicates are read once.
   */
  getWindows<A = unknown>(stageId: string, windows: readonly WindowRef[]): Promise<StoredWindow<A>[]>;

  /**
   * Reads every live window of each key (strongly consistent Query per key, paginated), in start
   * order: what session windows need. Every key asked for is in the map, with [] when it has none.
   */
  queryWindows<A = unknown>(stageId: string, keys: readonly string[]): Promise<Map<string, StoredWindow<A>[]>>;

  /**
   * The live windows whose timer is (stageId, shardId) and `fireAt <= watermark`, in fireAt order, at
   * most `limit` of them (all by default), from the GSI: never a scan.
   *
   * The GSI is eventually consistent in DynamoDB: a window written a moment ago may be missing, or
   * show an older version. So a stage also fires the windows it wrote in the current batch from its
   * own memory, and re-reads a due window with {@link getWindows} (consistent) before firing it, using
   * that version for the delete.
   */
  dueWindows<A = unknown>(
    stageId: string,
    shardId: string,
    watermark: number,
    limit?: number,
  ): Promise<StoredWindow<A>[]>;

  /** Writes one change; a failed version condition throws {@link StateConflictError}. Returns the new version. */
  commit(change: WindowChange): Promise<number>;

  /**
   * Writes many changes (at most one per window), each a conditional write of its own, several in
   * flight at once: DynamoDB's BatchWriteItem takes no conditions. Throttling is retried with backoff.
   * Conflicts are returned, not thrown, so that the caller reloads and recomputes only those windows.
   * An error other than a conflict (retries exhausted, a bug) rejects after the writes in flight
   * settle; the changes already written stay written, which the fences make harmless on the retry.
   * Every change is checked ({@link StateItemTooLargeError}, {@link InvalidStateRequestError}) before
   * anything is written.
   */
  commitAll(changes: readonly WindowChange[]): Promise<CommitOutcome>;
}

/** What every part of the state store has: the count of the requests it made. */
export interface CountedStore {
  readonly counter: RequestCounter;
}

/** The channel watermarks (and applied positions) of each (stage, input shard): every stateful stage keeps them. */
export interface WatermarkStore extends CountedStore {
  /** The channel watermarks of (stage, input shard), consistently read; undefined when never saved. */
  loadWatermarks(stageId: string, shardId: string): Promise<StoredChannelWatermarks | undefined>;

  /**
   * Replaces the channel watermarks (and applied positions) if their version is still
   * `expectedVersion` (0: never saved); else throws {@link WatermarkConflictError}. Returns what was
   * saved, with the new version.
   */
  saveWatermarks(
    stageId: string,
    shardId: string,
    channels: Readonly<Record<string, number>>,
    expectedVersion: number,
    positions?: Readonly<Record<string, string>>,
  ): Promise<StoredChannelWatermarks>;
}

/**
 * The one door from a stateful stage to its state, made of one narrow part per operator: window
 * items (windows and process functions), join buffers, channel watermarks; each stage asks only for
 * the parts it uses. DynamoDB in the cloud and the local stack ({@link DynamoDbWindowStore}), memory
 * in unit tests and in-process benchmarks ({@link MemoryWindowStore}), with the same semantics.
 */
export interface StateStore extends WindowStore, JoinStore, WatermarkStore {}

// ---------------------------------------------------------------------------------------------------
// Errors

/**
 * Version conditions failed; see {@link StateConflict}. Thrown by a store's `commit` for its one
 * change, and by a stateful stage for the conflicts `commitAll` returned: the batch is run again on
 * fresh state. The fields describe the first conflict.
 */
export class StateConflictError extends Error {
  readonly conflicts: readonly StateConflict[];
  readonly conflict: StateConflict;
  readonly stageId: string;
  readonly window: WindowRef;
  readonly expectedVersion: number;
  readonly current: StoredWindow | undefined;

  constructor(conflicts: StateConflict | readonly [StateConflict, ...StateConflict[]], options?: { cause?: unknown }) {
    const all: readonly StateConflict[] = Array.isArray(conflicts) ? conflicts : [conflicts as StateConflict];
    const conflict = all[0] as StateConflict;
    const window = refOfChange(conflict.change);
    const found = conflict.current === undefined ? '' : `, found version ${conflict.current.version}`;
    const others = all.length > 1 ? ` (and ${all.length - 1} more item(s) changed under this batch)` : '';
    super(
      `${conflict.change.kind} of window [${window.start}, ${window.end}) of key ${JSON.stringify(window.key)} ` +
        `of stage ${conflict.change.stageId} expected version ${conflict.change.expectedVersion}${found}${others}`,
      options,
    );
    this.name = 'StateConflictError';
    this.conflicts = all;
    this.conflict = conflict;
    this.stageId = conflict.change.stageId;
    this.window = window;
    this.expectedVersion = conflict.change.expectedVersion;
    this.current = conflict.current;
  }
}

/** The channel watermarks of (stage, shard) changed since they were loaded. */
export class WatermarkConflictError extends Error {
  readonly stageId: string;
  readonly shardId: string;
  readonly expectedVersion: number;
  /** The item at the time of the failure, when the store returned it. */
  readonly current: StoredChannelWatermarks | undefined;

  constructor(
    stageId: string,
    shardId: string,
    expectedVersion: number,
    current: StoredChannelWatermarks | undefined,
    options?: { cause?: unknown },
  ) {
    super(`channel watermarks of stage ${stageId}, shard ${shardId} expected version ${expectedVersion}`, options);
    this.name = 'WatermarkConflictError';
    this.stageId = stageId;
    this.shardId = shardId;
    this.expectedVersion = expectedVersion;
    this.current = current;
  }
}

/**
 * A window item would exceed DynamoDB's 400 KB item limit: typically an aggregate that grows without
 * bound (collecting every value of a key). Not retryable: the aggregation must change.
 */
export class StateItemTooLargeError extends Error {
  readonly stageId: string;
  readonly window: WindowRef;
  readonly bytes: number;
  readonly limit: number;

  constructor(stageId: string, window: WindowRef, bytes: number, limit: number) {
    super(
      `the state of window [${window.start}, ${window.end}) of key ${JSON.stringify(window.key)} of stage ` +
        `${stageId} would take about ${bytes} bytes, more than the ${limit} a DynamoDB item can hold: ` +
        'use an aggregation whose accumulator stays bounded',
    );
    this.name = 'StateItemTooLargeError';
    this.stageId = stageId;
    this.window = window;
    this.bytes = bytes;
    this.limit = limit;
  }
}

/** A request the store cannot carry out as asked (a caller's bug): bad ids, times or versions. */
export class InvalidStateRequestError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'InvalidStateRequestError';
  }
}

/** DynamoDB kept throttling or failing after every retry. */
export class StateStoreUnavailableError extends Error {
  readonly operation: StoreOperation;
  readonly attempts: number;

  constructor(operation: StoreOperation, attempts: number, options?: { cause?: unknown }) {
    super(`DynamoDB ${operation} still failed after ${attempts} attempts`, options);
    this.name = 'StateStoreUnavailableError';
    this.operation = operation;
    this.attempts = attempts;
  }
}

// ---------------------------------------------------------------------------------------------------
// Sequence numbers

const decimal = /^\d+$/;

/**
 * Compares two Kinesis sequence numbers of one shard. They are decimal strings of up to 128 bits,
 * beyond both Number's 53 bits and DynamoDB's 38 digits: compared as BigInt.
 */
export function compareSequenceNumbers(a: string, b: string): -1 | 0 | 1 {
  const x = toBigInt(a);
  const y = toBigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Whether the record `sequenceNumber` of `shardId` is already part of a window whose fence is `fence`. */
export function isApplied(fence: Readonly<Record<string, string>>, shardId: string, sequenceNumber: string): boolean {
  const applied = fence[shardId];
  return applied !== undefined && compareSequenceNumbers(sequenceNumber, applied) <= 0;
}

function toBigInt(sequenceNumber: string): bigint {
  // BigInt() would also take '0x1f', ' 12 ' and '': none is a sequence number.
  if (!decimal.test(sequenceNumber)) {
    throw new InvalidStateRequestError(`not a sequence number: ${JSON.stringify(sequenceNumber)}`);
  }
  return BigInt(sequenceNumber);
}

// ---------------------------------------------------------------------------------------------------
// Keys

/**
 * Added to times in sort keys so that negative times sort before positive ones as strings. Every
 * bound a valid event time produces is inside ±TIME_OFFSET (shared/windows/event-time.ts).
 */
export const TIME_OFFSET = STORE_TIME_BOUND;
const timeDigits = 16;
/** The partition key's sort key of the channel watermarks items of a stage. */
export const WATERMARKS_KEY = '~watermarks';
/** DynamoDB's limit on a partition key value. */
const maxPartitionKeyBytes = 2048;

/** Times in [-2^52, 2^52) as 16 zero-padded digits, in the same order as the numbers. */
export function encodeTime(ms: number): string {
  if (!Number.isSafeInteger(ms) || ms < -TIME_OFFSET || ms >= TIME_OFFSET) {
    throw new InvalidStateRequestError(`window bounds must be integers in [-2^52, 2^52): ${ms}`);
  }
  return String(ms + TIME_OFFSET).padStart(timeDigits, '0');
}

/** The partition key of a key's windows: `<stageId>#<key>`. */
export function windowPartitionKey(stageId: string, key: string): string {
  checkStageId(stageId);
  const pk = `${stageId}#${key}`;
  if (Buffer.byteLength(pk) > maxPartitionKeyBytes) {
    throw new InvalidStateRequestError(`key of stage ${stageId} too long for a DynamoDB partition key: ${key}`);
  }
  return pk;
}

/** The sort key of a window: `<start>#<end>`, both encoded by {@link encodeTime}, so items sort by start. */
export function windowSortKey(start: number, end: number): string {
  return `${encodeTime(start)}#${encodeTime(end)}`;
}

/** The partition key of a stage's channel watermarks items (their sort key is the shard id). */
export function watermarksPartitionKey(stageId: string): string {
  checkStageId(stageId);
  return `${stageId}#${WATERMARKS_KEY}`;
}

/** The GSI partition of the windows a shard's timer fires: `<stageId>#<shardId>`. */
export function timerOf(stageId: string, shardId: string): string {
  checkStageId(stageId);
  return `${stageId}#${shardId}`;
}

/** An id of a window within a stage, for maps and sets. */
export function windowId(window: WindowRef): string {
  return `${windowSortKey(window.start, window.end)}#${window.key}`;
}

export function refOfChange(change: WindowChange): WindowRef {
  return change.kind === 'delete'
    ? change.window
    : { key: change.state.key, start: change.state.start, end: change.state.end };
}

function checkStageId(stageId: string): void {
  // '#' separates the stage from the key: a stage id holding one could collide with another stage's keys.
  if (stageId.length === 0 || stageId.includes('#')) {
    throw new InvalidStateRequestError(`stage ids must be non-empty and free of '#': ${JSON.stringify(stageId)}`);
  }
}

// ---------------------------------------------------------------------------------------------------
// Validation shared by the implementations, so that both refuse exactly the same changes

/** DynamoDB's item limit is 400 KB; the margin covers the estimate's error and other shards' fence entries. */
export const MAX_STATE_ITEM_BYTES = 390 * 1024;

/** How long a window item outlives its fireAt before TTL may delete it. @default 1 day */
export const DEFAULT_RETENTION_MS = 24 * 60 * 60 * 1000;

/** About how many bytes the item a put writes takes in DynamoDB (names and values, as DynamoDB counts). */
export function stateItemBytes(change: PutWindowChange, retentionMs = DEFAULT_RETENTION_MS): number {
  return estimateItemBytes(windowItem(change, retentionMs, {}, Date.now()));
}

/**
 * The TTL attribute's value (epoch seconds) of a window that fires at `fireAt`, written at `nowMs`.
 * Event time is not the clock: a replay of last year's events fires windows whose `fireAt` is long
 * past, and their state must live until they fire, so the retention counts from the later of the two.
 */
export function expiresAtOf(fireAt: number, retentionMs: number, nowMs: number): number {
  return Math.ceil((Math.max(fireAt, nowMs) + retentionMs) / 1000);
}

/** Whether an item whose TTL attribute is `expiresAt` is dead at `nowMs` (DynamoDB: TTL < now). */
export function isExpired(expiresAt: number, nowMs: number): boolean {
  return expiresAt <= Math.floor(nowMs / 1000);
}

/**
 * Checks a batch of changes before anything is written: valid ids, bounds and versions, at most one
 * change per window, items within {@link MAX_STATE_ITEM_BYTES}.
 */
export function validateChanges(changes: readonly WindowChange[], retentionMs: number): void {
  const seen = new Set<string>();
  for (const change of changes) {
    validateChange(change, retentionMs);
    const id = `${change.stageId}#${windowId(refOfChange(change))}`;
    if (seen.has(id)) {
      throw new InvalidStateRequestError(
        `two changes to one window in a commit race each other: ${JSON.stringify(refOfChange(change))} of ${change.stageId}`,
      );
    }
    seen.add(id);
  }
}

function validateChange(change: WindowChange, retentionMs: number): void {
  const window = refOfChange(change);
  windowPartitionKey(change.stageId, window.key);
  windowSortKey(window.start, window.end);
  const minimum = change.kind === 'put' ? 0 : 1;
  if (!Number.isSafeInteger(change.expectedVersion) || change.expectedVersion < minimum) {
    throw new InvalidStateRequestError(
      `a ${change.kind} needs an expected version >= ${minimum}, got ${change.expectedVersion}`,
    );
  }
  if (change.kind === 'delete') return;
  checkShardId(change.shardId);
  toBigInt(change.sequenceNumber);
  if (!Number.isFinite(change.fireAt)) throw new InvalidStateRequestError(`fireAt must be finite: ${change.fireAt}`);
  const bytes = stateItemBytes(change, retentionMs);
  if (bytes > MAX_STATE_ITEM_BYTES)
    throw new StateItemTooLargeError(change.stageId, window, bytes, MAX_STATE_ITEM_BYTES);
}

/** Checks the arguments of a channel watermarks load or save. */
export function validateWatermarks(
  stageId: string,
  shardId: string,
  channels: Readonly<Record<string, number>>,
  expectedVersion: number,
): void {
  checkStageId(stageId);
  checkShardId(shardId);
  if (!Number.isSafeInteger(expectedVersion) || expectedVersion < 0) {
    throw new InvalidStateRequestError(`expected version must be an integer >= 0, got ${expectedVersion}`);
  }
  for (const [channel, watermark] of Object.entries(channels)) {
    // DynamoDB numbers cannot be infinite: a channel with no watermark yet is left out instead.
    if (!Number.isFinite(watermark)) {
      throw new InvalidStateRequestError(`watermark of channel ${channel} must be finite, got ${watermark}`);
    }
  }
}

function checkShardId(shardId: string): void {
  // The shard id is the watermarks item's sort key, and DynamoDB refuses empty key values.
  if (shardId.length === 0) throw new InvalidStateRequestError('shard ids must be non-empty');
}

/** The timer partition of tombstones (closed windows), which no stage's shard queries. */
export const CLOSED_TIMER = '~closed';

/**
 * The attributes of a window item as both implementations store it, `fence` being the fence before
 * this change; the DynamoDB store writes exactly these (plus `pk` and `sk`).
 */
export function windowItem(
  change: PutWindowChange,
  retentionMs: number,
  previousFence: Readonly<Record<string, string>>,
  nowMs: number,
): Record<string, unknown> {
  const { state } = change;
  return {
    pk: windowPartitionKey(change.stageId, state.key),
    sk: windowSortKey(state.start, state.end),
    key: state.key,
    start: state.start,
    end: state.end,
    accumulator: state.accumulator,
    count: state.count,
    emitted: state.emitted,
    // undefined removes the attribute: only tombstones carry it.
    closed: state.closed === true ? true : undefined,
    version: change.expectedVersion + 1,
    fence: { ...previousFence, [change.shardId]: change.sequenceNumber },
    // A tombstone has fired: out of every shard's timer, so no query for due windows returns it again.
    timer: timerOf(change.stageId, state.closed === true ? CLOSED_TIMER : change.shardId),
    fireAt: change.fireAt,
    expiresAt: expiresAtOf(change.fireAt, retentionMs, nowMs),
  };
}

/**
 * Estimates the stored size of an item after DynamoDB's published rules: attribute names and strings
 * by their UTF-8 bytes, numbers about one byte per two significant digits plus one, 1 byte for
 * booleans and null, 3 bytes plus 1 per element for maps and lists. Undefined members and functions
 * inside maps and lists are dropped, as the marshalling drops them. Throws
 * {@link InvalidStateRequestError} for what is not JSON or what DynamoDB cannot store, so that every
 * implementation refuses the same values.
 */
export function estimateItemBytes(item: Readonly<Record<string, unknown>>): number {
  let bytes = 0;
  for (const [name, value] of Object.entries(item)) {
    if (value === undefined) continue;
    bytes += Buffer.byteLength(name) + estimateValueBytes(value, name);
  }
  return bytes;
}

/**
 * DynamoDB's number range is magnitudes from 1E-130 to 9.99...E+125 (38 nines); 1e126 is the
 * smallest double beyond it.
 */
const tooLargeMagnitude = 1e126;
const minMagnitude = 1e-130;

function estimateValueBytes(value: unknown, path: string): number {
  if (typeof value === 'string') return Buffer.byteLength(value);
  if (typeof value === 'number') {
    const magnitude = Math.abs(value);
    if (!Number.isFinite(value) || magnitude >= tooLargeMagnitude || (magnitude !== 0 && magnitude < minMagnitude)) {
      throw new InvalidStateRequestError(`${path} is ${value}, a number DynamoDB cannot store`);
    }
    return (
      Math.ceil(
        String(magnitude)
          .replace(/\.|e.*$/g, '')
          .replace(/^0+/, '').length / 2,
      ) + 1
    );
  }
  if (typeof value === 'boolean' || value === null) return 1;
  if (Array.isArray(value)) {
    let bytes = 3;
    value.forEach((element, index) => {
      if (element !== undefined && typeof element !== 'function') {
        bytes += 1 + estimateValueBytes(element, `${path}[${index}]`);
      }
    });
    return bytes;
  }
  if (typeof value === 'object' && isPlainObject(value)) {
    let bytes = 3;
    for (const [name, member] of Object.entries(value)) {
      if (member !== undefined && typeof member !== 'function') {
        bytes += 1 + Buffer.byteLength(name) + estimateValueBytes(member, `${path}.${name}`);
      }
    }
    return bytes;
  }
  const kind = typeof value === 'object' ? (value.constructor?.name ?? 'object') : typeof value;
  throw new InvalidStateRequestError(`${path} holds a ${kind}: state must be JSON values`);
}

function isPlainObject(value: object): boolean {
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}
