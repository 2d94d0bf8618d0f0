import { pipeline, tumbling } from 'eddy';
import { QUERY_CONFIG } from './config.js';
import { auctions, nexmarkEvents, persons } from './source.js';

/**
 * Nexmark query 8, monitor new users: people who joined and opened an auction in the same 10 s
 * window. A window join of persons (by id) and auctions (by seller) in tumbling windows, Beam's
 * CoGroupByKey of fixed windows; emits one `{ id, name, reserve }` per auction, as Beam's
 * IdNameReserve, plus `auction`, the auction's id: Eddy's sinks deliver at least once, and the pair
 * of ids lets a consumer drop a repeat.
 *
 *   eddy run examples/nexmark/q8.ts -i nexmark-events=nexmark.jsonl -o nexmark-q8=q8.jsonl
 */
const p = pipeline('nexmark-q8');
const events = nexmarkEvents(p);

persons(events)
  .join(auctions(events), {
    name: 'new-users',
    left: (person) => person.id,
    right: (auction) => auction.seller,
    window: tumbling(QUERY_CONFIG.windowSizeSec * 1000),
    lateOutput: 'nexmark-q8-late',
    shards: 2,
  })
  .map(([person, auction]) => ({ id: person.id, name: person.name, reserve: auction.reserve, auction: auction.id }), {
    name: 'id-name-reserve',
  })
  .sink('nexmark-q8');
export default p;
