/**
 * Nexmark's knobs, named and defaulted as in Beam's NexmarkConfiguration
 * (sdks/java/testing/nexmark/.../NexmarkConfiguration.java), except where a comment says otherwise.
 */

/** How the generator synthesizes events. */
export interface GeneratorOptions {
  /** Events to generate. */
  readonly numEvents: number;
  /**
   * Parallel timelines the events are split over (Beam's BoundedEventSource splits), interleaved by
   * event number into one stream. Beam defaults to 100; we default to 1, one timeline whose ids grow
   * with time, because a small test input split 100 ways leaves each timeline a single 50-event
   * block. `100` reproduces Beam's split.
   */
  readonly numEventGenerators: number;
  /** Overall events per second of event time (Beam's constant-rate case: firstEventRate = nextEventRate). */
  readonly firstEventRate: number;
  /** Event time of the first event, epoch ms. Beam: 2015-07-15T00:00:00Z. */
  readonly baseTime: number;
  readonly avgPersonByteSize: number;
  readonly avgAuctionByteSize: number;
  readonly avgBidByteSize: number;
  /** 1 - 1/ratio of bids go to the hot auction (ratio 2: half). */
  readonly hotAuctionRatio: number;
  /** 1 - 1/ratio of auctions are by the hot seller. */
  readonly hotSellersRatio: number;
  /** 1 - 1/ratio of bids are by the hot bidder. */
  readonly hotBiddersRatio: number;
  /** The last this many auctions are the ones bids pick from (plus a lead of 10 not yet created). */
  readonly numInFlightAuctions: number;
  /** The last this many people are the ones sellers and bidders are picked from (plus a lead of 10). */
  readonly numActivePeople: number;
  /** Events are shuffled in event time within groups of this many; 1: in order. */
  readonly outOfOrderGroupSize: number;
  /**
   * Not in Beam, which seeds each event's java.util.Random with the event id alone: 0 gives Beam's
   * exact events; any other seed scrambles the low 48 bits of every event's seed.
   */
  readonly seed: number;
}

export const BEAM_BASE_TIME = Date.UTC(2015, 6, 15);

export const DEFAULT_GENERATOR_OPTIONS: GeneratorOptions = {
  numEvents: 100_000,
  numEventGenerators: 1,
  firstEventRate: 10_000,
  baseTime: BEAM_BASE_TIME,
  avgPersonByteSize: 200,
  avgAuctionByteSize: 500,
  avgBidByteSize: 100,
  hotAuctionRatio: 2,
  hotSellersRatio: 4,
  hotBiddersRatio: 4,
  numInFlightAuctions: 100,
  numActivePeople: 1000,
  outOfOrderGroupSize: 1,
  seed: 0,
};

/** The queries' parameters, Beam's defaults. */
export const QUERY_CONFIG = {
  /** Query 2 selects the bids of every auctionSkip'th auction. */
  auctionSkip: 123,
  /** Window size of queries 5, 7 and 8. */
  windowSizeSec: 10,
  /** Slide of query 5's sliding windows. */
  windowPeriodSec: 5,
  /** Query 3 keeps a seller's person and waiting auctions this long in event time. */
  maxAuctionsWaitingTimeSec: 600,
  /** Query 6 averages each seller's last this many winning bids (Beam's MovingMeanSellingPrice(10)). */
  sellerBidsAveraged: 10,
} as const;

/**
 * Eddy's bound on an auction's life for the winning-bid join of q4 and q6 (docs/nexmark.md): an
 * auction joins the bids up to this long after it opens, then keeps those before its `expires`. The
 * generator's auctions last at most twice the time 100 auctions take to be created (1,667 events): at
 * Beam's 10,000 events/s 0.33 s, at the tests' 200 events/s 17 s; 600 s covers rates down to 6
 * events/s. For an inner join the bound costs no watermark delay, only the range of a key's Query.
 */
export const MAX_AUCTION_LIFE_SEC = 600;

/**
 * Eddy's settings shared by every query: the one source stream and how disordered its event times
 * may be. The generator is in order unless outOfOrderGroupSize > 1, which disorders events by at most
 * groupSize / firstEventRate seconds: 1 s covers a group of 1,000 at Beam's 10,000 events/s.
 */
export const EVENTS_STREAM = 'nexmark-events';
export const MAX_OUT_OF_ORDERNESS = '1s';
/** Source shards: the machine the benchmark runs on has two cores; each shard is its own Lambda lane. */
export const SOURCE_SHARDS = 2;

/**
 * Shards of phase one's shuffle stream in q5 and q7: two for the benchmark's two cores. Deployed at
 * Beam's 10,000 events/s, q7's envelopes (the whole bid, about 3.3 MB/s) need four (docs/nexmark.md).
 */
const PHASE_ONE_SHARDS = 2;

/**
 * Eddy's settings of the two-phase queries (q5, q7), not Beam's. Phase one is keyed by partition, a
 * hash of the bid, so that the hot auction's bids (half of all bids) are not one key on one shard;
 * phase two, keyed by window, merges the partitions' results (docs/nexmark.md, "Two phases and the
 * hot key"). Beam's own fan-out for its global combines (`fanout`) is 5.
 */
export const TWO_PHASE = {
  /**
   * Partitions of phase one: its keys, a bid's partition being a hash of the bid modulo this. As many
   * as phase one's shards, one on each: a shard is one Lambda at a time, so more partitions than
   * shards bring no parallelism, only more state (q5: an auction's counts in more partitions' maps).
   * A multiple of the shards leaves room to split them.
   */
  partitions: PHASE_ONE_SHARDS,
  /** Shards of phase one's shuffle stream; each gets partitions / shards of the keys when it divides them. */
  phaseOneShards: PHASE_ONE_SHARDS,
  /** Shards of phase two's shuffle stream, keyed by window: consecutive windows spread over them. */
  phaseTwoShards: 2,
} as const;
