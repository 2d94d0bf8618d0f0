import { avg, hopping, pipeline } from 'eddy';
import { QUERY_CONFIG } from './config.js';
import { nexmarkEvents } from './source.js';
import { winningBids } from './winning-bids.js';

/** Beam's sliding windows of q4: 10 s, every 5 s. */
export const Q4_WINDOWS = hopping(QUERY_CONFIG.windowSizeSec * 1000, QUERY_CONFIG.windowPeriodSec * 1000);

/** One row of q4: a category's average winning price in a window, rounded as Java's Math.round. */
export interface CategoryPrice {
  readonly category: number;
  readonly price: number;
  readonly windowStart: number;
  readonly windowEnd: number;
}

/**
 * Nexmark query 4, average price for a category: the winning bid of every closed auction (Beam's
 * WinningBids: the highest bid at or above the reserve placed while the auction was open, the
 * earlier at a tie), then per category the mean of the winning prices in sliding windows of 10 s
 * every 5 s, as Beam's Query4 (`Mean.perKey()` over `SlidingWindows`), by the winning bid's time,
 * the auction's last millisecond.
 *
 * Four stages, three of them stateful in a row: source → interval join of auctions and bids →
 * keyed by auction, a process function with a timer at the auction's close → keyed by category, a
 * hopping window. Each forwards its watermark behind its results (docs/watermarks.md).
 *
 *   eddy run examples/nexmark/q4.ts -i nexmark-events=nexmark.jsonl -o nexmark-q4=q4.jsonl
 */
const p = pipeline('nexmark-q4');
winningBids(nexmarkEvents(p), { lateOutput: 'nexmark-q4-join-late', shards: 2 })
  .keyBy((winning) => winning.category, { name: 'by-category', shards: 2 })
  .window(Q4_WINDOWS, { lateOutput: 'nexmark-q4-late' })
  .aggregate(avg((winning) => winning.price))
  .map(
    (r): CategoryPrice => ({
      category: Number(r.key),
      price: Math.round(r.value),
      windowStart: r.windowStart,
      windowEnd: r.windowEnd,
    }),
    { name: 'category-price' },
  )
  .sink('nexmark-q4');
export default p;
