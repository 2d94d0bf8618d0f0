import { describe, expect, it } from 'vitest';
import type { BufferedRecord, JoinArrival, JoinSpec } from '../../../shared/joins/join-operator.js';
import { JoinBufferCache } from '../../../shared/runtime/join-buffer-cache.js';

const spec: JoinSpec = { condition: { kind: 'interval', before: 0, after: 10 }, type: 'inner', allowedLateness: 0 };
const record = (side: 'left' | 'right', time: number, id: string): BufferedRecord => ({
  key: 'k',
  side,
  time,
  id,
  value: { id },
  matched: false,
});
const arrival = (side: 'left' | 'right', time: number, watermark: number): JoinArrival => ({
  side,
  time,
  id: `a${time}`,
  value: {},
  watermark,
});

describe('JoinBufferCache', () => {
  it('answers a key from what its batches committed, and Queries once an arrival needs a record it dropped', async () => {
    const cache = new JoinBufferCache();
    const first = await cache.open('s', 'shard-0', 0, async () => true);
    first?.commit(spec, [record('left', 100, 'l1')], 2, 50);
    const second = await cache.open('s', 'shard-0', 2, async () => true);
    expect(second?.lookup(spec, 'k', [arrival('right', 105, 60)], 95, 105)?.map((r) => r.id)).toEqual(['l1']);
    // The watermark passes l1's fireAt (100 + 10 + 0 + 1): it leaves the cache, the left floor is 100.
    second?.commit(spec, [], 3, 111);
    const third = await cache.open('s', 'shard-0', 3, async () => true);
    // A right record at 111 can join lefts back to 101: above the floor, answered.
    expect(third?.lookup(spec, 'k', [arrival('right', 111, 111)], 101, 111)).toEqual([]);
    // One at 110 would need lefts back to 100, at the floor: the key must be Queried.
    expect(third?.lookup(spec, 'k', [arrival('right', 110, 105)], 100, 110)).toBeUndefined();
  });

  it('drops a shard another writer moved, a failed batch, and a shard with a parent', async () => {
    const cache = new JoinBufferCache();
    (await cache.open('s', 'shard-0', 0, async () => true))?.commit(spec, [record('left', 1, 'l1')], 2, 0);
    expect(await cache.open('s', 'shard-0', 4, async () => true)).toBeUndefined();
    expect(await cache.open('s', 'shard-0', 2, async () => true)).toBeUndefined();
    const open = await cache.open('s', 'shard-1', 0, async () => true);
    open?.abandon();
    expect(await cache.open('s', 'shard-1', 0, async () => false)).toBeUndefined();
    // A batch still open when the next starts (a timed-out invocation): the cache is dropped.
    await cache.open('s', 'shard-2', 0, async () => true);
    const next = await cache.open('s', 'shard-2', 0, async () => false);
    expect(next).toBeUndefined();
  });
});
