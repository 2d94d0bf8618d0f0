import type { BufferedRecord } from '../../joins/join-operator.js';
import type { WindowState } from '../../windows/types.js';
import {
  type BufferedPut,
  type BufferedRef,
  bufferedItem,
  bufferedItemKey,
  bufferedSortKeyRange,
  type JoinStore,
  type KeyRange,
  toBufferedRecord,
} from './join-store.js';
import {
  type CommitOutcome,
  type CommittedChange,
  DEFAULT_RETENTION_MS,
  estimateItemBytes,
  expiresAtOf,
  InvalidStateRequestError,
  isExpired,
  MAX_STATE_ITEM_BYTES,
  RequestCounter,
  type StateConflict,
  StateConflictError,
  type StateStore,
  type StoredChannelWatermarks,
  type StoredWindow,
  timerOf,
  validateChanges,
  validateWatermarks,
  WatermarkConflictError,
  type WindowChange,
  type WindowRef,
  watermarksPartitionKey,
  windowItem,
  windowPartitionKey,
  windowSortKey,
} from './window-store.js';

export interface MemoryWindowStoreOptions {
  /** How long a window item outlives its fireAt before it counts as expired. @default 1 day */
  readonly retentionMs?: number;
  /** Items per simulated Query page, as DynamoDbWindowStore's `pageSize`. @default no limit */
  readonly pageSize?: number;
  /** The clock that decides which items have expired. @default Date.now */
  readonly now?: () => number;
  /** Whether conflicts carry the current item, as DynamoDB's ALL_OLD does (dynalite does not). @default true */
  readonly returnCurrentOnConflict?: boolean;
}

/** DynamoDB ends a Query page after 1 MB of items read. */
const PAGE_BYTES = 1024 * 1024;
const MAX_KEYS_PER_BATCH_GET = 100;

/** A buffered record with a timer, and its place in a scan of the table (for ties in fireAt). */
interface BufferedSlot {
  readonly item: Readonly<Record<string, unknown>>;
  readonly fireAt: number;
  readonly partitionRank: number;
  readonly rank: number;
  removed: boolean;
}

function bySlotOrder(a: BufferedSlot, b: BufferedSlot): number {
  return a.fireAt - b.fireAt || a.partitionRank - b.partitionRank || a.rank - b.rank;
}

/**
 * One timer's buffered records in (fireAt, table order): what a Query of the fire-time GSI returns,
 * without scanning the table. Removed records are dropped lazily; records whose fireAt is not a
 * finite number (which DynamoDB could not hold) are kept aside and merged in.
 */
class TimerIndex {
  /** By stored item: each is in at most one timer's index. */
  readonly #live = new Map<object, BufferedSlot>();
  #sorted: BufferedSlot[] = [];
  #removed = 0;
  readonly #odd = new Set<BufferedSlot>();

  get size(): number {
    return this.#live.size;
  }

  add(slot: BufferedSlot): void {
    this.#live.set(slot.item, slot);
    if (!Number.isFinite(slot.fireAt)) {
      this.#odd.add(slot);
      return;
    }
    // Records mostly come in fireAt order: the place is found from the end.
    const sorted = this.#sorted;
    let low = 0;
    let high = sorted.length;
    if (high === 0 || bySlotOrder(sorted[high - 1] as BufferedSlot, slot) <= 0) {
      sorted.push(slot);
      return;
    }
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (bySlotOrder(sorted[middle] as BufferedSlot, slot) <= 0) low = middle + 1;
      else high = middle;
    }
    sorted.splice(low, 0, slot);
  }

  remove(item: object): void {
    const slot = this.#live.get(item);
    if (slot === undefined) return;
    this.#live.delete(item);
    if (this.#odd.delete(slot)) return;
    slot.removed = true;
    this.#removed += 1;
    if (this.#removed > 64 && this.#removed * 2 > this.#sorted.length) {
      this.#sorted = this.#sorted.filter((s) => !s.removed);
      this.#removed = 0;
    }
  }

  /** The records with `fireAt <= watermark`, in (fireAt, table order). */
  due(watermark: number): Readonly<Record<string, unknown>>[] {
    const due: BufferedSlot[] = [];
    for (const slot of this.#sorted) {
      if (!(slot.fireAt <= watermark)) break;
      if (!slot.removed) due.push(slot);
    }
    if (this.#odd.size > 0) {
      for (const slot of this.#odd) if (slot.fireAt <= watermark) due.push(slot);
      due.sort(bySlotOrder);
    }
    return due.map((slot) => slot.item);
  }
}

interface Entry {
  readonly window: StoredWindow;
  /** Estimated stored size, for capacity units and page sizes. */
  readonly bytes: number;
}

/**
 * The window store in memory, with the semantics of {@link DynamoDbWindowStore}: the same conditions,
 * expiry, key validation and size limit, the same order of results. Its counter tells the requests
 * DynamoDB would have had for the same calls (BatchGets of 100 keys, Query pages of `pageSize` items
 * or 1 MB by the size estimate, one write per change), so an in-process benchmark can report
 * DynamoDB requests per event; capacity units are estimates after DynamoDB's rules (reads 4 KB a
 * unit, halved for the eventually consistent GSI; writes 1 KB a unit, again for the GSI). It is
 * never throttled. Expired items stay until overwritten, as before TTL deletes them.
 */
export class MemoryWindowStore implements StateStore {
  readonly counter = new RequestCounter();
  /** pk → sk → a join's buffered record, as its DynamoDB item. */
  readonly #buffered = new Map<string, Map<string, Readonly<Record<string, unknown>>>>();
  /** timer → its buffered records in fireAt order: the fire-time GSI of join buffers. */
  readonly #bufferedByTimer = new Map<string, TimerIndex>();
  /** Insertion ranks of `#buffered`'s partitions and items: the order a scan of the table meets them. */
  readonly #partitionRanks = new WeakMap<Map<string, Readonly<Record<string, unknown>>>, number>();
  /** Each stored item's rank in its partition's scan order, kept while it is overwritten in place. */
  readonly #itemRanks = new WeakMap<object, number>();
  #nextRank = 0;
  /** pk → sk → entry: a table. */
  readonly #table = new Map<string, Map<string, Entry>>();
  /** timer → `pk\0sk` → entry: the fire-time GSI. */
  readonly #index = new Map<string, Map<string, Entry>>();
  readonly #watermarks = new Map<string, StoredChannelWatermarks>();
  readonly #retentionMs: number;
  readonly #pageSize: number;
  readonly #now: () => number;
  readonly #returnCurrent: boolean;

  constructor(options: MemoryWindowStoreOptions = {}) {
    this.#retentionMs = options.retentionMs ?? DEFAULT_RETENTION_MS;
    this.#pageSize = options.pageSize ?? Number.POSITIVE_INFINITY;
    this.#now = options.now ?? Date.now;
    this.#returnCurrent = options.returnCurrentOnConflict ?? true;
  }

  async getWindows<A = unknown>(stageId: string, windows: readonly WindowRef[]): Promise<StoredWindow<A>[]> {
    const keys = windows.map((window) => ({
      pk: windowPartitionKey(stageId, window.key),
      sk: windowSortKey(window.start, window.end),
    }));
    const entries = this.#batchGet(keys, (pk, sk) => {
      const entry = this.#table.get(pk)?.get(sk);
      return entry === undefined ? undefined : { found: entry, bytes: entry.bytes };
    });
    return entries.flatMap((entry) => this.#live<A>(entry) ?? []);
  }

  /**
   * What a BatchGetItem of these keys finds, in the order first asked, once each, missing ones left
   * out; counted as DynamoDB would: one request per 100 distinct keys, and strongly consistent reads
   * cost a unit per 4 KB of each item, at least one.
   */
  #batchGet<T>(
    keys: readonly { pk: string; sk: string }[],
    read: (pk: string, sk: string) => { found: T; bytes: number } | undefined,
  ): T[] {
    const distinct = new Map(keys.map((key) => [`${key.pk}\u0000${key.sk}`, key]));
    const found: T[] = [];
    let index = 0;
    for (const { pk, sk } of distinct.values()) {
      const item = read(pk, sk);
      this.counter.request('BatchGetItem', index % MAX_KEYS_PER_BATCH_GET === 0 ? 1 : 0, readUnits(item?.bytes ?? 0));
      index += 1;
      if (item !== undefined) found.push(item.found);
    }
    return found;
  }

  async queryWindows<A = unknown>(stageId: string, keys: readonly string[]): Promise<Map<string, StoredWindow<A>[]>> {
    const result = new Map<string, StoredWindow<A>[]>(keys.map((key) => [key, []]));
    for (const key of result.keys()) {
      const partition = this.#table.get(windowPartitionKey(stageId, key));
      const entries = [...(partition ?? new Map<string, Entry>())]
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([, entry]) => entry);
      const windows: StoredWindow<A>[] = [];
      for (const page of this.#pages(entries, () => this.#pageSize)) {
        this.counter.request('Query', 1, readUnits(sumBytes(page)));
        for (const entry of page) {
          const live = this.#live<A>(entry);
          if (live !== undefined) windows.push(live);
        }
      }
      result.set(key, windows);
    }
    return result;
  }

  async dueWindows<A = unknown>(
    stageId: string,
    shardId: string,
    watermark: number,
    limit = Number.POSITIVE_INFINITY,
  ): Promise<StoredWindow<A>[]> {
    // DynamoDB cannot hold ±Infinity in a key condition: refuse it here too, so tests catch it.
    if (!Number.isFinite(watermark)) throw new InvalidStateRequestError(`the watermark must be finite: ${watermark}`);
    if (limit <= 0) return [];
    const entries = [...(this.#index.get(timerOf(stageId, shardId))?.values() ?? [])]
      .filter((entry) => entry.window.fireAt <= watermark)
      .sort((a, b) => a.window.fireAt - b.window.fireAt);
    const due: StoredWindow<A>[] = [];
    for (const page of this.#pages(entries, () => Math.min(this.#pageSize, limit - due.length))) {
      this.counter.request('Query', 1, readUnits(sumBytes(page)) / 2);
      for (const entry of page) {
        const live = this.#live<A>(entry);
        if (live !== undefined && due.length < limit) due.push(live);
      }
      if (due.length >= limit) break;
    }
    return due;
  }

  async commit(change: WindowChange): Promise<number> {
    validateChanges([change], this.#retentionMs);
    const result = this.#write(change);
    if ('conflict' in result) throw new StateConflictError(result.conflict);
    return result.version;
  }

  async commitAll(changes: readonly WindowChange[]): Promise<CommitOutcome> {
    validateChanges(changes, this.#retentionMs);
    const committed: CommittedChange[] = [];
    const conflicts: StateConflict[] = [];
    // The changes touch distinct windows, so writing them in order gives what any interleaving would.
    for (const change of changes) {
      const result = this.#write(change);
      if ('conflict' in result) conflicts.push(result.conflict);
      else committed.push({ change, version: result.version });
    }
    return { committed, conflicts };
  }

  async queryBuffered(stageId: string, ranges: readonly KeyRange[]): Promise<Map<string, BufferedRecord[]>> {
    const result = new Map<string, BufferedRecord[]>();
    for (const { key, from, to } of ranges) {
      const { low, high } = bufferedSortKeyRange(from, to);
      const items = [...(this.#buffered.get(windowPartitionKey(stageId, key)) ?? [])]
        .filter(([sk]) => sk >= low && sk <= high)
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([, item]) => item);
      const bytes = items.reduce((sum, item) => sum + estimateItemBytes(item), 0);
      this.counter.request('Query', Math.max(1, Math.ceil(bytes / PAGE_BYTES)), readUnits(bytes));
      result.set(key, this.#liveBuffered(items));
    }
    return result;
  }

  async dueBuffered(stageId: string, shardId: string, watermark: number): Promise<BufferedRecord[]> {
    const timer = timerOf(stageId, shardId);
    // The timer's records from its index, in fireAt order; ties in the order the table holds them.
    const items = this.#bufferedByTimer.get(timer)?.due(watermark) ?? [];
    this.counter.request('Query');
    return this.#liveBuffered(items);
  }

  async getBuffered(stageId: string, records: readonly BufferedRef[]): Promise<BufferedRecord[]> {
    const items = this.#batchGet(
      records.map((record) => bufferedItemKey(stageId, record)),
      (pk, sk) => {
        const item = this.#buffered.get(pk)?.get(sk);
        return item === undefined ? undefined : { found: item, bytes: estimateItemBytes(item) };
      },
    );
    return this.#liveBuffered(items);
  }

  async writeBuffered(
    stageId: string,
    puts: readonly BufferedPut[],
    deletes: readonly BufferedRecord[],
  ): Promise<void> {
    // DynamoDB refuses a BatchWriteItem that names one item twice ("Provided list of item keys
    // contains duplicates"), and across its concurrent chunks the order would be undefined anyway.
    const keys = new Set<string>();
    for (const record of [...puts.map((put) => put.record), ...deletes]) {
      const { pk, sk } = bufferedItemKey(stageId, record);
      const key = `${pk}\u0000${sk}`;
      if (keys.has(key)) {
        throw new InvalidStateRequestError(`one write of join buffers names the item ${pk} ${sk} twice`);
      }
      keys.add(key);
    }
    const now = this.#now();
    let bytes = 0;
    for (const put of puts) {
      const item = bufferedItem(stageId, put, expiresAtOf(put.fireAt, this.#retentionMs, now));
      const size = estimateItemBytes(item);
      if (size > MAX_STATE_ITEM_BYTES) {
        throw new InvalidStateRequestError(`a buffered join record of ${size} bytes does not fit in an item`);
      }
      bytes += size;
      const pk = item.pk as string;
      const sk = item.sk as string;
      let partition = this.#buffered.get(pk);
      if (partition === undefined) {
        partition = new Map();
        this.#buffered.set(pk, partition);
        this.#partitionRanks.set(partition, this.#nextRank++);
      }
      const previous = partition.get(sk);
      // An item overwritten keeps its place in the partition (a Map keeps a key's first position).
      const rank = previous === undefined ? this.#nextRank++ : (this.#itemRanks.get(previous) as number);
      if (previous !== undefined) this.#unindexBuffered(previous);
      const stored = cloneData(item);
      this.#itemRanks.set(stored, rank);
      partition.set(sk, stored);
      if (typeof stored.timer === 'string') {
        let byTimer = this.#bufferedByTimer.get(stored.timer);
        if (byTimer === undefined) {
          byTimer = new TimerIndex();
          this.#bufferedByTimer.set(stored.timer, byTimer);
        }
        byTimer.add({
          item: stored,
          fireAt: stored.fireAt as number,
          partitionRank: this.#partitionRanks.get(partition) as number,
          rank,
          removed: false,
        });
      }
    }
    for (const record of deletes) {
      const { pk, sk } = bufferedItemKey(stageId, record);
      const partition = this.#buffered.get(pk);
      const previous = partition?.get(sk);
      if (partition === undefined || previous === undefined) continue;
      // DynamoDB charges a delete the size of the item it deletes.
      bytes += estimateItemBytes(previous);
      this.#unindexBuffered(previous);
      partition.delete(sk);
    }
    const requests = Math.ceil((puts.length + deletes.length) / 25);
    if (requests > 0) this.counter.request('BatchWriteItem', requests, writeUnits(bytes));
  }

  /** Takes a buffered record out of the fire-time index, before it is replaced or deleted. */
  #unindexBuffered(item: Readonly<Record<string, unknown>>): void {
    if (typeof item.timer !== 'string') return;
    const byTimer = this.#bufferedByTimer.get(item.timer);
    byTimer?.remove(item);
    if (byTimer?.size === 0) this.#bufferedByTimer.delete(item.timer);
  }

  #liveBuffered(items: readonly Readonly<Record<string, unknown>>[]): BufferedRecord[] {
    const now = this.#now();
    return items.flatMap((item) =>
      isExpired(item.expiresAt as number, now) ? [] : (toBufferedRecord(cloneData(item)) ?? []),
    );
  }

  async loadWatermarks(stageId: string, shardId: string): Promise<StoredChannelWatermarks | undefined> {
    validateWatermarks(stageId, shardId, {}, 0);
    const found = this.#watermarks.get(watermarksId(stageId, shardId));
    this.counter.request('GetItem', 1, readUnits(found === undefined ? 0 : watermarksBytes(stageId, shardId, found)));
    return found === undefined ? undefined : structuredClone(found);
  }

  async saveWatermarks(
    stageId: string,
    shardId: string,
    channels: Readonly<Record<string, number>>,
    expectedVersion: number,
    positions?: Readonly<Record<string, string>>,
  ): Promise<StoredChannelWatermarks> {
    validateWatermarks(stageId, shardId, channels, expectedVersion);
    const id = watermarksId(stageId, shardId);
    const current = this.#watermarks.get(id);
    const allowed = expectedVersion === 0 ? current === undefined : current?.version === expectedVersion;
    if (!allowed) {
      this.counter.request('PutItem');
      this.counter.conditionalFailure();
      const reported = this.#returnCurrent && current !== undefined ? structuredClone(current) : undefined;
      throw new WatermarkConflictError(stageId, shardId, expectedVersion, reported);
    }
    const saved: StoredChannelWatermarks = {
      channels: normalizeNumbers(channels),
      ...(positions !== undefined && Object.keys(positions).length > 0 && { positions: { ...positions } }),
      version: expectedVersion + 1,
    };
    this.#watermarks.set(id, saved);
    this.counter.request('PutItem', 1, writeUnits(watermarksBytes(stageId, shardId, saved)));
    return structuredClone(saved);
  }

  #write(change: WindowChange): { version: number } | { conflict: StateConflict } {
    const { key, start, end } = change.kind === 'put' ? change.state : change.window;
    const pk = windowPartitionKey(change.stageId, key);
    const sk = windowSortKey(start, end);
    const existing = this.#table.get(pk)?.get(sk);
    const operation = change.kind === 'put' ? 'UpdateItem' : 'DeleteItem';
    const allowed =
      change.kind === 'put' && change.expectedVersion === 0
        ? existing === undefined || isExpired(existing.window.expiresAt, this.#now())
        : existing?.window.version === change.expectedVersion;
    if (!allowed) {
      this.counter.request(operation);
      this.counter.conditionalFailure();
      const current = this.#returnCurrent ? this.#live(existing) : undefined;
      return { conflict: current === undefined ? { change } : { change, current } };
    }
    if (existing !== undefined) this.#remove(pk, sk, existing);
    if (change.kind === 'delete') {
      this.counter.request(operation, 1, 2 * writeUnits(existing?.bytes ?? 0));
      return { version: 0 };
    }
    const previousFence = change.expectedVersion === 0 ? {} : (existing?.window.fence ?? {});
    const state = normalizeJson(change.state) as WindowState<unknown>;
    const item = windowItem({ ...change, state }, this.#retentionMs, previousFence, this.#now());
    const bytes = estimateItemBytes(item);
    const window: StoredWindow = {
      stageId: change.stageId,
      state,
      version: item.version as number,
      fence: item.fence as Record<string, string>,
      timer: item.timer as string,
      fireAt: normalizeNumber(change.fireAt),
      expiresAt: item.expiresAt as number,
    };
    const entry: Entry = { window, bytes };
    this.#partition(this.#table, pk).set(sk, entry);
    this.#partition(this.#index, window.timer).set(`${pk}\u0000${sk}`, entry);
    // The item's size, written to the table and to the GSI, as DynamoDB charges the larger of old and new.
    this.counter.request(operation, 1, 2 * writeUnits(Math.max(bytes, existing?.bytes ?? 0)));
    return { version: window.version };
  }

  #remove(pk: string, sk: string, entry: Entry): void {
    const partition = this.#table.get(pk);
    partition?.delete(sk);
    if (partition?.size === 0) this.#table.delete(pk);
    const timer = this.#index.get(entry.window.timer);
    timer?.delete(`${pk}\u0000${sk}`);
    if (timer?.size === 0) this.#index.delete(entry.window.timer);
  }

  #partition(map: Map<string, Map<string, Entry>>, id: string): Map<string, Entry> {
    let partition = map.get(id);
    if (partition === undefined) {
      partition = new Map();
      map.set(id, partition);
    }
    return partition;
  }

  /**
   * Splits query results into the pages DynamoDB would return: a page ends at its Limit or once it
   * holds 1 MB, and then says there may be more even when there is not (so one more request follows).
   */
  *#pages(entries: readonly Entry[], limit: () => number): Generator<Entry[]> {
    let next = 0;
    for (;;) {
      const pageLimit = limit();
      const page: Entry[] = [];
      let bytes = 0;
      while (next < entries.length && page.length < pageLimit && bytes < PAGE_BYTES) {
        const entry = entries[next] as Entry;
        page.push(entry);
        bytes += entry.bytes;
        next += 1;
      }
      yield page;
      const cut = page.length >= pageLimit || bytes >= PAGE_BYTES;
      if (!cut) return;
    }
  }

  #live<A>(entry: Entry | undefined): StoredWindow<A> | undefined {
    if (entry === undefined || isExpired(entry.window.expiresAt, this.#now())) return undefined;
    return cloneData(entry.window) as StoredWindow<A>;
  }
}

/**
 * What structuredClone gives for plain data (objects, arrays, primitives), without its serialisation:
 * the store hands out a copy of every item it reads. Anything else (a Date, a Map, a function) goes
 * through structuredClone itself.
 */
function cloneData<T>(value: T): T {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) {
    if (Object.getPrototypeOf(value) !== Array.prototype) return structuredClone(value);
    return value.map(cloneData) as T;
  }
  const prototype = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) return structuredClone(value);
  const copy: Record<string, unknown> = {};
  for (const name of Object.keys(value)) {
    const member = cloneData((value as Record<string, unknown>)[name]);
    // '__proto__' as a member of its own (JSON.parse makes one), not the prototype.
    if (name === '__proto__')
      Object.defineProperty(copy, name, { value: member, enumerable: true, writable: true, configurable: true });
    else copy[name] = member;
  }
  return copy as T;
}

function watermarksId(stageId: string, shardId: string): string {
  return `${watermarksPartitionKey(stageId)}\u0000${shardId}`;
}

function watermarksBytes(stageId: string, shardId: string, saved: StoredChannelWatermarks): number {
  return estimateItemBytes({ pk: watermarksPartitionKey(stageId), sk: shardId, ...saved });
}

function sumBytes(entries: readonly Entry[]): number {
  return entries.reduce((sum, entry) => sum + entry.bytes, 0);
}

function readUnits(bytes: number): number {
  return Math.max(1, Math.ceil(bytes / 4096));
}

function writeUnits(bytes: number): number {
  return Math.max(1, Math.ceil(bytes / 1024));
}

/** A number as DynamoDB gives it back: it has no negative zero. */
function normalizeNumber(value: number): number {
  return value === 0 ? 0 : value;
}

function normalizeNumbers(record: Readonly<Record<string, number>>): Record<string, number> {
  return Object.fromEntries(Object.entries(record).map(([name, value]) => [name, normalizeNumber(value)]));
}

/**
 * A JSON value as it comes back from DynamoDB through the marshalling DynamoDbWindowStore uses:
 * undefined members and elements and functions dropped, -0 as 0. Values that are not JSON were
 * refused by the validation before this.
 */
function normalizeJson(value: unknown): unknown {
  if (typeof value === 'number') return normalizeNumber(value);
  if (Array.isArray(value)) {
    return value.filter((element) => element !== undefined && typeof element !== 'function').map(normalizeJson);
  }
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, member]) => member !== undefined && typeof member !== 'function')
        .map(([name, member]) => [name, normalizeJson(member)]),
    );
  }
  return value;
}
