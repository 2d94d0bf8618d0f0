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

/**
 * A join's buffers in memory, with the semantics of DynamoDbWindowStore's (docs/joins.md): one item
 * per buffered record, their fire-time index, expiry, and the requests DynamoDB would have had.
 */
export class MemoryJoinBuffers implements JoinStore {
  /** pk → sk → a join's buffered record, as its DynamoDB item. */
  readonly #buffered = new Map<string, Map<string, Readonly<Record<string, unknown>>>>();
  /** timer → its buffered records in fireAt order: the fire-time GSI of join buffers. */
  readonly #bufferedByTimer = new Map<string, TimerIndex>();
  /** Insertion ranks of `#buffered`'s partitions and items: the order a scan of the table meets them. */
  readonly #partitionRanks = new WeakMap<Map<string, Readonly<Record<string, unknown>>>, number>();
  /** Each stored item's rank in its partition's scan order, kept while it is overwritten in place. */
  readonly #itemRanks = new WeakMap<object, number>();
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
    const items = countedBatchGet(
      this.counter,
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
    const now = this.options.now();
    // The items as they will be stored: the value copied, so that the caller's objects stay theirs.
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
    const keys = new Set<string>();
    for (const { pk, sk } of [...(items as { pk: string; sk: string }[]), ...deleted]) {
      const key = `${pk}\u0000${sk}`;
      if (keys.has(key)) {
        throw new InvalidStateRequestError(`one write of join buffers names the item ${pk} ${sk} twice`);
      }
      keys.add(key);
    }
    const sizes = items.map((item) => {
      const size = estimateItemBytes(item);
      if (size > MAX_STATE_ITEM_BYTES) {
        throw new InvalidStateRequestError(`a buffered join record of ${size} bytes does not fit in an item`);
      }
      return size;
    });
    let bytes = 0;
    for (const [index, stored] of items.entries()) {
      bytes += sizes[index] as number;
      const pk = stored.pk as string;
      const sk = stored.sk as string;
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
    for (const { pk, sk } of deleted) {
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
    const now = this.options.now();
    return items.flatMap((item) => {
      if (isExpired(item.expiresAt as number, now)) return [];
      // Every member but the value is a string, number or boolean: only the value needs copying.
      const record = toBufferedRecord(item);
      return record === undefined ? [] : [{ ...record, value: cloneData(record.value) }];
    });
  }
}
