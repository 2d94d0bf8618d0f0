import { type KinesisClient, ListShardsCommand, type Shard } from '@aws-sdk/client-kinesis';

/** A shard as the mapping needs to know it. */
export interface ShardDescription {
  readonly shardId: string;
  /** ParentShardId and AdjacentParentShardId (after a merge), when present. */
  readonly parentShardIds: readonly string[];
  /** Closed by a split or merge: it has an ending sequence number and gets no new records. */
  readonly closed: boolean;
}

export function describeShard(shard: Shard): ShardDescription {
  if (!shard.ShardId) throw new TypeError('ListShards returned a shard without ShardId');
  const parentShardIds = [shard.ParentShardId, shard.AdjacentParentShardId].filter(
    (id): id is string => typeof id === 'string' && id.length > 0,
  );
  return {
    shardId: shard.ShardId,
    parentShardIds,
    closed: shard.SequenceNumberRange?.EndingSequenceNumber !== undefined,
  };
}

/** Every shard of the stream, following ListShards pages. */
export async function listAllShards(
  kinesis: KinesisClient,
  streamName: string,
  abort?: AbortSignal,
): Promise<ShardDescription[]> {
  const shards: ShardDescription[] = [];
  let nextToken: string | undefined;
  do {
    // StreamName and NextToken are mutually exclusive in ListShards.
    const output = await kinesis.send(
      new ListShardsCommand(nextToken === undefined ? { StreamName: streamName } : { NextToken: nextToken }),
      { abortSignal: abort },
    );
    shards.push(...(output.Shards ?? []).map(describeShard));
    nextToken = output.NextToken;
  } while (nextToken);
  return shards;
}

/**
 * Whether a shard may be read: Lambda reads a child only after its parents are finished
 * (with-kinesis.html). A parent the stream no longer lists has aged out of retention, so there is
 * nothing left to wait for.
 */
export function mayStart(
  shard: ShardDescription,
  parentState: (shardId: string) => 'finished' | 'unfinished' | 'unknown',
): boolean {
  return shard.parentShardIds.every((parentId) => parentState(parentId) !== 'unfinished');
}
