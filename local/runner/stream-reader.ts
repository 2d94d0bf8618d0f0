import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  type KinesisClient,
  ListShardsCommand,
  type Shard,
} from '@aws-sdk/client-kinesis';
import { retryTransient } from './runner-retries.js';

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
    const page = await retryTransient(`ListShards of ${stream}`, () =>
      client.send(new ListShardsCommand(token === undefined ? { StreamName: stream } : { NextToken: token })),
    );
    shards.push(...(page.Shards ?? []));
    token = page.NextToken;
  } while (token !== undefined);
  return shards;
}

/** Where to start reading a shard: from its start, at a sequence number, or after one. */
export type ShardStart = { readonly after?: string; readonly at?: string };

/**
 * Every record a stream holds, one GetRecords page at a time, shard after shard (parents before
 * children, as shard ids grow), each shard in sequence order from where `startOf` says, up to what
 * it holds now. A caller that handles each page before asking for the next holds one page, not the
 * stream: the memory of writing a run's outputs stays bounded as the input grows.
 */
export async function* readStreamPages(
  client: KinesisClient,
  stream: string,
  startOf: (shardId: string) => ShardStart = () => ({}),
): AsyncGenerator<StoredRecord[]> {
  for (const shard of await listShards(client, stream)) {
    const shardId = shard.ShardId ?? '';
    const { after, at } = startOf(shardId);
    const from = at ?? after;
    let iterator = (
      await retryTransient(`GetShardIterator of ${stream} ${shardId}`, () =>
        client.send(
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
        ),
      )
    ).ShardIterator;
    while (iterator !== undefined) {
      // A read has no side effect: a timed-out page is asked for again with the same iterator.
      const current = iterator;
      const page = await retryTransient(`GetRecords of ${stream} ${shardId}`, () =>
        client.send(new GetRecordsCommand({ ShardIterator: current, Limit: 10_000 })),
      );
      const records = (page.Records ?? []).map((record) => ({
        shardId,
        sequenceNumber: record.SequenceNumber ?? '',
        partitionKey: record.PartitionKey ?? '',
        data: record.Data ?? new Uint8Array(),
        arrivalTime: record.ApproximateArrivalTimestamp?.getTime() ?? 0,
      }));
      if (records.length > 0) yield records;
      // An open shard has no end: stop once it has nothing more to give now.
      if (records.length === 0 && (page.MillisBehindLatest ?? 0) === 0) break;
      iterator = page.NextShardIterator;
    }
  }
}

/** Visits every record from where `startOf` says (see {@link readStreamPages}). */
export async function forEachRecord(
  client: KinesisClient,
  stream: string,
  startOf: (shardId: string) => ShardStart,
  visit: (record: StoredRecord) => void,
): Promise<void> {
  for await (const page of readStreamPages(client, stream, startOf)) for (const record of page) visit(record);
}

/** Every record a stream holds, in one array (see {@link readStreamPages}); for small streams and tests. */
export async function readWholeStream(client: KinesisClient, stream: string): Promise<StoredRecord[]> {
  const records: StoredRecord[] = [];
  for await (const page of readStreamPages(client, stream)) records.push(...page);
  return records;
}
