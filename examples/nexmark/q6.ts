import { pipeline, state } from 'eddy';
import { QUERY_CONFIG } from './config.js';
import { nexmarkEvents } from './source.js';
import { type WinningBid, winningBids } from './winning-bids.js';

/** One row of q6: a seller's average selling price over its last 10 closed auctions, when `auction` closed. */
export interface SellerPrice {
  readonly seller: number;
  readonly price: number;
  readonly auction: number;
}

/** A winning bid as the average keeps it: Beam's accumulator holds bids sorted by time, then price. */
interface Sold {
  readonly price: number;
  readonly bidTime: number;
}

const declared = { closing: state.list<WinningBid>(), last: state.list<Sold>() };
const LAST = QUERY_CONFIG.sellerBidsAveraged;

/**
 * Nexmark query 6, average selling price by seller: for every closed auction, its seller's average
 * winning price over the seller's last 10 closed auctions (Beam's Query6: WinningBids keyed by
 * seller, a global window firing on every element, MovingMeanSellingPrice(10): the 10 latest winning
 * bids by bid time then price, their mean rounded).
 *
 * Beam's global window adds winning bids in arrival order. Eddy makes the order event time: keyed by
 * seller, a process function holds each winning bid until the watermark reaches its time (the
 * auction's close, an event-time timer), then takes the seller's auctions closing then in auction
 * order, each giving one row: the same rows on every run, whatever the batches.
 *
 * Four stages: source → interval join → keyed by auction, the winning bid → keyed by seller, the
 * moving average. A process function after a process function after a join.
 *
 *   eddy run examples/nexmark/q6.ts -i nexmark-events=nexmark.jsonl -o nexmark-q6=q6.jsonl
 */
const p = pipeline('nexmark-q6');
winningBids(nexmarkEvents(p), { lateOutput: 'nexmark-q6-join-late', shards: 2 })
  .keyBy((winning) => winning.seller, { name: 'by-seller', shards: 2 })
  .process<SellerPrice, typeof declared>(
    {
      processElement(winning, ctx) {
        ctx.state.closing.add(winning);
        ctx.timers.registerEventTimeTimer(ctx.timestamp);
      },
      onTimer(time, ctx) {
        const closing = ctx.state.closing.get();
        const due = closing.filter((w) => w.expires - 1 <= time).sort((a, b) => a.auction - b.auction);
        ctx.state.closing.update(closing.filter((w) => w.expires - 1 > time));
        const last = ctx.state.last.get();
        for (const winning of due) {
          last.push({ price: winning.price, bidTime: winning.bidTime });
          last.sort((a, b) => a.bidTime - b.bidTime || a.price - b.price);
          if (last.length > LAST) last.shift();
          const mean = last.reduce((sum, sold) => sum + sold.price, 0) / last.length;
          ctx.emit({ seller: winning.seller, price: Math.round(mean), auction: winning.auction });
        }
        ctx.state.last.update(last);
      },
    },
    { name: 'average-selling-price', state: declared },
  )
  .sink('nexmark-q6');
export default p;
