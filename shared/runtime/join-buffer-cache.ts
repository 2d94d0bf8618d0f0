import type { JoinSide } from '../dag/graph.js';
import {
  arrivalAboveFloors,
  type BufferedRecord,
  indexOfIdentity,
  type JoinArrival,
  type JoinSpec,
  joinFireAt,
  outerSides,
} from '../joins/join-operator.js';

/**
 * A join stage's buffers per shard, kept in the execution environment between invocations
 * (docs/joins.md, "The buffer cache"), so that a batch reads from memory what it would otherwise
 * Query key by key. A key's records always reach one shard, and a shard's batches run one at a time,
 * so the stage that wrote a shard's buffers knows them, as long as nobody else wrote them since:
 *
 * - a shard's cache starts only from nothing: the shard's first batch ever (no channel watermarks
 *   item) on a shard with no parent (after a reshard, the keys' records are under the parent);
 * - it is exact at one version of the shard's channel watermarks item, which every batch that writes
 *   buffers moves before its first buffer write (a claim) and after its last: a batch of another
 *   environment, committed or crashed among its writes, leaves another version, and the cache is dropped;
 * - a batch that fails, or is still running (a timed-out invocation in the same environment), drops it;
 * - records the watermark is done with leave it (unless an outer join has still to emit them), and
 *   each side's floor rises to the latest time dropped: a key whose arrivals need a record at or
 *   below a floor is Queried, as is every key of a shard without a cache.
 *
 * So correctness never rests on the cache: what it answers equals what the Query would have.
 */
export class JoinBufferCache {
  readonly #shards = new Map<string, ShardBuffers>();

  /** @param maxRecords above this, a shard's cache is dropped (its batches Query, as without a cache) */
  constructor(readonly maxRecords = 200_000) {}

  /**
   * A batch's view of the shard's buffers, if this environment knows them exactly at `version`, the
   * channel watermarks version the batch loaded. `startsEmpty`: nothing was ever buffered for the
   * shard's keys (asked only when `version` is 0 and there is no cache).
   */
  async open(
    stageId: string,
    shardId: string,
    version: number,
    startsEmpty: () => Promise<boolean>,
  ): Promise<CachedShard | undefined> {
    const id = `${stageId}\u0000${shardId}`;
    let shard = this.#shards.get(id);
    if (shard !== undefined && (shard.running || shard.version !== version)) {
      this.#shards.delete(id);
      shard = undefined;
    }
    if (shard === undefined) {
      if (version !== 0 || !(await startsEmpty())) return undefined;
      shard = new ShardBuffers();
      this.#shards.set(id, shard);
    }
    shard.running = true;
    const owned = shard;
    const release = () => {
      if (this.#shards.get(id) === owned) this.#shards.delete(id);
    };
    return new CachedShard(owned, this.maxRecords, release);
  }
}

/** One batch's use of a shard's cache: lookups, then its commit or its end. */
export class CachedShard {
  #settled = false;

  constructor(
    private readonly shard: ShardBuffers,
    private readonly maxRecords: number,
    private readonly release: () => void,
  ) {}

  /**
   * A key's buffered records with times in [from, to], as a Query would return them, or undefined when
   * one of its arrivals needs a record the cache may have dropped. The records themselves, not copies:
   * nothing in the stage changes a buffered record (a mark is a new object), and each row that hands
   * a value to the operators after the join copies it (docs/architecture.md, "A value an operator
   * receives is its own").
   */
  lookup(
    spec: JoinSpec,
    key: string,
    arrivals: readonly JoinArrival[],
    from: number,
    to: number,
  ): BufferedRecord[] | undefined {
    const { floors } = this.shard;
    for (const arrival of arrivals) if (!arrivalAboveFloors(spec, arrival, floors)) return undefined;
    const found: BufferedRecord[] = [];
    for (const record of this.shard.records.get(key) ?? []) {
      if (record.time >= from && record.time <= to) found.push(record);
    }
    return found;
  }

  /**
   * The batch's buffer writes all landed and the channel watermarks were saved at `version`: the
   * cache holds them, then lets go of what the watermark is done with.
   */
  commit(spec: JoinSpec, puts: readonly BufferedRecord[], version: number, watermark: number): void {
    if (this.#settled) return;
    this.#settled = true;
    const shard = this.shard;
    const outer = outerSides(spec.type);
    for (const record of puts) {
      const records = shard.records.get(record.key);
      if (records === undefined) {
        shard.records.set(record.key, [record]);
        shard.size += 1;
      } else {
        // A key's records keep the place they were first written at, as a Query's map kept them.
        const at = indexOfIdentity(records, record);
        if (at < 0) {
          records.push(record);
          shard.size += 1;
        } else records[at] = record;
      }
      shard.expiries.push({ fireAt: joinFireAt(spec, record.side, record.time), record });
    }
    // Done with: no arrival that is not late can join it; an outer side's record that never joined
    // stays until its tombstone (one that joined is never written again).
    for (let next = shard.expiries.peek(); next !== undefined && next.fireAt <= watermark; ) {
      shard.expiries.pop();
      const records = shard.records.get(next.record.key);
      const at = records === undefined ? -1 : indexOfIdentity(records, next.record);
      const record = records?.[at];
      if (
        records !== undefined &&
        record !== undefined &&
        (record.done === true || record.matched || !outer.has(record.side))
      ) {
        records.splice(at, 1);
        if (records.length === 0) shard.records.delete(record.key);
        shard.size -= 1;
        shard.floors[record.side] = Math.max(shard.floors[record.side], record.time);
      }
      next = shard.expiries.peek();
    }
    shard.version = version;
    shard.running = false;
    if (shard.size > this.maxRecords) this.release();
  }

  /** The batch failed, or may have written part of its buffers: the shard's cache is not exact any more. */
  abandon(): void {
    if (this.#settled) return;
    this.#settled = true;
    this.release();
  }
}

class ShardBuffers {
  /** key → the key's records as the table holds them, in the order they were first written. */
  readonly records = new Map<string, BufferedRecord[]>();
  /** Each side's latest time dropped: below or at it, a key's records may be missing. */
  readonly floors: Record<JoinSide, number> = { left: Number.NEGATIVE_INFINITY, right: Number.NEGATIVE_INFINITY };
  /** Each write's fireAt, with the record written (its key and identity name the record cached now). */
  readonly expiries = new FireAtHeap<{ readonly fireAt: number; readonly record: BufferedRecord }>();
  size = 0;
  version = 0;
  /** A batch has it open. */
  running = false;
}

/**
 * A binary heap on fireAt: records are done with in fireAt order, which is mostly, not always, their
 * write order. The comparison is written out (not a comparator passed in): it runs log n times a write.
 */
class FireAtHeap<T extends { readonly fireAt: number }> {
  readonly #items: T[] = [];

  peek(): T | undefined {
    return this.#items[0];
  }

  push(item: T): void {
    const items = this.#items;
    items.push(item);
    let at = items.length - 1;
    while (at > 0) {
      const parent = (at - 1) >> 1;
      if ((items[parent] as T).fireAt <= item.fireAt) break;
      items[at] = items[parent] as T;
      at = parent;
    }
    items[at] = item;
  }

  pop(): T | undefined {
    const items = this.#items;
    const top = items[0];
    const last = items.pop();
    if (items.length === 0 || last === undefined) return top;
    let at = 0;
    for (;;) {
      const left = 2 * at + 1;
      if (left >= items.length) break;
      const right = left + 1;
      const child = right < items.length && (items[right] as T).fireAt < (items[left] as T).fireAt ? right : left;
      if ((items[child] as T).fireAt >= last.fireAt) break;
      items[at] = items[child] as T;
      at = child;
    }
    items[at] = last;
    return top;
  }
}
