import { createHash } from 'node:crypto';
import type { ShardDirectory } from './io/shard-directory.js';

/**
 * What a shard inherits from its ancestors after a reshard of its input stream (docs/reliability.md,
 * "Resharding"): the items still timed on a finished ancestor (`<stage>#<ancestor>`, the shard that
 * last wrote them) whose key hashes into this shard's hash key range. Lambda reads a child only once
 * its parents are read to their end, and the open shards' ranges never overlap, so exactly one shard
 * at a time owns a key: after a split, one of the two children; after a merge, the child. Each
 * ancestor, parents of parents too, is asked once with `due`; a shard with no parents asks nothing.
 */
export async function inheritedDue<T>(
  directory: Pick<ShardDirectory, 'describeShard'> | undefined,
  stream: string,
  shardId: string,
  due: (ancestor: string) => Promise<readonly T[]>,
  keyOf: (item: T) => string,
): Promise<T[]> {
  if (directory?.describeShard === undefined) return [];
  const own = await directory.describeShard(stream, shardId);
  if (own === undefined || own.parents.length === 0) return [];
  const inherited: T[] = [];
  const seen = new Set<string>();
  const ancestors = [...own.parents];
  while (ancestors.length > 0) {
    const ancestor = ancestors.shift() as string;
    if (seen.has(ancestor)) continue;
    seen.add(ancestor);
    ancestors.push(...((await directory.describeShard(stream, ancestor))?.parents ?? []));
    for (const item of await due(ancestor)) {
      const hash = hashKeyOf(keyOf(item));
      if (own.startingHashKey <= hash && hash <= own.endingHashKey) inherited.push(item);
    }
  }
  return inherited;
}

/** Where Kinesis routes a partition key: MD5 of it, as a 128-bit big-endian integer. */
function hashKeyOf(key: string): bigint {
  return BigInt(`0x${createHash('md5').update(key, 'utf8').digest('hex')}`);
}
