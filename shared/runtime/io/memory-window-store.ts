import type { BufferedRecord } from '../../joins/join-operator.js';
import type { WindowState } from '../../windows/types.js';
import { estimateItemBytes } from './item-size.js';
import type { BufferedPut, BufferedRef, KeyRange } from './join-store.js';
import { cloneData, normalizeJson, normalizeNumber, normalizeNumbers } from './memory-data.js';
import { MemoryJoinBuffers } from './memory-join-buffers.js';
import { countedBatchGet, queryPages, readUnits, sumBytes, writeUnits } from './memory-request-costs.js';
import { RequestCounter } from './request-counter.js';
import { InvalidStateRequestError, StateConflictError, WatermarkConflictError } from './state-errors.js';
import { timerOf, watermarksPartitionKey, windowPartitionKey, windowSortKey } from './state-keys.js';
import type {
  CommitOutcome,
  CommittedChange,
  StateConflict,
  StateStore,
  StoredChannelWatermarks,
  StoredWindow,
  WindowChange,
  WindowRef,
} from './state-store.js';
import { DEFAULT_RETENTION_MS, isExpired, validateChanges, validateWatermarks, windowItem } from './window-items.js';

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

interface Entry {
  readonly window: StoredWindow;
  /** Estimated stored size, for capacity units and page sizes. */
  readonly bytes: number;
}

/**
 * The state store in memory (window items and channel watermarks here, join buffers in
 * {@link MemoryJoinBuffers}), with the semantics of {@link DynamoDbWindowStore}: the same conditions,
 * expiry, key validation and size limit, the same order of results. Its counter tells the requests
 * DynamoDB would have had for the same calls (BatchGets of 100 keys, Query pages of `pageSize` items
 * or 1 MB by the size estimate, one write per change), so an in-process benchmark can report
 * DynamoDB requests per event (memory-request-costs.ts); capacity units are estimates after DynamoDB's rules (reads 4 KB a
 * unit, halved for the eventually consistent GSI; writes 1 KB a unit, again for the GSI). It is
 * never throttled. Expired items stay until overwritten, as before TTL deletes them.
 */
export class MemoryWindowStore implements StateStore {
  readonly counter = new RequestCounter();
  /** A join's buffered records: their own items, sharing this store's counter and clock. */
  readonly #buffers: MemoryJoinBuffers;
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
    this.#buffers = new MemoryJoinBuffers(this.counter, { retentionMs: this.#retentionMs, now: this.#now });
  }

  async getWindows<A = unknown>(stageId: string, windows: readonly WindowRef[]): Promise<StoredWindow<A>[]> {
    const keys = windows.map((window) => ({
      pk: windowPartitionKey(stageId, window.key),
      sk: windowSortKey(window.start, window.end),
    }));
    const entries = countedBatchGet(this.counter, keys, (pk, sk) => {
      const entry = this.#table.get(pk)?.get(sk);
      return entry === undefined ? undefined : { found: entry, bytes: entry.bytes };
    });
    return entries.flatMap((entry) => this.#live<A>(entry) ?? []);
  }

  async queryWindows<A = unknown>(stageId: string, keys: readonly string[]): Promise<Map<string, StoredWindow<A>[]>> {
    const result = new Map<string, StoredWindow<A>[]>(keys.map((key) => [key, []]));
    for (const key of result.keys()) {
      const partition = this.#table.get(windowPartitionKey(stageId, key));
      const entries = [...(partition ?? new Map<string, Entry>())]
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([, entry]) => entry);
      const windows: StoredWindow<A>[] = [];
      for (const page of queryPages(entries, () => this.#pageSize)) {
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
    for (const page of queryPages(entries, () => Math.min(this.#pageSize, limit - due.length))) {
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

  queryBuffered(stageId: string, ranges: readonly KeyRange[]): Promise<Map<string, BufferedRecord[]>> {
    return this.#buffers.queryBuffered(stageId, ranges);
  }

  dueBuffered(stageId: string, shardId: string, watermark: number): Promise<BufferedRecord[]> {
    return this.#buffers.dueBuffered(stageId, shardId, watermark);
  }

  getBuffered(stageId: string, records: readonly BufferedRef[]): Promise<BufferedRecord[]> {
    return this.#buffers.getBuffered(stageId, records);
  }

  writeBuffered(stageId: string, puts: readonly BufferedPut[], deletes: readonly BufferedRecord[]): Promise<void> {
    return this.#buffers.writeBuffered(stageId, puts, deletes);
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

  #live<A>(entry: Entry | undefined): StoredWindow<A> | undefined {
    if (entry === undefined || isExpired(entry.window.expiresAt, this.#now())) return undefined;
    return cloneData(entry.window) as StoredWindow<A>;
  }
}

function watermarksId(stageId: string, shardId: string): string {
  return `${watermarksPartitionKey(stageId)}\u0000${shardId}`;
}

function watermarksBytes(stageId: string, shardId: string, saved: StoredChannelWatermarks): number {
  return estimateItemBytes({ pk: watermarksPartitionKey(stageId), sk: shardId, ...saved });
}
