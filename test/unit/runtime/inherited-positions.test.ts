import { describe, expect, it } from 'vitest';
import { AppliedPositions, hashKeyOf } from '../../../shared/runtime/applied-positions.js';
import { ChannelWatermarks } from '../../../shared/runtime/channel-watermarks.js';
import { startingPoint } from '../../../shared/runtime/inherited-positions.js';
import type { ShardLineage } from '../../../shared/runtime/io/shard-directory.js';
import type { StoredChannelWatermarks } from '../../../shared/runtime/io/state-store.js';

const TOP = 2n ** 128n - 1n;
const HALF = 2n ** 127n;
/** A key on each half of the hash key space. */
const low = ['a', 'b', 'c', 'd', 'e', 'f'].find((k) => hashKeyOf(k) < HALF) as string;
const high = ['a', 'b', 'c', 'd', 'e', 'f'].find((k) => hashKeyOf(k) >= HALF) as string;

/** Shards and their stored positions (and channel watermarks), with the reads counted. */
function world(
  shards: ShardLineage[],
  stored: Record<string, Record<string, string>>,
  channels: Record<string, Record<string, number>> = {},
) {
  const loads: string[] = [];
  const store = {
    loadWatermarks: async (_stage: string, shard: string): Promise<StoredChannelWatermarks | undefined> => {
      loads.push(shard);
      const positions = stored[shard];
      return positions === undefined ? undefined : { channels: channels[shard] ?? {}, positions, version: 1 };
    },
  };
  const directory = { describeShard: async (_stream: string, id: string) => shards.find((s) => s.shardId === id) };
  const begin = async (shard: string) =>
    startingPoint(
      store,
      'stage',
      shard,
      (await store.loadWatermarks('stage', shard)) ?? undefined,
      { directory, stream: 'shuffle' },
      ['up'],
    );
  /** The shard's channel watermarks once its first batch has read its parents. */
  const watermarks = async (shard: string) => {
    const { inherited } = await begin(shard);
    const own = new ChannelWatermarks({}, ['up']);
    if (inherited !== undefined) own.inherit(inherited.floors, inherited.range);
    return own;
  };
  const start = async (shard: string) => (await begin(shard)).positions;
  return { start, watermarks, loads };
}

const shard = (shardId: string, parents: string[], startingHashKey: bigint, endingHashKey: bigint): ShardLineage => ({
  shardId,
  parents,
  startingHashKey,
  endingHashKey,
});

describe('the positions a shard born of a reshard starts from', () => {
  it('a split child takes its parent positions as its own', async () => {
    // Prepare
    const { start } = world(
      [shard('p', [], 0n, TOP), shard('c1', ['p'], 0n, HALF - 1n), shard('c2', ['p'], HALF, TOP)],
      {
        p: { 'up/0': '20', '#parents': '' },
      },
    );

    // Act
    const positions = await start('c2');

    // Assess
    expect(positions.admit('up/0', '20', high)).toBe(false);
    expect(positions.admit('up/0', '21', high)).toBe(true);
    expect(positions.toRecord()).toEqual({ 'up/0': '21', '#parents': 'p' });
  });

  it('a merged child holds each parent positions for the keys of its range only', async () => {
    // Prepare: the producer's lane to the low parent had reached 30, the one to the high parent 10.
    const { start } = world(
      [shard('lo', [], 0n, HALF - 1n), shard('hi', [], HALF, TOP), shard('m', ['lo', 'hi'], 0n, TOP)],
      { lo: { 'up/0': '30' }, hi: { 'up/0': '10' } },
    );

    // Act
    const positions = await start('m');

    // Assess: 20 reached the low parent, not the high one
    expect(positions.admit('up/0', '20', low)).toBe(false);
    expect(positions.admit('up/0', '20', high)).toBe(true);
    expect(positions.admit('up/0', '25', low)).toBe(false);
    expect(positions.admit('up/0', '31', low)).toBe(true);
    // Stored and read back: the same answers, and the parents are not read again.
    const again = new AppliedPositions(positions.toRecord());
    expect(again.parentsRead).toBe(true);
    expect(again.admit('up/0', '31', high)).toBe(false);
    expect(positions.toRecord()).toEqual({ 'up/0': '31', '#parents': 'lo,hi' });
  });

  it('a range position stays stored until the shard own passes it', async () => {
    const { start } = world(
      [shard('lo', [], 0n, HALF - 1n), shard('hi', [], HALF, TOP), shard('m', ['lo', 'hi'], 0n, TOP)],
      { lo: { 'up/0': '30' }, hi: { 'up/0': '10' } },
    );
    const positions = await start('m');
    expect(positions.admit('up/0', '20', high)).toBe(true);
    expect(positions.toRecord()).toEqual({ 'up/0': '20', '#parents': 'lo,hi', [`#range:0:${HALF - 1n}:up/0`]: '30' });
  });

  it('reads through ancestors that never saved (split, then merged before any batch on the halves)', async () => {
    // Prepare
    const { start, loads } = world(
      [
        shard('p', [], 0n, TOP),
        shard('c1', ['p'], 0n, HALF - 1n),
        shard('c2', ['p'], HALF, TOP),
        shard('m', ['c1', 'c2'], 0n, TOP),
      ],
      { p: { 'up/0': '40' }, c2: { 'up/0': '45', '#parents': 'p' } },
    );

    // Act
    const positions = await start('m');

    // Assess: c1 got no batch, so p's positions hold for c1's half; c2 says it read p already.
    expect(positions.admit('up/0', '40', low)).toBe(false);
    expect(positions.admit('up/0', '45', high)).toBe(false);
    expect(positions.admit('up/0', '44', low)).toBe(true);
    expect(loads.filter((s) => s === 'p')).toHaveLength(1);
  });

  it('a shard whose parents were read once reads them never again; a shard without parents reads none', async () => {
    const { start, loads } = world([shard('p', [], 0n, TOP), shard('c', ['p'], 0n, TOP)], {
      p: { 'up/0': '5' },
      c: { 'up/0': '9', '#parents': 'p' },
    });
    await start('c');
    await start('p');
    expect(loads).toEqual(['c', 'p']);
  });
});

describe('the watermarks a shard born of a reshard starts from', () => {
  /** A channel watermark of the one upstream producer, with its count. */
  const heard = (watermark: number) => ({ 'up/0': watermark, '#n:up': 1 });

  it("a split child starts from its parent's watermark, for every key", async () => {
    const { watermarks } = world(
      [shard('p', [], 0n, TOP), shard('c1', ['p'], 0n, HALF - 1n), shard('c2', ['p'], HALF, TOP)],
      { p: { '#parents': '' } },
      { p: heard(106) },
    );
    const child = await watermarks('c2');
    expect(child.current()).toBe(106);
    expect(child.currentFor(high)).toBe(106);
    // Kept with the child's channels: the next batch starts from it without reading the parent.
    expect(new ChannelWatermarks(child.toRecord(), ['up']).current()).toBe(106);
  });

  it("a merged child takes each parent's watermark for the keys of its range, and the lower for the shard", async () => {
    const { watermarks } = world(
      [shard('a', [], 0n, HALF - 1n), shard('b', [], HALF, TOP), shard('m', ['a', 'b'], 0n, TOP)],
      { a: { '#parents': '' }, b: { '#parents': '' } },
      { a: heard(50), b: heard(120) },
    );
    const child = await watermarks('m');
    expect(child.currentFor(low)).toBe(50);
    expect(child.currentFor(high)).toBe(120);
    expect(child.current()).toBe(50);
    const restored = new ChannelWatermarks(child.toRecord(), ['up']);
    expect([restored.currentFor(low), restored.currentFor(high)]).toEqual([50, 120]);
  });

  it('a parent that never had a batch passes on what its own parents had acted on; one never heard from, nothing', async () => {
    const { watermarks } = world(
      [
        shard('p', [], 0n, TOP),
        shard('c1', ['p'], 0n, HALF - 1n),
        shard('c2', ['p'], HALF, TOP),
        shard('m', ['c1', 'c2'], 0n, TOP),
        shard('q', [], 0n, TOP),
        shard('r', ['q'], 0n, TOP),
      ],
      { p: { '#parents': '' }, c2: { '#parents': 'p' }, q: { '#parents': '' } },
      { p: heard(30), c2: { ...heard(80), '#floor': 30 } },
    );
    const merged = await watermarks('m');
    expect([merged.currentFor(low), merged.currentFor(high), merged.current()]).toEqual([30, 80, 30]);
    // q saved no channel watermarks: -Infinity, as for a shard without parents.
    expect((await watermarks('r')).current()).toBe(Number.NEGATIVE_INFINITY);
  });
});
