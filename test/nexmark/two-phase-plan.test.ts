import { describe, expect, it } from 'vitest';
import { TWO_PHASE } from '../../examples/nexmark/config.js';
import { generateEvents } from '../../examples/nexmark/generator.js';
import type { Bid } from '../../examples/nexmark/model.js';
import { hashSlice, PARTITION_KEYS, spreadKeys } from '../../examples/nexmark/partition.js';
import q5, { bidsPerAuction, hotAuctions, Q5_MERGE_WINDOWS, Q5_WINDOWS } from '../../examples/nexmark/q5.js';
import q7, { highestBids, highestOfPartitions } from '../../examples/nexmark/q7.js';
import type { Pipeline } from '../../shared/index.js';
import { assignWindows } from '../../shared/windows/index.js';
import type { Aggregation } from '../../shared/windows/types.js';
import { TEST_INPUT } from './queries.support.js';

/** The node's function, as the DSL stored it. */
const fnOf = (p: Pipeline, name: string) => {
  const node = p.graph.node(name);
  if (!('fn' in node)) throw new Error(`${name} has no function`);
  return node.fn as (value: unknown) => unknown;
};

/** A bid's phase-one key: q5 maps the bid first (to its auction and partition), q7 keys the bid. */
const phaseOneKey: Record<'q5' | 'q7', (bid: Bid) => string> = {
  q5: (bid) => String(fnOf(q5, 'by-partition')(fnOf(q5, 'bid-to-auction')(bid))),
  q7: (bid) => String(fnOf(q7, 'by-partition')(bid)),
};

const bids = [...generateEvents(TEST_INPUT)].flatMap((e) => ('bid' in e ? [e.bid] : []));
/** The auction with the most bids on the test input: the generator's hot auction of the time. */
const hot = (() => {
  const counts = new Map<number, number>();
  for (const b of bids) counts.set(b.auction, (counts.get(b.auction) ?? 0) + 1);
  return [...counts].reduce((a, b) => (b[1] > a[1] ? b : a))[0];
})();
const hotBids = bids.filter((b) => b.auction === hot);

describe.each([
  ['q5', q5],
  ['q7', q7],
] as const)('nexmark %s: a two-phase plan', (name, p) => {
  const plan = p.plan();
  const stateful = plan.stages.filter((s) => s.stateful);

  it('has the source stage and two stateful stages: by partition, then by window', () => {
    expect(plan.stages.map((s) => [s.input, s.stateful])).toEqual([
      ['nexmark-events', false],
      [`nexmark-${name}-by-partition`, true],
      [`nexmark-${name}-by-window`, true],
    ]);
    expect(stateful).toHaveLength(2);
    const shards = (stream: string) => plan.streams.find((s) => s.name === stream)?.shardCount;
    expect(shards(`nexmark-${name}-by-partition`)).toBe(TWO_PHASE.phaseOneShards);
    expect(shards(`nexmark-${name}-by-window`)).toBe(TWO_PHASE.phaseTwoShards);
  });

  it("spreads the hot auction's bids evenly over every partition key and every phase-one shard", () => {
    expect(hotBids.length).toBeGreaterThan(bids.length / 20);
    const perKey = new Map<string, number>();
    const perShard = new Map<number, number>();
    for (const bid of hotBids) {
      const key = phaseOneKey[name](bid);
      perKey.set(key, (perKey.get(key) ?? 0) + 1);
      const shard = hashSlice(key, TWO_PHASE.phaseOneShards);
      perShard.set(shard, (perShard.get(shard) ?? 0) + 1);
    }
    // A salted or partitioned key, not the auction: the hot auction is every key.
    expect([...perKey.keys()].sort()).toEqual([...PARTITION_KEYS].sort());
    for (const n of perKey.values()) expect(n / hotBids.length).toBeGreaterThan((1 / TWO_PHASE.partitions) * 0.7);
    expect(perShard.size).toBe(TWO_PHASE.phaseOneShards);
    for (const n of perShard.values()) expect(n / hotBids.length).toBeGreaterThan((1 / TWO_PHASE.phaseOneShards) * 0.8);
  });

  it('keys phase two by window', () => {
    const key = fnOf(p, 'by-window');
    expect(key({ windowStart: 1_436_918_400_000 })).toBe(1_436_918_400_000);
  });
});

describe('nexmark partition keys', () => {
  it('put partitions / n keys on each of n evenly split shards, for every n dividing the partitions', () => {
    for (const partitions of [4, 8, 16]) {
      const keys = spreadKeys(partitions);
      expect(new Set(keys).size).toBe(partitions);
      for (let n = 1; n <= partitions; n *= 2) {
        const perShard = new Array<number>(n).fill(0);
        for (const key of keys) perShard[hashSlice(key, n)] = (perShard[hashSlice(key, n)] as number) + 1;
        expect(perShard).toEqual(new Array<number>(n).fill(partitions / n));
      }
    }
  });

  it('are needed: the plain keys "0" to "7" put 7 of 8 partitions on one shard of two', () => {
    const plain = Array.from({ length: 8 }, (_, i) => hashSlice(String(i), 2));
    expect(Math.max(plain.filter((s) => s === 0).length, plain.filter((s) => s === 1).length)).toBe(7);
  });
});

describe("nexmark q5's phase-two windows", () => {
  it("put each hopping window's results (event time windowEnd - 1) in one tumbling window of its own, ending with it", () => {
    const base = Date.UTC(2015, 6, 15);
    const seen = new Set<number>();
    for (let t = base - 20_000; t < base + 20_000; t += 250) {
      for (const w of assignWindows(Q5_WINDOWS, t)) {
        const merged = assignWindows(Q5_MERGE_WINDOWS, w.end - 1);
        expect(merged).toHaveLength(1);
        expect(merged[0]?.end).toBe(w.end);
        seen.add(w.start);
      }
    }
    // Distinct hopping windows have distinct ends, so distinct phase-two windows.
    expect(seen.size).toBeGreaterThan(5);
  });
});

/** An aggregation over values, as the window operator runs it: add each, then the result. */
const fold = <T, A, R>(aggregation: Aggregation<T, A, R>, values: readonly T[]): R =>
  aggregation.result(values.reduce((acc, v) => aggregation.add(acc, v), aggregation.init()));

describe('the two phases, composed by hand', () => {
  const bid = (auction: number, price: number, dateTime = 0): Bid => ({
    auction,
    bidder: 1,
    price,
    dateTime,
    extra: '',
  });

  it('q5: partitions count per auction, phase two adds them up and keeps every auction tied at the top', () => {
    const part = (bids: [number, number][]) => ({
      windowStart: 0,
      counts: fold(
        bidsPerAuction,
        bids.flatMap(([auction, n]) => Array.from({ length: n }, () => ({ auction, partition: 0 }))),
      ),
    });
    // Auction 2 leads in no partition, yet ties auction 1 overall; 3 leads one partition only.
    const parts = [
      part([
        [1, 3],
        [2, 2],
      ]),
      part([
        [3, 4],
        [2, 2],
      ]),
      part([[1, 1]]),
    ];
    expect(fold(hotAuctions, parts)).toEqual({ num: 4, auctions: [1, 2, 3] });
    expect(fold(hotAuctions, parts.slice(0, 2))).toEqual({ num: 4, auctions: [2, 3] });
  });

  it('q7: partitions keep their highest bids, phase two the global highest, ties across partitions included', () => {
    const partial = (bids: Bid[]) => ({ ...fold(highestBids, bids), windowStart: 0 });
    const parts = [partial([bid(1, 5), bid(2, 9), bid(3, 9)]), partial([bid(4, 9), bid(5, 2)]), partial([bid(6, 8)])];
    expect(fold(highestOfPartitions, parts).map((b) => b.auction)).toEqual([2, 3, 4]);
    expect(fold(highestOfPartitions, [parts[2], parts[0]] as typeof parts).map((b) => b.auction)).toEqual([2, 3]);
    // Phase two's add must not mutate phase one's result (it is its record, maybe delivered again).
    expect(parts[0]?.bids.map((b) => b.auction)).toEqual([2, 3]);
  });
});
