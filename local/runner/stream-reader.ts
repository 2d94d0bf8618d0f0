import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  type KinesisClient,
  ListShardsCommand,
  type Shard,
} from '@aws-sdk/client-kinesis';

export interface StoredRecord {
  readonly shardId: string;
  readonly sequenceNumber: string;
  readonly partitionKey: string;
  readonly data: Uint8Array;
  readonly arrivalTime: number;
}

async function listShards(client: KinesisClient, stream: string): Promise<Shard[]> {
  const shards: Shard[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(
      new ListShardsCommand(token === undefined ? { StreamName: stream } : { NextToken: token }),
    );
    shards.push(...(page.Shards ?? []));
    token = page.NextToken;
  } while (token !== undefined);
  return shards;
}

/** Where to start reading a shard: from its start, at a sequence number, or after one. */
export type ShardStart = { readonly after?: string; readonly at?: string };

/**
 * Reads the records a stream holds, shard after shard (parents before children, as shard ids grow),
 * each shard in sequence order from where `startOf` says, up to what it holds now.
 */
export async function forEachRecord(
  client: KinesisClient,
  stream: string,
  startOf: (shardId: string) => ShardStart,
  visit: (record: StoredRecord) => void,
): Promise<void> {
  for (const shard of await listShards(client, stream)) {
    const shardId = shard.ShardId ?? '';
    const { after, at } = startOf(shardId);
    const from = at ?? after;
    let iterator = (
      await client.send(
        new GetShardIteratorCommand({
          StreamName: stream,
          ShardId: shardId,
          ...(from === undefined
            ? { ShardIteratorType: 'TRIM_HORIZON' }
            : {
                ShardIteratorType: at === undefined ? 'AFTER_SEQUENCE_NUMBER' : 'AT_SEQUENCE_NUMBER',
                StartingSequenceNumber: from,
              }),
        }),
      )
    ).ShardIterator;
    while (iterator !== undefined) {
      const page = await client.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 10_000 }));
      for (const record of page.Records ?? []) {
        visit({
          shardId,
          sequenceNumber: record.SequenceNumber ?? '',
          partitionKey: record.PartitionKey ?? '',
          data: record.Data ?? new Uint8Array(),
          arrivalTime: record.ApproximateArrivalTimestamp?.getTime() ?? 0,
        });
      }
      // An open shard has no end: stop once it has nothing more to give now.
      if ((page.Records ?? []).length === 0 && (page.MillisBehindLatest ?? 0) === 0) break;
      iterator = page.NextShardIterator;
    }
  }
}

/** Reads every record a stream holds. For collecting a finished run's outputs, not for consuming. */
export async function readWholeStream(client: KinesisClient, stream: string): Promise<StoredRecord[]> {
  const records: StoredRecord[] = [];
  await forEachRecord(
    client,
    stream,
    () => ({}),
    (record) => records.push(record),
  );
  return records;
}
