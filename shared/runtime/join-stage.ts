import type { JoinNode, JoinSide } from '../dag/graph.js';
import type { StageSpec } from '../dag/plan-types.js';
import {
  type BufferedRecord,
  bufferIdentity,
  bufferRange,
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
  /** Whether a shard of the join's stream has parents (a reshard): its keys' records are not all its own. */
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
 * The record a pair is reported under: that of its member that arrived last in this batch (the other
 * was buffered before, or arrived earlier in the batch). Any attempt of the batch meets that member
 * again, as an arrival or as a replay of one, so the pair keeps its position on a shuffle stream
 * (docs/shuffle.md) however Lambda cuts the batch.
 */
function pairOrigin(list: readonly { arrival: Arrival; join: JoinArrival }[], output: JoinOutput): InputRecord {
  const member = (l: { join: JoinArrival }) => (l.join.side === 'left' ? output.left : output.right)?.id === l.join.id;
  return (list.findLast(member) ?? (list.at(-1) as { arrival: Arrival })).arrival.record;
}

/** The semantics of a join node, as the pure operator takes them. */
export function joinSpecOf(join: JoinNode): JoinSpec {
  return { condition: join.condition, type: join.type, allowedLateness: join.allowedLateness };
}

/** A buffered record's place in the stage's buffers: its key and its identity within the key. */
const slotOf = (record: BufferedRecord): string => `${record.key}\u0000${bufferIdentity(record)}`;

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
        loaded = await this.options.watermarks.loadWatermarks(stageId, shard);
        return loaded;
      },
    };
    const walked = await walkBatch(loader, records, decoded, sink.deadLetter.bind(sink), {
      stageId: stage.id,
      producers: this.options.producers,
      operator: join.name,
    });
    const counts = { pairs: 0, unmatched: 0, duplicates: 0, late: 0 };

    const byKey = new Map<string, { arrival: Arrival; join: JoinArrival }[]>();
    for (const arrival of walked.arrivals) {
      if (arrival.element.side === undefined) {
        sink.deadLetter(arrival.record, this.#error('record on the join stream has no side'), arrival.element.id);
        continue;
      }
      if (jsonBytesAbove(arrival.element.value, MAX_STATE_ITEM_BYTES - ITEM_OVERHEAD_BYTES)) {
        const error = this.#error('record is too large to be buffered in a DynamoDB item', 'stateTooLarge');
        sink.deadLetter(arrival.record, error, arrival.element.id);
        continue;
      }
      const joinArrival: JoinArrival = {
        side: arrival.element.side,
        time: arrival.time,
        id: arrival.element.id,
        value: arrival.element.value,
        watermark: arrival.watermark,
      };
      const list = byKey.get(arrival.key);
      if (list === undefined) byKey.set(arrival.key, [{ arrival, join: joinArrival }]);
      else list.push({ arrival, join: joinArrival });
    }

    const cached = await this.options.cache?.open(stage.id, shardId, walked.channelsVersion, () =>
      this.#startsEmpty(shardId),
    );
    const buffered = new Map<string, BufferedRecord[]>();
    const toQuery: KeyRange[] = [];
    for (const [key, list] of byKey) {
      const arrivals = list.map((l) => l.join);
      const { from, to } = bufferRange(this.spec, arrivals);
      const hit = cached?.lookup(this.spec, key, arrivals, from, to);
      if (hit !== undefined) buffered.set(key, hit);
      else toQuery.push({ key, from, to });
    }
    if (toQuery.length > 0)
      for (const [key, list] of await buffers.queryBuffered(stage.id, toQuery)) buffered.set(key, list);
    const outer = outerSides(this.spec.type);
    const changed = new Map<string, BufferedRecord>();
    const emitted: { output: JoinOutput; origin: InputRecord }[] = [];
    for (const [key, list] of byKey) {
      const outcome = joinKeyBatch(
        this.spec,
        key,
        buffered.get(key) ?? [],
        list.map((l) => l.join),
      );
      counts.duplicates += outcome.duplicates;
      for (const output of outcome.outputs) emitted.push({ output, origin: pairOrigin(list, output) });
      counts.pairs += outcome.outputs.length;
      for (const record of outcome.changed) changed.set(slotOf(record), record);
      for (const late of outcome.late) {
        const { arrival } = list.find((l) => l.join === late) as { arrival: Arrival };
        counts.late += 1;
        sink.late(arrival.record, {
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
    const done = new Set<string>();
    if (outer.size > 0 && Number.isFinite(walked.watermark)) {
      const stored = new Map((await this.#dueFromTable(shardId, walked.watermark, changed)).map((r) => [slotOf(r), r]));
      // The records this batch's Query read have an item, whether or not the index shows it yet.
      const read = new Set([...buffered.values()].flatMap((list: BufferedRecord[]) => list.map(slotOf)));
      const candidates = new Map(stored);
      for (const [id, record] of changed) {
        if (this.#due(record, outer, walked.watermark)) candidates.set(id, record);
      }
      for (const [id, candidate] of candidates) {
        // What this batch changed wins over what the table held before it.
        const record = changed.get(id) ?? candidate;
        const hasItem = stored.has(id) || read.has(id);
        // Joined, and the table's index no longer shows it (its mark took it off): its mark, if this
        // batch made it, is written with the batch's other changes, and no tombstone is needed.
        if (record.matched && !stored.has(id) && hasItem) continue;
        done.add(id);
        // A record this batch buffered and is done with needs no item: a replay of the batch meets it
        // as an arrival again, against a buffer that lost nothing.
        if (hasItem) puts.push(this.#put({ ...record, done: true }, outer, shardId));
        if (record.matched) continue;
        counts.unmatched += 1;
        const output = record.side === 'left' ? { left: record, right: null } : { left: null, right: record };
        // Under the record that moved the watermark past it, whichever attempt emits it (recordReaching).
        const origin = recordReaching(records, walked, joinFireAt(this.spec, record.side, record.time));
        emitted.push({ output, origin });
      }
    }
    for (const [id, record] of changed) if (!done.has(id)) puts.push(this.#put(record, outer, shardId));

    // Outputs reported under one record take their positions in this order (shuffle-pack.ts): an order
    // of their own, not of the batch's keys, which depends on where the batch was cut.
    const outputs = emitted.map((e) => ({ ...e, id: joinOutputId(stage.id, e.output) }));
    outputs.sort((a, b) => compareStrings(a.id, b.id));
    for (const { output, origin, id } of outputs) {
      const times = [output.left?.time, output.right?.time].filter((t): t is number => t !== undefined);
      const element: Element = {
        id,
        key: output.left?.key ?? output.right?.key ?? '',
        // Copies: a buffered record is in other rows, in the cache and in the batch's writes.
        value: [ownedValue(output.left?.value ?? null), ownedValue(output.right?.value ?? null)],
        eventTime: Math.max(...times),
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
    changed: ReadonlyMap<string, BufferedRecord>,
  ): Promise<BufferedRecord[]> {
    const { stage, buffers } = this.options;
    const found = await buffers.dueBuffered(stage.id, shardId, watermark);
    const reread = found.filter((r) => !changed.has(slotOf(r)));
    if (reread.length === 0) return [];
    return (await buffers.getBuffered(stage.id, reread)).filter((record) => record.done !== true);
  }

  #error(message: string, reason: 'operatorError' | 'stateTooLarge' = 'operatorError'): RecordProcessingError {
    return new RecordProcessingError({ reason: DeadLetterReasons[reason], operator: this.options.join.name, message });
  }
}
