import { aggregate, pipeline, tumbling } from 'eddy';
import { QUERY_CONFIG, TWO_PHASE } from './config.js';
import type { Bid } from './model.js';
import { PARTITION_KEYS, partitionOf } from './partition.js';
import { bids, nexmarkEvents } from './source.js';

/** Both phases' windows: Beam's, 10 s tumbling. */
export const Q7_WINDOWS = tumbling(QUERY_CONFIG.windowSizeSec * 1000);

/** The highest price seen so far and every bid at it (there may be ties). */
export interface HighestBids {
  readonly price: number | null;
  readonly bids: Bid[];
}

/**
 * Phase one: the highest price of a partition's bids in a window and every bid at it. Its result is
 * the accumulator itself (a copy), for phase two to merge.
 */
export const highestBids = aggregate({
  name: 'highest-bids',
  init: (): HighestBids => ({ price: null, bids: [] }),
  add: (acc, bid: Bid): HighestBids => {
    if (acc.price === null || bid.price > acc.price) return { price: bid.price, bids: [bid] };
    if (bid.price === acc.price) acc.bids.push(bid);
    return acc;
  },
  merge: mergeHighest,
  result: (acc): HighestBids => ({ price: acc.price, bids: [...acc.bids] }),
});

/** Phase one's result: a partition's highest bids in the window that starts at `windowStart`. */
export interface PartialHighest extends HighestBids {
  /** Phase two's key. */
  readonly windowStart: number;
}

/** Phase two: the partitions' highest bids of one window merged, the bids at the global maximum. */
export const highestOfPartitions = aggregate({
  name: 'highest-of-partitions',
  init: (): HighestBids => ({ price: null, bids: [] }),
  add: (acc, part: PartialHighest): HighestBids => mergeHighest(acc, { price: part.price, bids: [...part.bids] }),
  merge: mergeHighest,
  result: (acc): Bid[] => acc.bids,
});

/** The higher of two partial maxima, or both bid lists at a tie. May mutate `a`, never `b`. */
function mergeHighest(a: HighestBids, b: HighestBids): HighestBids {
  if (b.price === null || (a.price !== null && a.price > b.price)) return a;
  if (a.price === null || b.price > a.price) return { price: b.price, bids: [...b.bids] };
  a.bids.push(...b.bids);
  return a;
}

/**
 * Nexmark query 7, highest bid: in each 10 s tumbling window, the bid(s) with the highest price,
 * output as bids, as Beam's Query7.
 *
 * Two phases, as Beam (a global maximum with fan-out, then the bids at it) and Flink's two-phase
 * aggregation:
 *
 * 1. bids keyed by partition, a hash of the bid over TWO_PHASE.partitions (one per shard), each
 *    partition's key chosen to land on its own shard: per partition and window, the highest price and
 *    the bids at it. No bid field would do as the key: the hot auction has half the bids and the
 *    hot bidder three quarters.
 * 2. the partitions' results keyed by window, in the same tumbling windows (a result's event time,
 *    windowEnd - 1, is in its own window): the global maximum and every bid at it, ties included.
 *
 * Phase two gets one record per partition per window, each one bid or a few tied.
 *
 *   eddy run examples/nexmark/q7.ts -i nexmark-events=nexmark.jsonl -o nexmark-q7=q7.jsonl
 */
const p = pipeline('nexmark-q7');
bids(nexmarkEvents(p))
  .keyBy((bid) => PARTITION_KEYS[partitionOf(bid)] as string, {
    name: 'by-partition',
    shards: TWO_PHASE.phaseOneShards,
  })
  .window(Q7_WINDOWS, { lateOutput: 'nexmark-q7-late' })
  .aggregate(highestBids, { name: 'highest-per-partition' })
  .map((r): PartialHighest => ({ ...r.value, windowStart: r.windowStart }), { name: 'partial-highest' })
  .keyBy((part) => part.windowStart, { name: 'by-window', shards: TWO_PHASE.phaseTwoShards })
  // Never late: phase one forwards its watermark behind its results (checked by the tests).
  .window(Q7_WINDOWS, { lateOutput: 'nexmark-q7-partial-late' })
  .aggregate(highestOfPartitions, { name: 'highest-price' })
  .flatMap((r) => r.value, { name: 'highest-bids' })
  .sink('nexmark-q7');
export default p;
