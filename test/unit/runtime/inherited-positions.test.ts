import { describe, expect, it } from 'vitest';
import { AppliedPositions, hashKeyOf } from '../../../shared/runtime/applied-positions.js';
import { startingPositions } from '../../../shared/runtime/inherited-positions.js';
import type { ShardLineage } from '../../../shared/runtime/io/shard-directory.js';
import type { StoredChannelWatermarks } from '../../../shared/runtime/io/state-store.js';

const TOP = 2n ** 128n - 1n;
const HALF = 2n ** 127n;
/** A key on each half of the hash key space. */
const low = ['a', 'b', 'c', 'd', 'e', 'f'].find((k) => hashKeyOf(k) < HALF) as string;
const high = ['a', 'b', 'c', 'd', 'e', 'f'].find((k) => hashKeyOf(k) >= HALF) as string;

/** Shards and their stored positions, with the reads counted. */
function world(shards: ShardLineage[], stored: Record<string, Record<string, string>>) {
  const loads: string[] = [];
  const store = {
    loadWatermarks: async (_stage: string, shard: string): Promise<StoredChannelWatermarks | undefined> => {
      loads.push(shard);
      const positions = stored[shard];
      return positions === undefined ? undefined : { channels: {}, positions, version: 1 };
    },
  };
  const directory = { describeShard: async (_stream: string, id: string) => shards.find((s) => s.shardId === id) };
  const start = async (shard: string) =>
    startingPositions(store, 'stage', shard, (await store.loadWatermarks('stage', shard)) ?? undefined, {
      directory,
      stream: 'shuffle',
    });
  return { start, loads };
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
