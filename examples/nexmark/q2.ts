import { pipeline } from 'eddy';
import { QUERY_CONFIG } from './config.js';
import { bids, nexmarkEvents } from './source.js';

/**
 * Nexmark query 2, selection: the auction and price of the bids on every 123rd auction (Beam's
 * auctionSkip), `auction % 123 == 0`.
 *
 *   eddy run examples/nexmark/q2.ts -i nexmark-events=nexmark.jsonl -o nexmark-q2=q2.jsonl
 */
const p = pipeline('nexmark-q2');
bids(nexmarkEvents(p))
  .filter((bid) => bid.auction % QUERY_CONFIG.auctionSkip === 0, { name: 'every-123rd-auction' })
  .map((bid) => ({ auction: bid.auction, price: bid.price }), { name: 'auction-price' })
  .sink('nexmark-q2');
export default p;
