import type { JoinNode, JoinSide } from '../dag/graph.js';
import type { StageSpec } from '../dag/plan-types.js';
import {
  type BufferedRecord,
  bufferIdentity,
  bufferRange,
  indexOfIdentity,
  type JoinArrival,
  type JoinOutput,
  type JoinSpec,
  joinFireAt,
  joinKeyBatch,
  joinOutputId,
  outerSides,
} from '../joins/join-operator.js';
import { DeadLetterReasons, RecordProcessingError } from '../operators/record-errors.js';
import { compareStrings } from '../util/compare-strings.js';
import type { Decoded } from './decode.js';
import { inheritedDue } from './inherited-timers.js';
import { MAX_STATE_ITEM_BYTES } from './io/item-size.js';
import type { BufferedPut, JoinStore, KeyRange } from './io/join-store.js';
import type { ShardDirectory } from './io/shard-directory.js';
import type { StoredChannelWatermarks, WatermarkStore } from './io/state-store.js';
import type { CachedShard, JoinBufferCache } from './join-buffer-cache.js';
import { jsonBytesAbove } from './json-bytes.js';
import { ownedValue } from './owned-value.js';
import type { Element, InputRecord } from './records.js';
import type { Step } from './stage-program.js';
import {
  type Arrival,
  producedRecord,
  recordReaching,
  type StatefulBatchSink,
  type WalkedBatch,
  walkBatch,
} from './stateful-batch.js';

export interface JoinStageOptions {
  readonly stage: StageSpec;
  readonly join: JoinNode;
  /** Channel watermarks and applied positions. */
  readonly watermarks: Pick<WatermarkStore, 'loadWatermarks'>;
  readonly buffers: JoinStore;
  /** The operators after the join, compiled. */
  readonly downstream: Step;
  /** The stages that write the join's stream (its two sides). */
  readonly producers: readonly string[];
  /** The execution environment's cache of the buffers (join-buffer-cache.ts); none: every key is Queried. */
  readonly cache?: JoinBufferCache;
  /**
   * The join stream's shards: whether a shard has parents (a reshard: its keys' records are not all
   * its own, and records timed on the parents that it owns by hash key are its to emit).
   */
  readonly shards?: Pick<ShardDirectory, 'describeShard'>;
}

/** A record on a join's late output: the record, its side and time, and the watermark it missed. */
export interface JoinLateRecord {
  readonly id: string;
  readonly key: string;
  readonly side: 'left' | 'right';
  readonly time: number;
  readonly watermark: number;
  readonly reason: string;
  readonly value: unknown;
}

/**
 * What a join stage did with one batch: the buffer writes to make once its outputs are written, each
 * item written once, in any order (a crash can leave any part of them written).
 */
export interface JoinBatch extends WalkedBatch {
  readonly puts: BufferedPut[];
  /** The channel watermarks as loaded: what a claim before the buffer writes saves again. */
  readonly loaded: StoredChannelWatermarks | undefined;
  /** The batch's view of the shard's cached buffers, to commit or abandon with the batch. */
  readonly cached: CachedShard | undefined;
  readonly counts: { readonly pairs: number; readonly unmatched: number; readonly duplicates: number; late: number };
}

/**
 * One key's share of a batch: its arrivals in shard order (the walked arrival and what the pure join
 * takes from it, index by index), the buffered records read for it, and the records it changed.
 */
interface KeyGroup {
  readonly arrivals: Arrival[];
  readonly joins: JoinArrival[];
  buffered: readonly BufferedRecord[];
  changed: readonly BufferedRecord[];
}

/**
 * The record a pair is reported under: that of its member that arrived last in this batch (the other
 * was buffered before, or arrived earlier in the batch). Any attempt of the batch meets that member
 * again, as an arrival or as a replay of one, so the pair keeps its position on a shuffle stream
 * (docs/shuffle.md) however Lambda cuts the batch.
 */
function pairOrigin(group: KeyGroup, output: JoinOutput): InputRecord {
  for (let index = group.joins.length - 1; index >= 0; index -= 1) {
    const join = group.joins[index] as JoinArrival;
    if ((join.side === 'left' ? output.left : output.right)?.id === join.id) {
      return (group.arrivals[index] as Arrival).record;
    }
  }
  return (group.arrivals.at(-1) as Arrival).record;
}

/** The semantics of a join node, as the pure operator takes them. */
export function joinSpecOf(join: JoinNode): JoinSpec {
  return { condition: join.condition, type: join.type, allowedLateness: join.allowedLateness };
}

/** Room kept in an item beside a buffered record's value. */
const ITEM_OVERHEAD_BYTES = 1024;

/**
 * One batch of a join stage (docs/joins.md): the batch walked in shard order, each key's buffered
 * records in the range its arrivals can touch read with one Query, the join run per key, and, for
 * outer joins, the records the watermark is done with emitted alone if they never joined. The caller
 * writes the outputs first and the buffers after: a crash between them repeats outputs (same ids),
 * never loses one; a record already in the buffer is not joined again, but marks its partners again.
 *
 * A crash among the buffer writes leaves any part of them written, and the retry replays the batch
 * against that. Nothing the batch is done with is deleted: it becomes a tombstone, so that the replay
 * still finds it as a partner and does not emit it again; and a replayed record the crashed attempt
 * wrote marks its partners again (joinKeyBatch). The replay then reaches the same flags as a run
 * without the crash, so an outer join emits a record alone only if it never joined (docs/joins.md).
 */
export class JoinStage {
  readonly spec: JoinSpec;

  constructor(private readonly options: JoinStageOptions) {
    this.spec = joinSpecOf(options.join);
  }

  async process(
    records: readonly InputRecord[],
    decoded: readonly (readonly Decoded[] | RecordProcessingError)[],
    sink: StatefulBatchSink,
  ): Promise<JoinBatch> {
    const { stage, join, buffers } = this.options;
    const shardId = (records[0] as InputRecord).position.shardId;
    let loaded: StoredChannelWatermarks | undefined;
    const loader = {
      loadWatermarks: async (stageId: string, shard: string) => {
        const found = await this.options.watermarks.loadWatermarks(stageId, shard);
        // The shard's own item, not its parents' (read for their positions after a reshard).
        if (shard === shardId) loaded = found;
        return found;
      },
    };
    const walked = await walkBatch(loader, records, decoded, sink.deadLetter.bind(sink), {
      stageId: stage.id,
      producers: this.options.producers,
      operator: join.name,
      ...(this.options.shards !== undefined && { lineage: { directory: this.options.shards, stream: stage.input } }),
    });
    const counts = { pairs: 0, unmatched: 0, duplicates: 0, late: 0 };

    const byKey = new Map<string, KeyGroup>();
    for (const arrival of walked.arrivals) {
      const { element } = arrival;
      if (element.side === undefined) {
        sink.deadLetter(arrival.record, this.#error('record on the join stream has no side'), element.id);
        continue;
      }
      if (jsonBytesAbove(element.value, MAX_STATE_ITEM_BYTES - ITEM_OVERHEAD_BYTES)) {
        const error = this.#error('record is too large to be buffered in a DynamoDB item', 'stateTooLarge');
        sink.deadLetter(arrival.record, error, element.id);
        continue;
      }
      const join: JoinArrival = {
        side: element.side,
        time: arrival.time,
        id: element.id,
        value: element.value,
        watermark: arrival.watermark,
      };
      const group = byKey.get(arrival.key);
      if (group === undefined)
        byKey.set(arrival.key, { arrivals: [arrival], joins: [join], buffered: [], changed: [] });
      else {
        group.arrivals.push(arrival);
        group.joins.push(join);
      }
    }

    const cached = await this.options.cache?.open(stage.id, shardId, walked.channelsVersion, () =>
      this.#startsEmpty(shardId),
    );
    const toQuery: KeyRange[] = [];
    for (const [key, group] of byKey) {
      const { from, to } = bufferRange(this.spec, group.joins);
      const hit = cached?.lookup(this.spec, key, group.joins, from, to);
      if (hit !== undefined) group.buffered = hit;
      else toQuery.push({ key, from, to });
    }
    if (toQuery.length > 0) {
      for (const [key, list] of await buffers.queryBuffered(stage.id, toQuery)) {
        const group = byKey.get(key);
        if (group !== undefined) group.buffered = list;
      }
    }
    const outer = outerSides(this.spec.type);
    const emitted: { output: JoinOutput; origin: InputRecord }[] = [];
    for (const [key, group] of byKey) {
      const outcome = joinKeyBatch(this.spec, key, group.buffered, group.joins);
      counts.duplicates += outcome.duplicates;
      for (const output of outcome.outputs) emitted.push({ output, origin: pairOrigin(group, output) });
      counts.pairs += outcome.outputs.length;
      group.changed = outcome.changed;
      for (const late of outcome.late) {
        const { record } = group.arrivals[group.joins.indexOf(late)] as Arrival;
        counts.late += 1;
        sink.late(record, {
          id: late.id,
          key,
          side: late.side,
          time: late.time,
          watermark: late.watermark,
          reason: `event time ${late.time} is more than the allowed lateness behind the watermark ${late.watermark}`,
          value: late.value,
        } satisfies JoinLateRecord);
      }
    }

    // Outer sides: records the watermark is done with that never joined are emitted alone, once.
    const puts: BufferedPut[] = [];
    const doneWith = (record: BufferedRecord, hasItem: boolean) => {
      // A record this batch buffered and is done with needs no item: a replay of the batch meets it
      // as an arrival again, against a buffer that lost nothing.
      if (hasItem) puts.push(this.#put({ ...record, done: true }, outer, shardId));
      if (record.matched) return;
      counts.unmatched += 1;
      const output = record.side === 'left' ? { left: record, right: null } : { left: null, right: record };
      // Under the record that moved the watermark past it, whichever attempt emits it (recordReaching).
      const origin = recordReaching(records, walked, joinFireAt(this.spec, record.side, record.time));
      emitted.push({ output, origin });
    };
    // The records this batch changed that it is also done with: written as tombstones, or not at all.
    const finished = new Set<BufferedRecord>();
    if (outer.size > 0 && Number.isFinite(walked.watermark)) {
      // What the table held before this batch, for records the batch did not change: each has an item.
      for (const record of await this.#dueFromTable(shardId, walked.watermark, byKey)) doneWith(record, true);
      for (const group of byKey.values()) {
        for (const record of group.changed) {
          if (!this.#due(record, outer, walked.watermark)) continue;
          // The records this batch's Query read have an item, whether or not the index shows it yet.
          const hasItem = indexOfIdentity(group.buffered, record) >= 0;
          // Joined, and the table's index no longer shows it (its mark took it off): its mark, if this
          // batch made it, is written with the batch's other changes, and no tombstone is needed.
          if (record.matched && hasItem) continue;
          finished.add(record);
          doneWith(record, hasItem);
        }
      }
    }
    for (const group of byKey.values()) {
      for (const record of group.changed) if (!finished.has(record)) puts.push(this.#put(record, outer, shardId));
    }

    // Outputs reported under one record take their positions in this order (shuffle-pack.ts): an order
    // of their own, not of the batch's keys, which depends on where the batch was cut.
    const outputs = emitted.map(({ output, origin }) => ({ output, origin, id: joinOutputId(stage.id, output) }));
    outputs.sort((a, b) => compareStrings(a.id, b.id));
    for (const { output, origin, id } of outputs) {
      const { left, right } = output;
      const element: Element = {
        id,
        key: left?.key ?? right?.key ?? '',
        // Copies: a buffered record is in other rows, in the cache and in the batch's writes.
        value: [ownedValue(left?.value ?? null), ownedValue(right?.value ?? null)],
        eventTime:
          left === null ? (right as BufferedRecord).time : right === null ? left.time : Math.max(left.time, right.time),
      };
      this.options.downstream(element, {
        emit: (record) => sink.output(record, origin),
        filtered: (operator) => sink.filtered(operator),
        ...(sink.tally !== undefined && { tally: sink.tally }),
        // The pair's own id and value: what the operator after the join could not take.
        failed: (error) => sink.deadLetter(producedRecord(origin, element.value), error, element.id),
      });
    }
    return { ...walked, puts, counts, loaded, cached };
  }

  /** A shard's first batch: whether its keys can have records buffered already (under a parent shard). */
  async #startsEmpty(shardId: string): Promise<boolean> {
    const lineage = await this.options.shards?.describeShard?.(this.options.stage.input, shardId);
    return lineage !== undefined && lineage.parents.length === 0;
  }

  /** Whether the watermark is done with a record of an outer side that is not a tombstone yet. */
  #due(record: BufferedRecord, outer: ReadonlySet<JoinSide>, watermark: number): boolean {
    return (
      record.done !== true && outer.has(record.side) && joinFireAt(this.spec, record.side, record.time) <= watermark
    );
  }

  /**
   * A record's item; on the fire-time index while an outer join may still emit it alone: a record
   * that joined never is, so it leaves the index with its mark and needs no tombstone.
   */
  #put(record: BufferedRecord, outer: ReadonlySet<JoinSide>, shardId: string): BufferedPut {
    const indexed = record.done !== true && !record.matched && outer.has(record.side);
    return {
      record,
      fireAt: joinFireAt(this.spec, record.side, record.time),
      ...(indexed && { timerShard: shardId }),
    };
  }

  /**
   * This shard's buffered records of outer sides that the watermark is done with, as the table holds
   * them now. The fire-time GSI they are found through is eventually consistent in DynamoDB, and
   * dynalite writes an item's index entries before the item itself (a crash between the two leaves the
   * index ahead): an index copy can say a record never joined when it did, or the reverse, or name a
   * record that is gone, and the outer row it decides goes out before anything can tell. So what
   * fires is a consistent read of each item (BatchGetItem, only when something is due); records gone
   * or expired fire nothing. Records this batch changed are left out: the batch's own state of them,
   * computed from a consistent Query, wins. Tombstones fire nothing (the index may still show them).
   */
  async #dueFromTable(
    shardId: string,
    watermark: number,
    byKey: ReadonlyMap<string, KeyGroup>,
  ): Promise<BufferedRecord[]> {
    const { stage, buffers } = this.options;
    const found = await buffers.dueBuffered(stage.id, shardId, watermark);
    // Records still timed on a finished ancestor shard (their key's records came on it before a
    // reshard, and none since): the one shard whose hash key range holds their key emits them.
    const inherited = await inheritedDue(
      this.options.shards,
      stage.input,
      shardId,
      (ancestor) => buffers.dueBuffered(stage.id, ancestor, watermark),
      (record) => record.key,
    );
    const changed = (r: BufferedRecord) => {
      const group = byKey.get(r.key);
      return group !== undefined && indexOfIdentity(group.changed, r) >= 0;
    };
    // Each once: an index that lags can show a record under an ancestor's timer and under this shard's.
    const slots = new Map([...found, ...inherited].map((r) => [`${r.key}\u0000${bufferIdentity(r)}`, r]));
    const reread = [...slots.values()].filter((r) => !changed(r));
    if (reread.length === 0) return [];
    return (await buffers.getBuffered(stage.id, reread)).filter((record) => record.done !== true);
  }

  #error(message: string, reason: 'operatorError' | 'stateTooLarge' = 'operatorError'): RecordProcessingError {
    return new RecordProcessingError({ reason: DeadLetterReasons[reason], operator: this.options.join.name, message });
  }
}
