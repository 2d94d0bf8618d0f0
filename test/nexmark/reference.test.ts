import { describe, expect, it } from 'vitest';
import {
  type Auction,
  type Bid,
  compareRows,
  type Event,
  isExact,
  type Person,
  q1,
  q2,
  q3,
  q4,
  q5,
  q6,
  q7,
  q8,
  winningBids,
} from './reference.js';

/** The reference on inputs small enough to work out by hand: what the query tests trust. */
const T = Date.UTC(2015, 6, 15);
const bid = (auction: number, price: number, at: number, bidder = 1): Event => ({
  bid: { auction, bidder, price, dateTime: T + at, extra: '' } satisfies Bid,
});
const person = (id: number, state: string, at: number): Event => ({
  person: {
    id,
    name: `p${id}`,
    emailAddress: '',
    creditCard: '',
    city: 'Boise',
    state,
    dateTime: T + at,
    extra: '',
  } satisfies Person,
});
const auction = (id: number, seller: number, category: number, at: number): Event => ({
  auction: {
    id,
    itemName: '',
    description: '',
    initialBid: 1,
    reserve: id * 10,
    dateTime: T + at,
    expires: T + at + 1,
    seller,
    category,
    extra: '',
  } satisfies Auction,
});

/** An auction open from `at` to `at + life` (ms from T), reserve 100. */
const open = (id: number, seller: number, category: number, at: number, life: number): Event => {
  const a = auction(id, seller, category, at) as { auction: Auction };
  return { auction: { ...a.auction, reserve: 100, expires: T + at + life } };
};

describe('the Nexmark reference (test/nexmark/reference.ts)', () => {
  it('winning bids: while open, at or above the reserve; the highest, then the earliest, then the lowest bidder', () => {
    const events = [
      open(1, 7, 10, 1_000, 1_000),
      bid(1, 500, 900), // before the auction opened
      bid(1, 99, 1_100), // under the reserve
      bid(1, 300, 1_500, 4),
      bid(1, 300, 1_200, 5), // same price, earlier: wins
      bid(1, 300, 1_200, 3), // same price and time, lower bidder: wins
      bid(1, 900, 2_000), // at expires: closed
      open(2, 7, 10, 1_000, 500),
      bid(2, 50, 1_100), // no valid bid: no winner
    ];
    expect(winningBids(events).map((w) => [w.auction.id, w.bid.price, w.bid.dateTime - T, w.bid.bidder])).toEqual([
      [1, 300, 1_200, 3],
    ]);
  });

  it("q4 averages winning prices per category in 10 s windows every 5 s, at each auction's last millisecond", () => {
    const events = [
      open(1, 7, 10, 0, 3_000), // closes at 2,999: windows [-5 s, 5 s) and [0, 10 s)
      bid(1, 101, 100),
      open(2, 7, 10, 0, 6_000), // closes at 5,999: windows [0, 10 s) and [5 s, 15 s)
      bid(2, 200, 100),
      open(3, 7, 11, 0, 6_000),
      bid(3, 400, 100),
    ];
    const rows = q4(events).map((r) => [r.category, r.price, r.windowStart - T]);
    expect(rows.sort((a, b) => (a[0] as number) - (b[0] as number) || (a[2] as number) - (b[2] as number))).toEqual([
      [10, 101, -5_000],
      [10, 151, 0], // (101 + 200) / 2 = 150.5, rounded half up
      [10, 200, 5_000],
      [11, 400, 0],
      [11, 400, 5_000],
    ]);
  });

  it("q6 averages a seller's last 10 winning prices at each close, in order of close", () => {
    const events: Event[] = [];
    for (let i = 1; i <= 12; i += 1) {
      events.push(open(i, 7, 10, 0, 1_000 * (13 - i)), bid(i, 100 * i, 10)); // auction 12 closes first
    }
    events.push(open(20, 8, 10, 0, 500), bid(20, 1_000, 10));
    const rows = q6(events);
    expect(rows.filter((r) => r.seller === 8)).toEqual([{ seller: 8, price: 1_000, auction: 20 }]);
    const seller7 = rows.filter((r) => r.seller === 7);
    expect(seller7.map((r) => r.auction)).toEqual([12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
    // The first closes alone; from the 11th on, the 10 latest by bid time then price: equal times,
    // so the 10 highest prices so far stay and the lowest goes (Beam's ASCENDING_TIME_THEN_PRICE).
    expect(seller7[0]?.price).toBe(1_200);
    expect(seller7[9]?.price).toBe(Math.round((1_200 + 1_100 + 1_000 + 900 + 800 + 700 + 600 + 500 + 400 + 300) / 10));
    expect(seller7[11]?.price).toBe(Math.round((1_200 + 1_100 + 1_000 + 900 + 800 + 700 + 600 + 500 + 400 + 300) / 10));
  });

  it('q1 converts in integer arithmetic and q2 keeps the bids of every 123rd auction', () => {
    expect(q1([bid(1000, 199, 0)]).map((b) => b.price)).toEqual([177]);
    expect(q2([bid(1107, 5, 0), bid(1108, 6, 0), bid(1230, 7, 0), bid(1107, 5, 1)])).toEqual([
      { auction: 1107, price: 5 },
      { auction: 1230, price: 7 },
      { auction: 1107, price: 5 },
    ]);
  });

  it('q3 joins sellers of OR, ID and CA with their category-10 auctions within 600 s either way', () => {
    const events = [
      auction(1, 100, 10, 0), // before its seller, within 600 s: joins
      person(100, 'OR', 1000),
      auction(2, 100, 10, 2000),
      auction(3, 100, 11, 2000), // another category
      auction(4, 100, 10, 601_001), // 600.001 s after its seller
      person(101, 'WA', 0),
      auction(5, 101, 10, 10), // a seller of another state
    ];
    expect(q3(events).map((r) => r.id)).toEqual([1, 2]);
    expect(q3(events, Number.POSITIVE_INFINITY).map((r) => r.id)).toEqual([1, 2, 4]);
  });

  it('q5 counts bids per auction in 10 s windows every 5 s and keeps every auction tied at the top', () => {
    const rows = q5([bid(1, 0, 1000), bid(2, 0, 2000), bid(1, 0, 6000), bid(2, 0, 7000), bid(2, 0, 12_000)]);
    const byWindow = (start: number) =>
      rows.filter((r) => r.windowStart === T + start).map((r) => [r.auction, r.num, r.windowEnd - r.windowStart]);
    expect(byWindow(-5000)).toEqual([
      [1, 1, 10_000],
      [2, 1, 10_000],
    ]);
    expect(byWindow(0)).toEqual([
      [1, 2, 10_000],
      [2, 2, 10_000],
    ]);
    expect(byWindow(5000)).toEqual([[2, 2, 10_000]]);
    expect(byWindow(10_000)).toEqual([[2, 1, 10_000]]);
    expect(rows).toHaveLength(6);
  });

  it('q7 keeps the bids at the highest price of each 10 s window, ties included', () => {
    const events = [bid(1, 5, 0), bid(2, 9, 1), bid(3, 9, 9999), bid(4, 3, 10_000), bid(5, 1, 10_001)];
    expect(q7(events).map((b) => b.auction)).toEqual([2, 3, 4]);
  });

  it('q8 pairs a person with each auction it sells in the same 10 s window', () => {
    const events = [
      person(100, 'WA', 9000),
      auction(1, 100, 10, 9999),
      auction(2, 100, 12, 10_000),
      auction(3, 7, 10, 9500),
    ];
    expect(q8(events)).toEqual([{ id: 100, name: 'p100', reserve: 10, auction: 1 }]);
  });

  it('compares as multisets: a repeat is allowed, a missing copy, an extra row and a changed result are not', () => {
    const want = [{ a: 1 }, { a: 1 }, { a: 2 }];
    expect(isExact(compareRows([{ a: 2 }, { a: 1 }, { a: 1 }, { a: 2 }], want))).toBe(true);
    expect(compareRows([{ a: 2 }, { a: 1 }, { a: 1 }, { a: 2 }], want).repeats).toBe(1);
    expect(compareRows([{ a: 1 }, { a: 2 }], want).missing).toEqual(['{"a":1}']);
    expect(compareRows([{ a: 1 }, { a: 1 }, { a: 2 }, { a: 3 }], want).extra).toEqual(['{"a":3}']);
    const byA = (r: { a: number; b?: number }) => String(r.a);
    expect(
      compareRows(
        [
          { a: 1, b: 1 },
          { a: 1, b: 2 },
        ],
        [{ a: 1, b: 1 }],
        byA,
      ).conflicts,
    ).toHaveLength(1);
    // Key order does not make rows differ.
    expect(isExact(compareRows([{ b: 1, a: 1 }], [{ a: 1, b: 1 }]))).toBe(true);
  });
});
