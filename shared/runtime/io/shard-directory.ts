import { type KinesisClient, ListShardsCommand, type Shard } from '@aws-sdk/client-kinesis';

/** A shard that records can be written to, and the hash key that routes a record to it. */
export interface OpenShard {
  readonly shardId: string;
  readonly startingHashKey: string;
}

/**
 * Which shards of a stream are open: a stage writes a watermark record to each of them, and counts
 * its own channels from its input stream.
 */
export interface ShardDirectory {
  openShards(stream: string): Promise<readonly OpenShard[]>;
  /** A shard of the stream, closed ones included: its parents and hash key range. */
  describeShard?(stream: string, shardId: string): Promise<ShardLineage | undefined>;
  /** Forgets what it knows of the stream's shards (a write landed in another shard than listed). */
  invalidate?(stream: string): void;
}

export interface ShardLineage {
  readonly shardId: string;
  readonly parents: readonly string[];
  readonly startingHashKey: bigint;
  readonly endingHashKey: bigint;
}

export interface KinesisShardDirectoryOptions {
  readonly client: KinesisClient;
  /** Prepended to every logical stream name. @default '' */
  readonly streamPrefix?: string;
  /**
   * How long an answer is reused. ListShards allows 1,000 calls a second per stream (shared by every
   * function), and shards change only when someone reshards. @default 60000
   */
  readonly cacheMs?: number;
}

/** ListShards, cached per execution environment. */
export class KinesisShardDirectory implements ShardDirectory {
  readonly #cache = new Map<string, { at: number; shards: Promise<readonly OpenShard[]> }>();
  readonly #lineage = new Map<string, Map<string, ShardLineage>>();

  invalidate(stream: string): void {
    this.#cache.delete(stream);
  }

  async describeShard(stream: string, shardId: string): Promise<ShardLineage | undefined> {
    // A shard's parents and range never change: list again only for a shard not seen yet.
    let known = this.#lineage.get(stream);
    if (known?.has(shardId) !== true) {
      known = new Map();
      for (const shard of await this.#all(`${this.options.streamPrefix ?? ''}${stream}`)) {
        known.set(shard.ShardId ?? '', {
          shardId: shard.ShardId ?? '',
          parents: [shard.ParentShardId, shard.AdjacentParentShardId].filter((id): id is string => !!id),
          startingHashKey: BigInt(shard.HashKeyRange?.StartingHashKey ?? '0'),
          endingHashKey: BigInt(shard.HashKeyRange?.EndingHashKey ?? '0'),
        });
      }
      this.#lineage.set(stream, known);
    }
    return known.get(shardId);
  }

  constructor(readonly options: KinesisShardDirectoryOptions) {}

  openShards(stream: string): Promise<readonly OpenShard[]> {
    const cached = this.#cache.get(stream);
    if (cached !== undefined && Date.now() - cached.at < (this.options.cacheMs ?? 60_000)) return cached.shards;
    const shards = this.#list(`${this.options.streamPrefix ?? ''}${stream}`);
    this.#cache.set(stream, { at: Date.now(), shards });
    shards.catch(() => this.#cache.delete(stream));
    return shards;
  }

  async #list(stream: string): Promise<OpenShard[]> {
    const shards = await this.#all(stream);
    // A closed shard (after a split or merge) has an ending sequence number and takes no writes.
    return shards
      .filter((shard) => shard.SequenceNumberRange?.EndingSequenceNumber === undefined)
      .map((shard) => ({ shardId: shard.ShardId ?? '', startingHashKey: shard.HashKeyRange?.StartingHashKey ?? '0' }));
  }

  async #all(stream: string): Promise<Shard[]> {
    const shards: Shard[] = [];
    let token: string | undefined;
    do {
      const page = await this.options.client.send(
        new ListShardsCommand(token === undefined ? { StreamName: stream } : { NextToken: token }),
      );
      shards.push(...(page.Shards ?? []));
      token = page.NextToken;
    } while (token !== undefined);
    return shards;
  }
}

/** Shards of streams as created with N shards: the hash key space split evenly, as CreateStream does. */
export class UniformShardDirectory implements ShardDirectory {
  constructor(private readonly shardCounts: ReadonlyMap<string, number>) {}

  /** Its shards are the streams' first: none has a parent. */
  async describeShard(stream: string, shardId: string): Promise<ShardLineage | undefined> {
    const count = BigInt(this.shardCounts.get(stream) ?? 1);
    const digits = /^shardId-(\d+)$/.exec(shardId)?.[1];
    const index = digits === undefined ? -1n : BigInt(digits);
    if (index < 0n || index >= count) return undefined;
    const space = 2n ** 128n;
    return {
      shardId,
      parents: [],
      startingHashKey: (space * index) / count,
      endingHashKey: (space * (index + 1n)) / count - 1n,
    };
  }

  async openShards(stream: string): Promise<readonly OpenShard[]> {
    const count = this.shardCounts.get(stream) ?? 1;
    const space = 2n ** 128n;
    return Array.from({ length: count }, (_, i) => ({
      shardId: `shardId-${String(i).padStart(12, '0')}`,
      startingHashKey: ((space * BigInt(i)) / BigInt(count)).toString(),
    }));
  }
}
