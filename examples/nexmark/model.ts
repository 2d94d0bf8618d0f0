import * as z from 'zod';

/**
 * Nexmark's three event kinds, with Beam's field names (org.apache.beam.sdk.nexmark.model), times as
 * epoch milliseconds. One stream carries all three, each event an object with exactly one of
 * `person`, `auction`, `bid`.
 */
export const Person = z.object({
  id: z.number().int(),
  name: z.string(),
  emailAddress: z.string(),
  creditCard: z.string(),
  city: z.string(),
  state: z.string(),
  dateTime: z.number().int(),
  extra: z.string(),
});
export type Person = z.infer<typeof Person>;

export const Auction = z.object({
  id: z.number().int(),
  itemName: z.string(),
  description: z.string(),
  initialBid: z.number().int(),
  reserve: z.number().int(),
  dateTime: z.number().int(),
  expires: z.number().int(),
  seller: z.number().int(),
  category: z.number().int(),
  extra: z.string(),
});
export type Auction = z.infer<typeof Auction>;

export const Bid = z.object({
  auction: z.number().int(),
  bidder: z.number().int(),
  price: z.number().int(),
  dateTime: z.number().int(),
  extra: z.string(),
});
export type Bid = z.infer<typeof Bid>;

// Bids first: 46 events in 50 are bids, and a union tries its options in order.
export const NexmarkEvent = z.union([
  z.strictObject({ bid: Bid }),
  z.strictObject({ auction: Auction }),
  z.strictObject({ person: Person }),
]);
export type NexmarkEvent = z.infer<typeof NexmarkEvent>;

export function eventTimeOf(event: NexmarkEvent): number {
  if ('bid' in event) return event.bid.dateTime;
  if ('auction' in event) return event.auction.dateTime;
  return event.person.dateTime;
}

export function bidOf(event: NexmarkEvent): Bid | undefined {
  return 'bid' in event ? event.bid : undefined;
}

export function auctionOf(event: NexmarkEvent): Auction | undefined {
  return 'auction' in event ? event.auction : undefined;
}

export function personOf(event: NexmarkEvent): Person | undefined {
  return 'person' in event ? event.person : undefined;
}
