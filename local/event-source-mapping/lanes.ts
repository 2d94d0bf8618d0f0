/**
 * With ParallelizationFactor N, Lambda processes up to N batches of a shard at once and keeps order
 * per partition key only. A record's lane comes from its partition key, so records of one key always
 * go through the same lane, one batch at a time, in shard order.
 */
export function laneOf(partitionKey: string, laneCount: number): number {
  if (laneCount <= 1) return 0;
  // FNV-1a over UTF-16 code units: cheap, stable across runs, and spreads similar keys.
  let hash = 0x811c9dc5;
  for (let index = 0; index < partitionKey.length; index += 1) {
    hash ^= partitionKey.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % laneCount;
}
