import { describe, expect, it } from 'vitest';
import { AppliedPositions } from '../../../shared/runtime/applied-positions.js';
import { UniformShardDirectory } from '../../../shared/runtime/io/shard-directory.js';
import {
  comparePositions,
  packShuffleOutputs,
  type ShuffleOutput,
  type ShufflePack,
  shardOf,
} from '../../../shared/runtime/shuffle-pack.js';

const directory = new UniformShardDirectory(new Map([['shuffle', 3]]));
const envelope = (key: string, origin: string): ShuffleOutput => ({
  stream: 'shuffle',
  partitionKey: key,
  data: JSON.stringify({ id: `src/${origin}`, k: key, v: { key } }),
  origin,
});
const parse = (data: string) => JSON.parse(data) as ShufflePack;

describe('shuffle packs', () => {
  it('packs envelopes per destination shard, in order, each with its position in the channel', async () => {
    // Prepare: input 10 wrote two envelopes for key a (a flatMap), then 11 and 12 one each.
    const shards = new Map([['shuffle', await directory.openShards('shuffle')]]);
    const outputs = [envelope('a', '10'), envelope('a', '10'), envelope('b', '11'), envelope('a', '12')];

    // Act
    const packs = packShuffleOutputs(outputs, { channel: 'from-src/shard-0', shards, lastOrigin: '12' });

    // Assess: each pack routed by its shard's starting hash key, in its shard's lane.
    const all = await directory.openShards('shuffle');
    const shardA = shardOf(all, 'a');
    const packA = packs.find((p) => p.explicitHashKey === shardA.startingHashKey);
    expect(packA).toMatchObject({ stream: 'shuffle', lane: `shuffle/${shardA.shardId}`, origin: '10' });
    expect(parse(packA?.data ?? '{}').e.map((e) => e.q)).toEqual(['10', '10:1', '12']);
    expect(parse(packA?.data ?? '{}').e[0]).toEqual({ q: '10', id: 'src/10', k: 'a', v: { key: 'a' } });
    expect(packs.flatMap((p) => parse(p.data).e).map((e) => e.q)).toHaveLength(4);
    expect(packs.every((p) => parse(p.data).wm === undefined)).toBe(true);
  });

  it('splits a lane at the size limit, and puts the watermark on its last pack and on every shard', async () => {
    const shards = new Map([['shuffle', await directory.openShards('shuffle')]]);
    const outputs = Array.from({ length: 20 }, (_, i) => envelope('a', String(100 + i)));

    const packs = packShuffleOutputs(outputs, {
      channel: 'from-src/shard-0',
      shards,
      lastOrigin: '119',
      maxPackBytes: 400,
      watermark: { streams: ['shuffle'], value: 5000, channels: 2 },
    });

    const lane = packs.filter((p) => p.lane === `shuffle/${shardOf(shards.get('shuffle') ?? [], 'a').shardId}`);
    expect(lane.length).toBeGreaterThan(3);
    expect(lane.every((p) => Buffer.byteLength(p.data) + Buffer.byteLength(p.partitionKey) <= 400)).toBe(true);
    expect(lane.flatMap((p) => parse(p.data).e.map((e) => e.q))).toEqual(outputs.map((o) => o.origin));
    expect(lane.map((p) => parse(p.data).wm)).toEqual([...lane.slice(1).map(() => undefined), 5000]);
    // The other two shards get the watermark alone: every shard must hear from every channel.
    const others = packs.filter((p) => !lane.includes(p));
    // Each pack names the shard it was packed for: a consumer drops one a stale shard list misrouted.
    expect(others.map((p) => parse(p.data))).toEqual([
      { ch: 'from-src/shard-0', d: 'shardId-000000000001', e: [], wm: 5000, n: 2 },
      { ch: 'from-src/shard-0', d: 'shardId-000000000002', e: [], wm: 5000, n: 2 },
    ]);
    expect(others.map((p) => p.origin)).toEqual(['119', '119']);
  });

  it('orders positions by sequence number as a 128-bit integer, then by output index', () => {
    const big = '49590338271490256608559692538361571095921575989136588898';
    expect(comparePositions('9', '10')).toBeLessThan(0);
    expect(comparePositions(big, `${big}:1`)).toBeLessThan(0);
    expect(comparePositions(`${big}:2`, `${big}:10`)).toBeLessThan(0);
    expect(comparePositions(`${big}:1`, `${big}:1`)).toBe(0);
    expect(comparePositions(`${BigInt(big) + 1n}`, `${big}:99`)).toBeGreaterThan(0);
  });

  it('admits an envelope once: a position at or below its channel highest is a repeat', () => {
    const applied = new AppliedPositions({ 'a/1': '20' });
    expect(applied.admit('a/1', '20')).toBe(false);
    expect(applied.admit('a/1', '21')).toBe(true);
    expect(applied.admit('a/1', '21')).toBe(false);
    expect(applied.admit('a/1', '20:1')).toBe(false);
    expect(applied.admit('b/1', '1')).toBe(true);
    expect(applied.toRecord()).toEqual({ 'a/1': '21', 'b/1': '1' });
  });
});
