import type { DataStream, Pipeline } from 'eddy';
import { EVENTS_STREAM, MAX_OUT_OF_ORDERNESS, SOURCE_SHARDS } from './config.js';
import { type Auction, type Bid, eventTimeOf, NexmarkEvent, type Person } from './model.js';

/** The one stream every query reads: all three event kinds, event time from their dateTime. */
export function nexmarkEvents(p: Pipeline): DataStream<NexmarkEvent> {
  return p.source(EVENTS_STREAM, {
    schema: NexmarkEvent,
    eventTime: eventTimeOf,
    maxOutOfOrderness: MAX_OUT_OF_ORDERNESS,
    shards: SOURCE_SHARDS,
  });
}

// flatMap rather than filter + map: one operator, and the narrowing needs no type predicate.
export const bids = (events: DataStream<NexmarkEvent>): DataStream<Bid> =>
  events.flatMap((e) => ('bid' in e ? [e.bid] : []), { name: 'bids' });

export const auctions = (events: DataStream<NexmarkEvent>): DataStream<Auction> =>
  events.flatMap((e) => ('auction' in e ? [e.auction] : []), { name: 'auctions' });

export const persons = (events: DataStream<NexmarkEvent>): DataStream<Person> =>
  events.flatMap((e) => ('person' in e ? [e.person] : []), { name: 'persons' });
