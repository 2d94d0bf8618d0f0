import { type DataStream, state } from 'eddy';
import { MAX_AUCTION_LIFE_SEC } from './config.js';
import type { Auction, Bid, NexmarkEvent } from './model.js';
import { auctions, bids } from './source.js';

/** The winning bid of a closed auction, with what q4 and q6 need of its auction. */
export interface WinningBid {
  readonly auction: number;
  readonly seller: number;
  readonly category: number;
  /** The auction's close (exclusive): the winning bid is emitted at `expires - 1`. */
  readonly expires: number;
  readonly bidder: number;
  readonly price: number;
  /** The winning bid's own time. */
  readonly bidTime: number;
}

/** Whether bid `a` beats bid `b`: a higher price, then the earlier bid (Beam's PRICE_THEN_DESCENDING_TIME), then the lower bidder. */
export function beats(a: Pick<WinningBid, 'price' | 'bidTime' | 'bidder'>, b: typeof a): boolean {
  if (a.price !== b.price) return a.price > b.price;
  if (a.bidTime !== b.bidTime) return a.bidTime < b.bidTime;
  return a.bidder < b.bidder;
}

/** A valid bid for an auction: placed while it is open, `[dateTime, expires)`, at or above its reserve. */
export const isValidBid = (auction: Auction, bid: Bid): boolean =>
  bid.dateTime >= auction.dateTime && bid.dateTime < auction.expires && bid.price >= auction.reserve;

const declared = { best: state.value<WinningBid>() };

/**
 * Beam's WinningBids: the highest valid bid of each auction, once the auction has closed. Two
 * stateful stages:
 *
 * 1. an interval join of auctions (left) and bids (right) on `auction.id = bid.auction`, a bid from
 *    the auction's opening up to MAX_AUCTION_LIFE_SEC after it, then only the valid bids (open,
 *    at or above the reserve);
 * 2. keyed by auction, a process function that keeps the best bid so far and emits it from an
 *    event-time timer at the auction's last millisecond, `expires - 1` (the event time Beam gives the
 *    auction window's result): the watermark the join forwards is behind every pair still to come,
 *    so when the timer fires no valid bid of the auction is on its way.
 */
export function winningBids(
  events: DataStream<NexmarkEvent>,
  options: { readonly lateOutput: string; readonly shards: number },
): DataStream<WinningBid> {
  const { lateOutput, shards } = options;
  return auctions(events)
    .join(bids(events), {
      name: 'auction-bids',
      left: (auction) => auction.id,
      right: (bid) => bid.auction,
      within: { before: 0, after: MAX_AUCTION_LIFE_SEC * 1000 },
      lateOutput,
      shards,
    })
    .flatMap(
      ([auction, bid]): WinningBid[] =>
        isValidBid(auction, bid)
          ? [
              {
                auction: auction.id,
                seller: auction.seller,
                category: auction.category,
                expires: auction.expires,
                bidder: bid.bidder,
                price: bid.price,
                bidTime: bid.dateTime,
              },
            ]
          : [],
      { name: 'valid-bids' },
    )
    .keyBy((candidate) => candidate.auction, { name: 'by-auction', shards })
    .process<WinningBid, typeof declared>(
      {
        processElement(candidate, ctx) {
          const best = ctx.state.best.value();
          if (best === undefined) ctx.timers.registerEventTimeTimer(candidate.expires - 1);
          if (best === undefined || beats(candidate, best)) ctx.state.best.update(candidate);
        },
        onTimer(_time, ctx) {
          const best = ctx.state.best.value();
          if (best !== undefined) ctx.emit(best);
          ctx.state.best.clear();
        },
      },
      { name: 'winning-bid', state: declared },
    );
}
