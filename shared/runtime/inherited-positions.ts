import { AppliedPositions } from './applied-positions.js';
import type { ShardDirectory } from './io/shard-directory.js';
import type { StoredChannelWatermarks, WatermarkStore } from './io/state-store.js';

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

/**
 * The applied positions a batch of a stateful stage starts from (docs/shuffle.md, "Repeats"): the
 * shard's own as stored and, until they say its parents were read, what its ancestors applied on its
 * hash key range. Lambda reads a child shard only after its parents are read to their end, so their
 * positions are final; a first batch that crashes before its save reads them again and takes in the
 * same facts. Ancestors that never saved their own read (a shard that got no batch, or one written
 * before this existed) are read through to their parents.
 */
export async function startingPositions(
  store: Pick<WatermarkStore, 'loadWatermarks'>,
  stageId: string,
  shardId: string,
  stored: StoredChannelWatermarks | undefined,
  lineage: PositionLineage | undefined,
): Promise<AppliedPositions> {
  const positions = new AppliedPositions(stored?.positions);
  if (lineage === undefined || positions.parentsRead) return positions;
  const own = await lineage.directory.describeShard?.(lineage.stream, shardId);
  // A shard the list does not know: its parents cannot be named, so ask again on the next batch.
  if (own === undefined) return positions;
  const ownRange = { start: own.startingHashKey, end: own.endingHashKey };
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
      const applied = new AppliedPositions((await load(parent))?.positions);
      positions.inheritFrom({ ...range, highest: applied.highest }, ownRange);
      for (const part of applied.ranges) {
        const shared = intersection(range, part);
        if (shared !== undefined) positions.inheritFrom({ ...shared, highest: part.highest }, ownRange);
      }
      if (!applied.parentsRead) await inherit(their.parents, range);
    }
  };
  await inherit(own.parents, ownRange);
  positions.markParentsRead(own.parents);
  return positions;
}

function intersection(a: HashRange, b: HashRange): HashRange | undefined {
  const start = a.start > b.start ? a.start : b.start;
  const end = a.end < b.end ? a.end : b.end;
  return start <= end ? { start, end } : undefined;
}
