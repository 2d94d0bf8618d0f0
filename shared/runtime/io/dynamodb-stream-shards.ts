import type { DynamoDBStreamsClient, Shard, StreamDescription } from '@aws-sdk/client-dynamodb-streams';
import { compareSequenceNumbers } from './sequence-numbers.js';
import type { OpenShard, ShardDirectory, ShardLineage } from './shard-directory.js';

/** A stream record's shard cannot be told from its sequence number. */
export class StreamShardUnknownError extends Error {
  override readonly name = 'StreamShardUnknownError';
}

/** One page of DescribeStream. */
export type DescribeStream = (
  streamArn: string,
  exclusiveStartShardId?: string,
) => Promise<StreamDescription | undefined>;

/**
 * DescribeStream through a client. The client's module is imported on first use (a dynamic import):
 * the Lambda bundle leaves it out and a stage that reads no table stream never loads it.
 */
export function describeStreamWith(client: () => DynamoDBStreamsClient): DescribeStream {
  let command: Promise<typeof import('@aws-sdk/client-dynamodb-streams').DescribeStreamCommand> | undefined;
  return async (streamArn, exclusiveStartShardId) => {
    command ??= import('@aws-sdk/client-dynamodb-streams').then((module) => module.DescribeStreamCommand);
    const Describe = await command;
    const output = await client().send(
      new Describe({
        StreamArn: streamArn,
        ...(exclusiveStartShardId !== undefined && { ExclusiveStartShardId: exclusiveStartShardId }),
      }),
    );
    return output.StreamDescription;
  };
}

export interface DynamoDbStreamShardsOptions {
  readonly describe: DescribeStream;
  /** Each `dynamoDbStream` source's stream ARN, by source name. */
  readonly streams: Readonly<Record<string, string>>;
  /** How long a DescribeStream answer is reused for `openShards`. @default 60000 */
  readonly cacheMs?: number;
}

/**
 * The shards of `dynamoDbStream` sources' streams (DescribeStream), as the ShardDirectory the stage
 * counts its channels and their lineage with (with {@link RoutedShardDirectory} for its other streams).
 *
 * A source stage's channel is its input shard (docs/shuffle.md). Lambda's DynamoDB stream event
 * names it (`shardId`) only when the mapping has a tumbling window, as the construct sets it.
 * `shardOf` is the fallback for an event without one: the one shard whose SequenceNumberRange holds
 * the sequence number. That works only while one shard is open: a table with several partitions has
 * several open shards at once, with no ending sequence number, and a sequence number past their
 * starts lies in all of their ranges. Then the batch fails loudly, naming the fix, rather than guess
 * a channel.
 */
export class DynamoDbStreamShards implements ShardDirectory {
  readonly #described = new Map<string, { at: number; shards: Promise<readonly Shard[]> }>();

  constructor(readonly options: DynamoDbStreamShardsOptions) {}

  /** Whether `stream` is a `dynamoDbStream` source this directory answers for. */
  has(stream: string): boolean {
    return Object.hasOwn(this.options.streams, stream);
  }

  async shardOf(source: string, sequenceNumber: string): Promise<string> {
    for (const fresh of [false, true]) {
      const shards = await this.#shards(source, fresh);
      const holding = shards.filter((shard) => holds(shard, sequenceNumber));
      if (holding.length === 1) return (holding[0] as Shard).ShardId ?? '';
      if (holding.length > 1) {
        throw new StreamShardUnknownError(
          `sequence number ${sequenceNumber} of source '${source}' lies in the range of several shards (${holding
            .map((shard) => shard.ShardId)
            .join(
              ', ',
            )}): its channel cannot be told. Give the event source mapping of ${this.options.streams[source]} a tumbling window (TumblingWindowInSeconds 1-900), with which Lambda names the batch's shard in event.shardId`,
        );
      }
    }
    throw new StreamShardUnknownError(
      `sequence number ${sequenceNumber} of source '${source}' lies in no shard of ${this.options.streams[source]}`,
    );
  }

  async openShards(stream: string): Promise<readonly OpenShard[]> {
    if (!this.has(stream)) return [];
    const shards = await this.#shards(stream, false);
    return shards
      .filter((shard) => shard.SequenceNumberRange?.EndingSequenceNumber === undefined)
      .map((shard) => ({ shardId: shard.ShardId ?? '', startingHashKey: '0' }));
  }

  async describeShard(stream: string, shardId: string): Promise<ShardLineage | undefined> {
    if (!this.has(stream)) return undefined;
    let shard = (await this.#shards(stream, false)).find((candidate) => candidate.ShardId === shardId);
    shard ??= (await this.#shards(stream, true)).find((candidate) => candidate.ShardId === shardId);
    if (shard === undefined) return undefined;
    return {
      shardId,
      parents: shard.ParentShardId === undefined ? [] : [shard.ParentShardId],
      startingHashKey: 0n,
      endingHashKey: 0n,
    };
  }

  invalidate(stream: string): void {
    this.#described.delete(stream);
  }

  #shards(source: string, fresh: boolean): Promise<readonly Shard[]> {
    const cached = this.#described.get(source);
    if (!fresh && cached !== undefined && Date.now() - cached.at < (this.options.cacheMs ?? 60_000)) {
      return cached.shards;
    }
    const shards = this.#describe(this.options.streams[source] ?? '');
    this.#described.set(source, { at: Date.now(), shards });
    shards.catch(() => this.#described.delete(source));
    return shards;
  }

  async #describe(streamArn: string): Promise<Shard[]> {
    const shards: Shard[] = [];
    let start: string | undefined;
    do {
      const StreamDescription = await this.options.describe(streamArn, start);
      shards.push(...(StreamDescription?.Shards ?? []));
      start = StreamDescription?.LastEvaluatedShardId;
    } while (start !== undefined);
    return shards;
  }
}

function holds(shard: Shard, sequenceNumber: string): boolean {
  const range = shard.SequenceNumberRange;
  if (range?.StartingSequenceNumber === undefined) return false;
  if (compareSequenceNumbers(sequenceNumber, range.StartingSequenceNumber) < 0) return false;
  return (
    range.EndingSequenceNumber === undefined || compareSequenceNumbers(sequenceNumber, range.EndingSequenceNumber) <= 0
  );
}

/** The table streams' shards for the `dynamoDbStream` sources, `others` for every other stream. */
export class RoutedShardDirectory implements ShardDirectory {
  constructor(
    readonly streams: DynamoDbStreamShards,
    readonly others: ShardDirectory,
  ) {}

  openShards(stream: string): Promise<readonly OpenShard[]> {
    return this.streams.has(stream) ? this.streams.openShards(stream) : this.others.openShards(stream);
  }

  async describeShard(stream: string, shardId: string): Promise<ShardLineage | undefined> {
    return this.streams.has(stream)
      ? this.streams.describeShard(stream, shardId)
      : this.others.describeShard?.(stream, shardId);
  }

  invalidate(stream: string): void {
    if (this.streams.has(stream)) this.streams.invalidate(stream);
    else this.others.invalidate?.(stream);
  }
}
