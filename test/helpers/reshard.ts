import {
  type KinesisClient,
  ListShardsCommand,
  MergeShardsCommand,
  PutRecordsCommand,
  type Shard,
  SplitShardCommand,
} from '@aws-sdk/client-kinesis';
import { CONTROL_PARTITION_KEY, END_OF_INPUT_DATA } from '../../shared/runtime/watermark-records.js';
import { waitForStreamActive } from './emulators.js';

/**
 * Resharding against kinesalite, which has SplitShard and MergeShards but not UpdateShardCount
 * (/work/shared/local-aws.md): what UpdateShardCount does in AWS, one shard at a time.
 */

/** Every shard of the stream, closed ones included, in ListShards order. */
export async function listShards(kinesis: KinesisClient, stream: string): Promise<Shard[]> {
  const shards: Shard[] = [];
  let token: string | undefined;
  do {
    const page = await kinesis.send(
      new ListShardsCommand(token === undefined ? { StreamName: stream } : { NextToken: token }),
    );
    shards.push(...(page.Shards ?? []));
    token = page.NextToken;
  } while (token !== undefined);
  return shards;
}

/** The open shards, by starting hash key. */
export async function openShards(kinesis: KinesisClient, stream: string): Promise<Shard[]> {
  return (await listShards(kinesis, stream))
    .filter((shard) => shard.SequenceNumberRange?.EndingSequenceNumber === undefined)
    .sort((a, b) =>
      BigInt(a.HashKeyRange?.StartingHashKey ?? 0) < BigInt(b.HashKeyRange?.StartingHashKey ?? 0) ? -1 : 1,
    );
}

/** Splits an open shard at the middle of its hash key range; resolves once the stream is ACTIVE again. */
export async function splitShard(kinesis: KinesisClient, stream: string, shardId: string): Promise<void> {
  const shard = (await listShards(kinesis, stream)).find((s) => s.ShardId === shardId);
  const start = BigInt(shard?.HashKeyRange?.StartingHashKey ?? '0');
  const end = BigInt(shard?.HashKeyRange?.EndingHashKey ?? '0');
  await kinesis.send(
    new SplitShardCommand({
      StreamName: stream,
      ShardToSplit: shardId,
      NewStartingHashKey: ((start + end + 1n) / 2n).toString(),
    }),
  );
  await waitForStreamActive(kinesis, stream);
}

/** Merges two open shards with adjacent hash key ranges; resolves once the stream is ACTIVE again. */
export async function mergeShards(
  kinesis: KinesisClient,
  stream: string,
  shardId: string,
  adjacent: string,
): Promise<void> {
  await kinesis.send(
    new MergeShardsCommand({ StreamName: stream, ShardToMerge: shardId, AdjacentShardToMerge: adjacent }),
  );
  await waitForStreamActive(kinesis, stream);
}

/** The end of a bounded input (LocalPipeline.endInput), on every shard open now (no cached shard list). */
export async function endInputOnOpenShards(kinesis: KinesisClient, stream: string): Promise<void> {
  const shards = await openShards(kinesis, stream);
  const response = await kinesis.send(
    new PutRecordsCommand({
      StreamName: stream,
      Records: shards.map((shard) => ({
        PartitionKey: CONTROL_PARTITION_KEY,
        ExplicitHashKey: shard.HashKeyRange?.StartingHashKey ?? '0',
        Data: Buffer.from(END_OF_INPUT_DATA),
      })),
    }),
  );
  if (response.FailedRecordCount) throw new Error(`could not mark the end of input on ${stream}`);
}
