import type { PutRecordsCommand, PutRecordsResultEntry } from '@aws-sdk/client-kinesis';
import {
  type OpenShard,
  type ShardDirectory,
  type ShardLineage,
  UniformShardDirectory,
} from '../../shared/runtime/io/shard-directory.js';
import type { InputRecord } from '../../shared/runtime/records.js';
import { unreliablePutRecords } from './unreliable-kinesis.js';

interface MemoryShard extends ShardLineage {
  open: boolean;
  readonly records: InputRecord[];
}

/**
 * Kinesis for one stream, in memory, that can be split and merged as UpdateShardCount does, and that
 * fails the way Kinesis does (some entries of a PutRecords refused, sometimes a whole call). It is
 * also the stream's shard list as a stage sees it: the open shards as last listed (a stale list after
 * a reshard, until a writer finds a record landed in another shard and invalidates it), the lineage
 * of any shard as ListShards gives it. Other streams: their plan's shard counts.
 */
export class ReshardingKinesis implements ShardDirectory {
  readonly #shards: MemoryShard[] = [];
  readonly #others: UniformShardDirectory;
  #listed: readonly OpenShard[];
  #sequence = 49_600_000_000_000_000_000_000_000_000_000_000_000_000_000_000n;
  /** Calls left before every call throws a non-retryable error (an invocation that dies mid-write); none: no limit. */
  callsBeforeCrash: number | undefined;

  constructor(
    readonly stream: string,
    shardCount: number,
    readonly random: () => number,
    others: ReadonlyMap<string, number> = new Map(),
  ) {
    const space = 2n ** 128n;
    for (let i = 0n; i < BigInt(shardCount); i += 1n) {
      this.#add([], (space * i) / BigInt(shardCount), (space * (i + 1n)) / BigInt(shardCount) - 1n);
    }
    this.#others = new UniformShardDirectory(others);
    this.#listed = this.#open();
  }

  /** Every shard ever, parents before their children: the order Lambda may read them in. */
  get shards(): readonly (ShardLineage & { readonly records: readonly InputRecord[] })[] {
    return this.#shards;
  }

  /** Splits the open shard at `index` (among the open shards) in two halves. */
  split(index: number): void {
    const parent = this.#open()[index];
    if (parent === undefined) throw new Error(`no open shard at ${index}`);
    const shard = this.#close(parent.shardId);
    const middle = (shard.startingHashKey + shard.endingHashKey + 1n) / 2n;
    this.#add([shard.shardId], shard.startingHashKey, middle - 1n);
    this.#add([shard.shardId], middle, shard.endingHashKey);
  }

  /** Merges the open shards at `index` and `index + 1` (adjacent ranges) into one. */
  merge(index: number): void {
    const [a, b] = this.#open().slice(index, index + 2);
    if (a === undefined || b === undefined) throw new Error(`no two open shards from ${index}`);
    const first = this.#close(a.shardId);
    const second = this.#close(b.shardId);
    this.#add([first.shardId, second.shardId], first.startingHashKey, second.endingHashKey);
  }

  async openShards(stream: string): Promise<readonly OpenShard[]> {
    return stream === this.stream ? this.#listed : this.#others.openShards(stream);
  }

  async describeShard(stream: string, shardId: string): Promise<ShardLineage | undefined> {
    if (stream !== this.stream) return this.#others.describeShard(stream, shardId);
    const shard = this.#shards.find((s) => s.shardId === shardId);
    return shard === undefined
      ? undefined
      : {
          shardId,
          parents: shard.parents,
          startingHashKey: shard.startingHashKey,
          endingHashKey: shard.endingHashKey,
        };
  }

  invalidate(stream: string): void {
    if (stream === this.stream) this.#listed = this.#open();
  }

  async send(command: PutRecordsCommand): Promise<{ FailedRecordCount: number; Records: PutRecordsResultEntry[] }> {
    if (this.callsBeforeCrash !== undefined) {
      if (this.callsBeforeCrash <= 0) throw new Error('the invocation died in the middle of its writes');
      this.callsBeforeCrash -= 1;
    }
    return unreliablePutRecords(command, this.random, (entry, hash) => {
      // A closed shard takes no writes: its range is an open child's now.
      const shard = this.#shards.find((s) => s.open && s.startingHashKey <= hash && hash <= s.endingHashKey);
      if (shard === undefined) throw new Error(`no open shard holds hash key ${hash}`);
      this.#sequence += BigInt(1 + Math.floor(this.random() * 1000));
      shard.records.push({
        position: {
          stream: this.stream,
          shardId: shard.shardId,
          sequenceNumber: this.#sequence.toString(),
          partitionKey: entry.PartitionKey ?? '',
          arrivalTime: 0,
        },
        data: entry.Data as Uint8Array,
      });
      return { SequenceNumber: this.#sequence.toString(), ShardId: shard.shardId };
    });
  }

  #open(): OpenShard[] {
    return this.#shards
      .filter((s) => s.open)
      .sort((a, b) => (a.startingHashKey < b.startingHashKey ? -1 : 1))
      .map((s) => ({ shardId: s.shardId, startingHashKey: s.startingHashKey.toString() }));
  }

  #add(parents: string[], startingHashKey: bigint, endingHashKey: bigint): void {
    const shardId = `shardId-${String(this.#shards.length).padStart(12, '0')}`;
    this.#shards.push({ shardId, parents, startingHashKey, endingHashKey, open: true, records: [] });
  }

  #close(shardId: string): MemoryShard {
    const shard = this.#shards.find((s) => s.shardId === shardId) as MemoryShard;
    shard.open = false;
    return shard;
  }
}
