import { aggregate, hopping, pipeline, tumbling } from 'eddy';
import { QUERY_CONFIG, TWO_PHASE } from './config.js';
import { PARTITION_KEYS, partitionOf } from './partition.js';
import { bids, nexmarkEvents } from './source.js';

const SIZE_MS = QUERY_CONFIG.windowSizeSec * 1000;
const SLIDE_MS = QUERY_CONFIG.windowPeriodSec * 1000;

/**
 * Phase one's windows: Beam's, 10 s sliding every 5 s. A bid is in two of them.
 */
export const Q5_WINDOWS = hopping(SIZE_MS, SLIDE_MS);

/**
 * Phase two's windows: tumbling, the size of the slide. A phase-one result carries event time
 * `windowEnd - 1`, and hopping windows end on multiples of the slide, so the result of the hopping
 * window [s, s + size) lands in the tumbling window [s + size - slide, s + size): one hopping window,
 * one phase-two window, which ends when it does and fires as soon as its last partial count is in.
 */
export const Q5_MERGE_WINDOWS = tumbling(SLIDE_MS);

/** A bid as phase one needs it: its auction, and its partition (phase one's key). */
export interface AuctionBid {
  readonly auction: number;
  readonly partition: number;
}

/** Bids per auction (by id), in one window of one partition (phase one) or of all (phase two). */
export type BidCounts = Record<string, number>;

/** Phase one's result: a partition's bids per auction in the hopping window that starts at `windowStart`. */
export interface PartialCounts {
  /** Phase two's key. */
  readonly windowStart: number;
  readonly counts: BidCounts;
}

/** Bids per auction in a window, and the auctions that have the most. */
export interface HotAuctions {
  readonly num: number;
  /** Ascending. */
  readonly auctions: number[];
}

function addCounts(a: BidCounts, b: BidCounts): BidCounts {
  for (const [auction, n] of Object.entries(b)) a[auction] = (a[auction] ?? 0) + n;
  return a;
}

/**
 * Phase one: bids per auction, in one partition's share of a window. Its result is a copy of the
 * counts, for phase two to add up.
 */
export const bidsPerAuction = aggregate({
  name: 'bids-per-auction',
  init: (): BidCounts => ({}),
  add: (counts, bid: AuctionBid) => {
    counts[bid.auction] = (counts[bid.auction] ?? 0) + 1;
    return counts;
  },
  merge: addCounts,
  result: (counts): BidCounts => ({ ...counts }),
});

/**
 * Phase two: the partitions' counts of one hopping window added up per auction, and the auction(s)
 * with the most. The accumulator holds one count per auction that had a bid in the window: the
 * auctions in flight (about numInFlightAuctions) plus those created during the window.
 */
export const hotAuctions = aggregate({
  name: 'hot-auctions',
  init: (): BidCounts => ({}),
  add: (counts, part: PartialCounts) => addCounts(counts, part.counts),
  merge: addCounts,
  result: (counts): HotAuctions => {
    let num = 0;
    let top: number[] = [];
    for (const [auction, n] of Object.entries(counts)) {
      if (n > num) {
        num = n;
        top = [Number(auction)];
      } else if (n === num) {
        top.push(Number(auction));
      }
    }
    return { num, auctions: top.sort((x, y) => x - y) };
  },
});

/**
 * Nexmark query 5, hot items: in each 10 s window sliding every 5 s, the auction(s) with the most
 * bids, as Beam's Query5: `{ auction, num }` per top auction, plus the window's bounds (Beam's
 * AuctionCount does not say which window a row is for; two windows can have the same top auction).
 *
 * Two stateful stages, as Beam (a count per auction with combiner lifting, then a global combine with
 * fan-out) and Flink's two-phase (local, then global) aggregation:
 *
 * 1. bids keyed by partition, a hash of the bid over TWO_PHASE.partitions (one per shard), each
 *    partition's key chosen to land on its own shard: per partition and hopping window, the bids per
 *    auction. This is the hot-key plan: the hot auction has half of all bids, and each partition
 *    gets an equal share of them, as of every other auction, so phase one is evenly parallel
 *    whatever the skew. Keyed by auction, salted, phase one would keep a state item per auction and
 *    salt per window, and send phase two a record for each (docs/nexmark.md, where it was measured).
 * 2. the partitions' counts keyed by their hopping window's start, in tumbling windows of the slide
 *    (one per hopping window, see Q5_MERGE_WINDOWS): added up per auction, and the maximum taken.
 *    Phase two gets one record per partition per window.
 *
 * Phase one forwards its watermark behind its results, so phase two fires a window once every
 * partition's counts are in, and none is late (docs/watermarks.md).
 *
 *   eddy run examples/nexmark/q5.ts -i nexmark-events=nexmark.jsonl -o nexmark-q5=q5.jsonl
 */
const p = pipeline('nexmark-q5');
bids(nexmarkEvents(p))
  // Only the auction and the partition travel: the shuffle envelope carries the event time.
  .map((bid): AuctionBid => ({ auction: bid.auction, partition: partitionOf(bid) }), { name: 'bid-to-auction' })
  .keyBy((bid) => PARTITION_KEYS[bid.partition] as string, { name: 'by-partition', shards: TWO_PHASE.phaseOneShards })
  .window(Q5_WINDOWS, { lateOutput: 'nexmark-q5-late' })
  .aggregate(bidsPerAuction, { name: 'bids-per-auction' })
  .map((r): PartialCounts => ({ windowStart: r.windowStart, counts: r.value }), { name: 'partial-counts' })
  // The envelope carries the result's event time, windowEnd - 1: phase two's window is the hopping
  // window's last slide. Keyed by the hopping window, consecutive windows spread over the shards.
  .keyBy((part) => part.windowStart, { name: 'by-window', shards: TWO_PHASE.phaseTwoShards })
  // Never late: phase one forwards its watermark behind its results (checked by the tests).
  .window(Q5_MERGE_WINDOWS, { lateOutput: 'nexmark-q5-partial-late' })
  .aggregate(hotAuctions, { name: 'hot-auctions' })
  .flatMap(
    (r) =>
      r.value.auctions.map((auction) => ({
        auction,
        num: r.value.num,
        // The key is the hopping window's start; the tumbling window ends where it does.
        windowStart: Number(r.key),
        windowEnd: r.windowEnd,
      })),
    { name: 'auction-count' },
  )
  .sink('nexmark-q5');
export default p;
