import { AppliedPositions } from './applied-positions.js';
import { ChannelWatermarks } from './channel-watermarks.js';
import type { ShardDirectory } from './io/shard-directory.js';
import type { StoredChannelWatermarks, WatermarkStore } from './io/state-store.js';
import { type WatermarkFloor, WatermarkFloors } from './watermark-floors.js';

/** Where a stateful stage finds its input shard's parents: the shuffle stream's shard list. */
export interface PositionLineage {
  readonly directory: Pick<ShardDirectory, 'describeShard'>;
  /** The stage's input stream. */
  readonly stream: string;
}

interface HashRange {
  readonly start: bigint;
  readonly end: bigint;
}

/** Where a batch of a stateful stage starts: what its shard applied, and the watermarks it inherited. */
export interface StartingPoint {
  readonly positions: AppliedPositions;
  /**
   * Read from the parents on this batch: the watermark each had acted on, per part of the shard's hash
   * key range, and that range. Absent when the shard's parents were read before (its stored channel
   * watermarks hold them) or it cannot name them yet.
   */
  readonly inherited?: { readonly floors: WatermarkFloors; readonly range: HashRange };
}

/**
 * The applied positions a batch of a stateful stage starts from (docs/shuffle.md, "Repeats"): the
 * shard's own as stored and, until they say its parents were read, what its ancestors applied on its
 * hash key range. Lambda reads a child shard only after its parents are read to their end, so their
 * positions are final; a first batch that crashes before its save reads them again and takes in the
 * same facts. Ancestors that never saved their own read (a shard that got no batch, or one written
 * before this existed) are read through to their parents.
 *
 * The same read gives the watermark each parent had acted on (docs/watermarks.md, "After a
 * reshard"): its stage watermark (the minimum over its channels, or what it had itself inherited),
 * for the keys of its range; an ancestor read through for a parent that never saved gives its own.
 */
export async function startingPoint(
  store: Pick<WatermarkStore, 'loadWatermarks'>,
  stageId: string,
  shardId: string,
  stored: StoredChannelWatermarks | undefined,
  lineage: PositionLineage | undefined,
  producers: readonly string[] = [],
): Promise<StartingPoint> {
  const positions = new AppliedPositions(stored?.positions);
  if (lineage === undefined || positions.parentsRead) return { positions };
  const own = await lineage.directory.describeShard?.(lineage.stream, shardId);
  // A shard the list does not know: its parents cannot be named, so ask again on the next batch.
  if (own === undefined) return { positions };
  const ownRange = { start: own.startingHashKey, end: own.endingHashKey };
  const floors: WatermarkFloor[] = [];
  const loads = new Map<string, Promise<StoredChannelWatermarks | undefined>>();
  const load = (shard: string) => {
    let loaded = loads.get(shard);
    if (loaded === undefined) {
      loaded = store.loadWatermarks(stageId, shard);
      loads.set(shard, loaded);
    }
    return loaded;
  };
  // The lineage is a DAG (a shard split then merged again is reached along two paths, each for its own range).
  const inherit = async (parents: readonly string[], within: HashRange): Promise<void> => {
    for (const parent of parents) {
      const their = await lineage.directory.describeShard?.(lineage.stream, parent);
      // Gone from the list: past the stream's retention, with every record it held.
      if (their === undefined) continue;
      const range = intersection(within, { start: their.startingHashKey, end: their.endingHashKey });
      if (range === undefined) continue;
      const saved = await load(parent);
      const applied = new AppliedPositions(saved?.positions);
      positions.inheritFrom({ ...range, highest: applied.highest }, ownRange);
      for (const part of applied.ranges) {
        const shared = intersection(range, part);
        if (shared !== undefined) positions.inheritFrom({ ...shared, highest: part.highest }, ownRange);
      }
      const acted = new ChannelWatermarks(saved?.channels, producers);
      const watermark = acted.current();
      floors.push({ ...range, watermark });
      for (const part of acted.floors.floors) {
        const shared = intersection(range, part);
        if (shared !== undefined && part.watermark > watermark) floors.push({ ...shared, watermark: part.watermark });
      }
      if (!applied.parentsRead) await inherit(their.parents, range);
    }
  };
  await inherit(own.parents, ownRange);
  positions.markParentsRead(own.parents);
  return { positions, inherited: { floors: new WatermarkFloors(floors), range: ownRange } };
}

function intersection(a: HashRange, b: HashRange): HashRange | undefined {
  const start = a.start > b.start ? a.start : b.start;
  const end = a.end < b.end ? a.end : b.end;
  return start <= end ? { start, end } : undefined;
}
