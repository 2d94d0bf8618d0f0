import { pipeline } from 'eddy';
import { QUERY_CONFIG } from './config.js';
import { auctions, nexmarkEvents, persons } from './source.js';

/** Query 3's sellers: people in Oregon, Idaho or California. */
export const Q3_STATES: ReadonlySet<string> = new Set(['OR', 'ID', 'CA']);
export const Q3_CATEGORY = 10;

/**
 * Nexmark query 3, local item suggestion: who is selling in category 10 in OR, ID or CA, and which
 * auctions. Persons of those states joined with auctions of category 10 by `person.id = seller`;
 * emits `{ name, city, state, id }` (the auction's id), as Beam's NameCityStateId.
 *
 * Beam keeps a seller's person (and the auctions that came before it) in state until
 * maxAuctionsWaitingTime (600 s) of event time has passed since the seller's last event. Eddy's
 * interval join keeps each record for a fixed interval instead: an auction joins its seller's person
 * when it is at most 600 s after it (or, an auction that came first, before it). The generator picks
 * sellers among the last 1,000 people and up to 10 not yet created: at Beam's 10,000 events/s an
 * auction is at most 5 s after its seller, so both give the same rows; they differ only for a seller
 * still active more than 600 s of event time after joining (docs/nexmark.md).
 *
 *   eddy run examples/nexmark/q3.ts -i nexmark-events=nexmark.jsonl -o nexmark-q3=q3.jsonl
 */
const p = pipeline('nexmark-q3');
const events = nexmarkEvents(p);
const waiting = QUERY_CONFIG.maxAuctionsWaitingTimeSec * 1000;

persons(events)
  .filter((person) => Q3_STATES.has(person.state), { name: 'in-or-id-ca' })
  .join(
    auctions(events).filter((auction) => auction.category === Q3_CATEGORY, { name: 'in-category-10' }),
    {
      name: 'seller',
      left: (person) => person.id,
      right: (auction) => auction.seller,
      within: { before: waiting, after: waiting },
      lateOutput: 'nexmark-q3-late',
      shards: 2,
    },
  )
  .map(([person, auction]) => ({ name: person.name, city: person.city, state: person.state, id: auction.id }), {
    name: 'name-city-state-id',
  })
  .sink('nexmark-q3');
export default p;
