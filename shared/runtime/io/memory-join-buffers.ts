import type { BufferedRecord } from '../../joins/join-operator.js';
import { estimateItemBytes, MAX_STATE_ITEM_BYTES } from './item-size.js';
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
import { cloneData } from './memory-data.js';
import { countedBatchGet, PAGE_BYTES, readUnits, writeUnits } from './memory-request-costs.js';
import type { RequestCounter } from './request-counter.js';
import { InvalidStateRequestError } from './state-errors.js';
import { timerOf, windowPartitionKey } from './state-keys.js';
import { expiresAtOf, isExpired } from './window-items.js';

/**
 * A buffered record's item as the stand-in holds it, with what DynamoDB keeps beside an item: its
 * size, and its place in a scan of the table (for ties in fireAt on the fire-time index).
 */
class StoredItem {
  /** Taken out of its timer's index (replaced or deleted); dropped from the index lazily. */
  removed = false;

  constructor(
    readonly item: Readonly<Record<string, unknown>>,
    readonly bytes: number,
    readonly fireAt: number,
    readonly partitionRank: number,
    readonly rank: number,
  ) {}
}

function byTableOrder(a: StoredItem, b: StoredItem): number {
  return a.fireAt - b.fireAt || a.partitionRank - b.partitionRank || a.rank - b.rank;
}

/**
 * One timer's buffered records in (fireAt, table order): what a Query of the fire-time GSI returns,
 * without scanning the table. Removed records are dropped lazily; records whose fireAt is not a
 * finite number (which DynamoDB could not hold) are kept aside and merged in.
 */
class TimerIndex {
  #size = 0;
  #sorted: StoredItem[] = [];
  #removed = 0;
  readonly #odd = new Set<StoredItem>();

  get size(): number {
    return this.#size;
  }

  add(stored: StoredItem): void {
    this.#size += 1;
    if (!Number.isFinite(stored.fireAt)) {
      this.#odd.add(stored);
      return;
    }
    // Records mostly come in fireAt order: the place is found from the end.
    const sorted = this.#sorted;
    let low = 0;
    let high = sorted.length;
    if (high === 0 || byTableOrder(sorted[high - 1] as StoredItem, stored) <= 0) {
      sorted.push(stored);
      return;
    }
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (byTableOrder(sorted[middle] as StoredItem, stored) <= 0) low = middle + 1;
      else high = middle;
    }
    sorted.splice(low, 0, stored);
  }

  /** `stored` was added and is being replaced or deleted. */
  remove(stored: StoredItem): void {
    this.#size -= 1;
    stored.removed = true;
    if (this.#odd.delete(stored)) return;
    this.#removed += 1;
    if (this.#removed > 64 && this.#removed * 2 > this.#sorted.length) {
      this.#sorted = this.#sorted.filter((s) => !s.removed);
      this.#removed = 0;
    }
  }

  /** The records with `fireAt <= watermark`, in (fireAt, table order). */
  due(watermark: number): StoredItem[] {
    const due: StoredItem[] = [];
    for (const stored of this.#sorted) {
      if (!(stored.fireAt <= watermark)) break;
      if (!stored.removed) due.push(stored);
    }
    if (this.#odd.size > 0) {
      for (const stored of this.#odd) if (stored.fireAt <= watermark) due.push(stored);
      due.sort(byTableOrder);
    }
    return due;
  }
}

/** A partition of the table: its items by sort key, and its place in a scan of the table. */
interface Partition {
  readonly items: Map<string, StoredItem>;
  readonly rank: number;
}

/**
 * A join's buffers in memory, with the semantics of DynamoDbWindowStore's (docs/joins.md): one item
 * per buffered record, their fire-time index, expiry, and the requests DynamoDB would have had.
 */
export class MemoryJoinBuffers implements JoinStore {
  /** pk → its buffered records' items. */
  readonly #buffered = new Map<string, Partition>();
  /** timer → its buffered records in fireAt order: the fire-time GSI of join buffers. */
  readonly #bufferedByTimer = new Map<string, TimerIndex>();
  #nextRank = 0;

  /** @param counter shared with the store the buffers are part of */
  constructor(
    readonly counter: RequestCounter,
    private readonly options: { readonly retentionMs: number; readonly now: () => number },
  ) {}

  async queryBuffered(stageId: string, ranges: readonly KeyRange[]): Promise<Map<string, BufferedRecord[]>> {
    const result = new Map<string, BufferedRecord[]>();
    for (const { key, from, to } of ranges) {
      const { low, high } = bufferedSortKeyRange(from, to);
      const found: [string, StoredItem][] = [];
      for (const entry of this.#buffered.get(windowPartitionKey(stageId, key))?.items ?? []) {
        if (entry[0] >= low && entry[0] <= high) found.push(entry);
      }
      found.sort(([a], [b]) => (a < b ? -1 : 1));
      const items = found.map(([, stored]) => stored);
      const bytes = items.reduce((sum, stored) => sum + stored.bytes, 0);
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
    const items = countedBatchGet(
      this.counter,
      records.map((record) => bufferedItemKey(stageId, record)),
      (pk, sk) => {
        const stored = this.#buffered.get(pk)?.items.get(sk);
        return stored === undefined ? undefined : { found: stored, bytes: stored.bytes };
      },
    );
    return this.#liveBuffered(items);
  }

  /**
   * The items as DynamoDB would store them, at about the CPU the client pays to send them: each
   * item built once (bufferedItem, as DynamoDbWindowStore sends it), its value copied once (the
   * caller's objects stay theirs, as marshalling leaves them) and its size estimated once.
   */
  async writeBuffered(
    stageId: string,
    puts: readonly BufferedPut[],
    deletes: readonly BufferedRecord[],
  ): Promise<void> {
    const now = this.options.now();
    const items = puts.map((put) =>
      bufferedItem(
        stageId,
        { ...put, record: { ...put.record, value: cloneData(put.record.value) } },
        expiresAtOf(put.fireAt, this.options.retentionMs, now),
      ),
    );
    const deleted = deletes.map((record) => bufferedItemKey(stageId, record));
    // DynamoDB refuses a BatchWriteItem that names one item twice ("Provided list of item keys
    // contains duplicates"), and across its concurrent chunks the order would be undefined anyway.
    const named = new Map<string, Set<string>>();
    for (const { pk, sk } of [...(items as { pk: string; sk: string }[]), ...deleted]) {
      let sortKeys = named.get(pk);
      if (sortKeys === undefined) {
        sortKeys = new Set();
        named.set(pk, sortKeys);
      }
      if (sortKeys.has(sk)) {
        throw new InvalidStateRequestError(`one write of join buffers names the item ${pk} ${sk} twice`);
      }
      sortKeys.add(sk);
    }
    const sizes = items.map((item) => {
      const size = estimateItemBytes(item);
      if (size > MAX_STATE_ITEM_BYTES) {
        throw new InvalidStateRequestError(`a buffered join record of ${size} bytes does not fit in an item`);
      }
      return size;
    });
    let bytes = 0;
    for (const [index, item] of items.entries()) {
      const size = sizes[index] as number;
      bytes += size;
      const pk = item.pk as string;
      const sk = item.sk as string;
      let partition = this.#buffered.get(pk);
      if (partition === undefined) {
        partition = { items: new Map(), rank: this.#nextRank++ };
        this.#buffered.set(pk, partition);
      }
      const previous = partition.items.get(sk);
      // An item overwritten keeps its place in the partition (a Map keeps a key's first position).
      const rank = previous === undefined ? this.#nextRank++ : previous.rank;
      if (previous !== undefined) this.#unindexBuffered(previous);
      const stored = new StoredItem(item, size, item.fireAt as number, partition.rank, rank);
      partition.items.set(sk, stored);
      if (typeof item.timer === 'string') {
        let byTimer = this.#bufferedByTimer.get(item.timer);
        if (byTimer === undefined) {
          byTimer = new TimerIndex();
          this.#bufferedByTimer.set(item.timer, byTimer);
        }
        byTimer.add(stored);
      }
    }
    for (const { pk, sk } of deleted) {
      const partition = this.#buffered.get(pk);
      const previous = partition?.items.get(sk);
      if (partition === undefined || previous === undefined) continue;
      // DynamoDB charges a delete the size of the item it deletes.
      bytes += previous.bytes;
      this.#unindexBuffered(previous);
      partition.items.delete(sk);
    }
    const requests = Math.ceil((puts.length + deletes.length) / 25);
    if (requests > 0) this.counter.request('BatchWriteItem', requests, writeUnits(bytes));
  }

  /** Takes a buffered record out of the fire-time index, before it is replaced or deleted. */
  #unindexBuffered(stored: StoredItem): void {
    const timer = stored.item.timer;
    if (typeof timer !== 'string') return;
    const byTimer = this.#bufferedByTimer.get(timer);
    byTimer?.remove(stored);
    if (byTimer?.size === 0) this.#bufferedByTimer.delete(timer);
  }

  #liveBuffered(items: readonly StoredItem[]): BufferedRecord[] {
    const now = this.options.now();
    return items.flatMap(({ item }) => {
      if (isExpired(item.expiresAt as number, now)) return [];
      // Every member but the value is a string, number or boolean: only the value needs copying.
      const record = toBufferedRecord(item, item.kind === 'join' ? cloneData(item.v) : undefined);
      return record === undefined ? [] : [record];
    });
  }
}
