import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BEAM_BASE_TIME, DEFAULT_GENERATOR_OPTIONS } from '../../examples/nexmark/config.js';
import {
  AUCTION_ID_LEAD,
  FIRST_AUCTION_ID,
  FIRST_PERSON_ID,
  generateEvents,
  HOT_AUCTION_RATIO,
  HOT_BIDDER_RATIO,
  HOT_SELLER_RATIO,
  lastBase0AuctionId,
  lastBase0PersonId,
  PERSON_ID_LEAD,
  US_STATES,
  writeEvents,
} from '../../examples/nexmark/generator.js';
import { JavaRandom } from '../../examples/nexmark/java-random.js';
import { NexmarkEvent } from '../../examples/nexmark/model.js';

const lines = (options: Parameters<typeof generateEvents>[0]) =>
  [...generateEvents(options)].map((e) => JSON.stringify(e));
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

describe('JavaRandom', () => {
  it('draws what java.util.Random draws for the same seed (values from OpenJDK 17)', () => {
    expect(new JavaRandom(42).nextInt()).toBe(-1170105035);
    expect(new JavaRandom(0).nextInt()).toBe(-1155484576);
    expect(new JavaRandom(42).nextDouble()).toBe(0.7275636800328681);
    expect(new JavaRandom(42).nextInt(10)).toBe(0);
    expect(new JavaRandom(-5).nextInt(1000)).toBe(411);
    expect(new JavaRandom(7).nextLong()).toBe(-4967725919621401576n);
    const r = new JavaRandom(123);
    // nextInt(bound) for an odd bound, nextInt(), a power of two, nextDouble, a bound near 2^30.
    expect([
      r.nextInt(13),
      r.nextInt(26),
      r.nextInt(),
      r.nextInt(1024),
      r.nextDouble(),
      r.nextInt(1_000_000_007),
    ]).toEqual([4, 14, -39088943, 308, 0.25329310557439133, 307388827]);
  });
});

describe('the Nexmark generator (examples/nexmark/generator.ts)', () => {
  it("gives Beam's events for seed 0: the stream of a transcription of Beam's generator run on the JVM", () => {
    // Digests of `java Gen <events> <rate> <outOfOrderGroupSize> <numEventGenerators>`, a transcription of
    // Beam's GeneratorConfig and Person/Auction/Bid/Strings/Price generators with java.util.Random, its
    // events printed as these JSON lines (docs/nexmark.md, "The generator").
    expect(sha256(`${lines({ numEvents: 10_000 }).join('\n')}\n`)).toBe(
      '7483d0bebf886113965127ee18e4e2bd74757dc2109603c8ca57c3fd77749c2d',
    );
    expect(
      sha256(
        `${lines({ numEvents: 5000, firstEventRate: 200, outOfOrderGroupSize: 7, numEventGenerators: 100 }).join('\n')}\n`,
      ),
    ).toBe('498c9eef4406e303cff065d195162a539b9ec9f5930981d569f30ab094c230df');
    const [person, auction] = [...generateEvents({ numEvents: 2 })];
    expect(person).toMatchObject({
      person: { id: 1000, name: 'Peter Jones', emailAddress: 'nhd@xcat.com', creditCard: '7241 7320 9143 4888' },
    });
    expect(auction).toMatchObject({
      auction: { id: 1000, initialBid: 28873, reserve: 29448, dateTime: BEAM_BASE_TIME, category: 13, seller: 1000 },
    });
  });

  it('is deterministic for a seed, and another seed gives other events of the same shape', () => {
    const options = { numEvents: 3000, seed: 11, outOfOrderGroupSize: 5 };
    expect(lines(options)).toEqual(lines(options));
    const other = lines({ ...options, seed: 12 });
    const same = lines(options).filter((line, i) => line === other[i]).length;
    expect(same).toBe(0);
    for (const line of other) expect(NexmarkEvent.safeParse(JSON.parse(line)).success).toBe(true);
  });

  it('makes one person, three auctions and 46 bids in every block of 50 events, in that order', () => {
    const events = [...generateEvents({ numEvents: 50 * 200, seed: 3 })];
    for (let block = 0; block < 200; block += 1) {
      const kinds = events.slice(block * 50, block * 50 + 50).map((e) => Object.keys(e)[0]);
      expect(kinds).toEqual(['person', 'auction', 'auction', 'auction', ...Array(46).fill('bid')]);
    }
    // With disorder and parallel timelines the positions move, not the proportions.
    const mixed = [...generateEvents({ numEvents: 50 * 400, seed: 3, outOfOrderGroupSize: 37, numEventGenerators: 4 })];
    const count = (kind: string) => mixed.filter((e) => kind in e).length;
    expect([count('person'), count('auction'), count('bid')]).toEqual([400, 1200, 18_400]);
  });

  it('gives ids in order, and bids and auctions refer to people and auctions that exist or are at most 10 ahead', () => {
    const numInFlight = DEFAULT_GENERATOR_OPTIONS.numInFlightAuctions;
    const numActive = DEFAULT_GENERATOR_OPTIONS.numActivePeople;
    const events = [...generateEvents({ numEvents: 60_000, seed: 5 })];
    // Plain checks, one expect at the end: 60,000 expect calls would take seconds.
    const broken: string[] = [];
    const check = (ok: boolean, what: string) => {
      if (!ok && broken.length < 10) broken.push(what);
    };
    let persons = 0;
    let auctions = 0;
    let bidsOnExisting = 0;
    let bids = 0;
    for (const e of events) {
      if ('person' in e) {
        check(e.person.id === FIRST_PERSON_ID + persons, `person ${e.person.id} out of order`);
        persons += 1;
      } else if ('auction' in e) {
        check(e.auction.id === FIRST_AUCTION_ID + auctions, `auction ${e.auction.id} out of order`);
        auctions += 1;
        // The last `numActive` people, or one of the next 10 not yet created.
        const { seller } = e.auction;
        check(seller < FIRST_PERSON_ID + persons + PERSON_ID_LEAD, `seller ${seller} too far ahead`);
        check(seller >= FIRST_PERSON_ID + persons - numActive, `seller ${seller} no longer active`);
      } else {
        bids += 1;
        const { auction, bidder } = e.bid;
        check(
          auction >= FIRST_AUCTION_ID + Math.max(0, auctions - 1 - numInFlight),
          `auction ${auction} not in flight`,
        );
        check(auction < FIRST_AUCTION_ID + auctions + AUCTION_ID_LEAD, `auction ${auction} too far ahead`);
        check(bidder >= FIRST_PERSON_ID + persons - numActive, `bidder ${bidder} no longer active`);
        // The hot bidder is the second of its batch of 100: at most the next person, still to come.
        check(bidder < FIRST_PERSON_ID + persons + PERSON_ID_LEAD, `bidder ${bidder} too far ahead`);
        if (auction < FIRST_AUCTION_ID + auctions) bidsOnExisting += 1;
      }
    }
    expect(broken).toEqual([]);
    // Half the bids go to the hot auction, which exists; of the rest, 10 in 111 draws are ahead.
    expect(bidsOnExisting / bids).toBeGreaterThan(0.94);
    expect(bidsOnExisting / bids).toBeLessThan(0.97);
  });

  it('sends about half the bids to the hot auction and 3 in 4 auctions and bids to the hot seller and bidder', () => {
    const events = [...generateEvents({ numEvents: 100_000, seed: 9 })];
    let bids = 0;
    let hotAuction = 0;
    let hotBidder = 0;
    let auctions = 0;
    let hotSeller = 0;
    events.forEach((e, eventId) => {
      if ('bid' in e) {
        bids += 1;
        if (e.bid.auction === FIRST_AUCTION_ID + Math.floor(lastBase0AuctionId(eventId) / HOT_AUCTION_RATIO) * 100) {
          hotAuction += 1;
        }
        if (e.bid.bidder === FIRST_PERSON_ID + Math.floor(lastBase0PersonId(eventId) / HOT_BIDDER_RATIO) * 100 + 1) {
          hotBidder += 1;
        }
      } else if ('auction' in e) {
        auctions += 1;
        if (e.auction.seller === FIRST_PERSON_ID + Math.floor(lastBase0PersonId(eventId) / HOT_SELLER_RATIO) * 100) {
          hotSeller += 1;
        }
      }
    });
    // hotAuctionRatio 2: 1 - 1/2 of the bids, plus the uniform draws that land on it (about 1 in 111).
    expect(hotAuction / bids).toBeGreaterThan(0.49);
    expect(hotAuction / bids).toBeLessThan(0.52);
    // hotBiddersRatio and hotSellersRatio 4: 1 - 1/4, plus the uniform draws among 1,000 people.
    expect(hotBidder / bids).toBeGreaterThan(0.74);
    expect(hotBidder / bids).toBeLessThan(0.77);
    expect(hotSeller / auctions).toBeGreaterThan(0.72);
    expect(hotSeller / auctions).toBeLessThan(0.78);
  });

  it('advances event time at firstEventRate, out of order only within a group, and sets fields in range', () => {
    const events = [...generateEvents({ numEvents: 20_000, firstEventRate: 1000, seed: 2 })];
    const times = events.map((e) => ('bid' in e ? e.bid : 'auction' in e ? e.auction : e.person).dateTime);
    expect(times.filter((t, i) => t !== BEAM_BASE_TIME + i)).toEqual([]);
    const outOfRange = events.filter((e) => {
      if ('auction' in e) {
        const a = e.auction;
        return a.category < 10 || a.category > 14 || a.reserve < a.initialBid || a.expires <= a.dateTime;
      }
      if ('person' in e) return !(US_STATES as readonly string[]).includes(e.person.state);
      return e.bid.price < 100 || e.bid.price > 100_000_000;
    });
    expect(outOfRange).toEqual([]);
    // Groups of 40 are shuffled: every event stays in its group's 40 ms, and the order does change.
    const disordered = [...generateEvents({ numEvents: 4000, firstEventRate: 1000, outOfOrderGroupSize: 40 })];
    const t = disordered.map((e) => ('bid' in e ? e.bid : 'auction' in e ? e.auction : e.person).dateTime);
    expect(t.filter((time, i) => Math.floor((time - BEAM_BASE_TIME) / 40) !== Math.floor(i / 40))).toEqual([]);
    expect(t.some((time, i) => i > 0 && time < (t[i - 1] as number))).toBe(true);
  });

  it('writes JSON lines that the queries’ source schema accepts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'eddy-nexmark-gen-'));
    try {
      const file = join(dir, 'events.jsonl');
      const counts = await writeEvents(file, { numEvents: 5000, seed: 1 });
      expect(counts).toEqual({ events: 5000, persons: 100, auctions: 300, bids: 4600 });
      const written = readFileSync(file, 'utf8').trimEnd().split('\n');
      expect(written).toEqual(lines({ numEvents: 5000, seed: 1 }));
      for (const line of written) expect(NexmarkEvent.safeParse(JSON.parse(line)).success).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
