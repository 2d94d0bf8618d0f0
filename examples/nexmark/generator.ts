import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { DEFAULT_GENERATOR_OPTIONS, type GeneratorOptions } from './config.js';
import { JavaRandom } from './java-random.js';
import type { Auction, Bid, NexmarkEvent, Person } from './model.js';

/**
 * Beam's Nexmark generator (sdks/java/testing/nexmark/.../sources/generator), ported rule for rule:
 * every event is drawn from a java.util.Random seeded with its event id, so the stream is a pure
 * function of the options, and with seed 0 it is Beam's.
 *
 * Event ids cycle through blocks of 50: one person, three auctions, 46 bids. A bid goes to the hot
 * auction (the first of the last 100 auctions) with probability 1 - 1/hotAuctionRatio, else to one
 * of the last numInFlightAuctions auctions or up to 10 not created yet; sellers and bidders likewise
 * among the last numActivePeople people. Event time advances 1/firstEventRate seconds per event.
 */

export const FIRST_AUCTION_ID = 1000;
export const FIRST_PERSON_ID = 1000;
export const FIRST_CATEGORY_ID = 10;
export const NUM_CATEGORIES = 5;
export const PERSON_PROPORTION = 1;
export const AUCTION_PROPORTION = 3;
export const BID_PROPORTION = 46;
export const PROPORTION_DENOMINATOR = PERSON_PROPORTION + AUCTION_PROPORTION + BID_PROPORTION;
/** How many ids past the last created person or auction a reference may point to. */
export const PERSON_ID_LEAD = 10;
export const AUCTION_ID_LEAD = 10;
/** The hot seller, bidder and auction are the first (the bidder: second) of the last 100 created. */
export const HOT_SELLER_RATIO = 100;
export const HOT_BIDDER_RATIO = 100;
export const HOT_AUCTION_RATIO = 100;

export const US_STATES = ['AZ', 'CA', 'ID', 'OR', 'WA', 'WY'] as const;
const US_CITIES = [
  'Phoenix',
  'Los Angeles',
  'San Francisco',
  'Boise',
  'Portland',
  'Bend',
  'Redmond',
  'Seattle',
  'Kent',
  'Cheyenne',
];
const FIRST_NAMES = ['Peter', 'Paul', 'Luke', 'John', 'Saul', 'Vicky', 'Kate', 'Julie', 'Sarah', 'Deiter', 'Walter'];
const LAST_NAMES = ['Shultz', 'Abrams', 'Spencer', 'White', 'Bartels', 'Walton', 'Smith', 'Jones', 'Noris'];
const MIN_STRING_LENGTH = 3;

/** The last person id (base 0) created at or before `eventId`. */
export function lastBase0PersonId(eventId: number): number {
  const epoch = Math.floor(eventId / PROPORTION_DENOMINATOR);
  let offset = eventId % PROPORTION_DENOMINATOR;
  if (offset >= PERSON_PROPORTION) offset = PERSON_PROPORTION - 1;
  return epoch * PERSON_PROPORTION + offset;
}

/** The last auction id (base 0) created at or before `eventId`; -1 before the first. */
export function lastBase0AuctionId(eventId: number): number {
  let epoch = Math.floor(eventId / PROPORTION_DENOMINATOR);
  let offset = eventId % PROPORTION_DENOMINATOR;
  if (offset < PERSON_PROPORTION) {
    epoch -= 1;
    offset = AUCTION_PROPORTION - 1;
  } else if (offset >= PERSON_PROPORTION + AUCTION_PROPORTION) {
    offset = AUCTION_PROPORTION - 1;
  } else {
    offset -= PERSON_PROPORTION;
  }
  return epoch * AUCTION_PROPORTION + offset;
}

/** What kind of event an event id makes: the 50-event block fixes it, not the random draw. */
export function kindOfEventId(eventId: number): 'person' | 'auction' | 'bid' {
  const rem = eventId % PROPORTION_DENOMINATOR;
  if (rem < PERSON_PROPORTION) return 'person';
  if (rem < PERSON_PROPORTION + AUCTION_PROPORTION) return 'auction';
  return 'bid';
}

/** Beam's RateUnit.PER_SECOND.rateToPeriodUs, in Java long arithmetic. */
function rateToPeriodUs(rate: number): number {
  return Math.floor((1_000_000 + Math.floor(rate / 2)) / rate);
}

/** LongGenerator.nextLong: uniform in [0, n). */
function nextLong(random: JavaRandom, n: number): number {
  if (n < 0x7fffffff) return random.nextInt(n);
  // Beam's own comment: "Very skewed distribution! Bad!" Kept for fidelity; unreachable at sane rates.
  const r = random.nextLong() % BigInt(n);
  return Number(r < 0n ? -r : r);
}

function nextString(random: JavaRandom, maxLength: number): string {
  let len = MIN_STRING_LENGTH + random.nextInt(maxLength - MIN_STRING_LENGTH);
  let s = '';
  while (len-- > 0) s += random.nextInt(13) === 0 ? ' ' : String.fromCharCode(97 + random.nextInt(26));
  return s.trim();
}

function nextExactString(random: JavaRandom, length: number): string {
  let s = '';
  let rnd = 0;
  let n = 0;
  while (length-- > 0) {
    if (n === 0) {
      rnd = random.nextInt();
      n = 6;
    }
    // Java's % keeps the sign of a negative draw, giving characters below 'a': so does JavaScript's.
    s += String.fromCharCode(97 + (rnd % 26));
    rnd = Math.trunc(rnd / 26);
    n -= 1;
  }
  return s;
}

function nextExtra(random: JavaRandom, currentSize: number, desiredAverageSize: number): string {
  if (currentSize > desiredAverageSize) return '';
  const desired = desiredAverageSize - currentSize;
  const delta = Math.round(desired * 0.2);
  const minSize = desired - delta;
  return nextExactString(random, minSize + (delta === 0 ? 0 : random.nextInt(2 * delta)));
}

function nextPrice(random: JavaRandom): number {
  return Math.round(10 ** (random.nextDouble() * 6) * 100);
}

/** splitmix64's finalizer, low 48 bits: scrambles a seed into the event seeds' 48 bits. */
function seedMask(seed: number): bigint {
  if (seed === 0) return 0n;
  let z = BigInt.asUintN(64, BigInt(seed) + 0x9e3779b97f4a7c15n);
  z = BigInt.asUintN(64, (z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n);
  z = BigInt.asUintN(64, (z ^ (z >> 27n)) * 0x94d049bb133111ebn);
  return BigInt.asUintN(48, z ^ (z >> 31n));
}

/** One of Beam's generator timelines: its own event ids, the shared event-number clock. */
class Timeline {
  readonly #options: GeneratorOptions;
  readonly #delayUs: number;
  readonly #mask: bigint;

  constructor(
    options: GeneratorOptions,
    readonly firstEventId: number,
    readonly maxEvents: number,
  ) {
    this.#options = options;
    this.#delayUs = rateToPeriodUs(options.firstEventRate) * options.numEventGenerators;
    this.#mask = seedMask(options.seed);
  }

  timestamp(eventNumber: number): number {
    return this.#options.baseTime + Math.floor((eventNumber * this.#delayUs) / 1000);
  }

  /** Event numbers permuted within groups of outOfOrderGroupSize (GeneratorConfig.nextAdjustedEventNumber). */
  adjusted(eventNumber: number): number {
    const n = this.#options.outOfOrderGroupSize;
    return Math.floor(eventNumber / n) * n + ((eventNumber * 953) % n);
  }

  event(count: number): NexmarkEvent {
    const adjustedNumber = this.adjusted(count);
    const timestamp = this.timestamp(adjustedNumber);
    const eventId = this.firstEventId + adjustedNumber;
    const seed = this.#mask === 0n ? eventId : Number(BigInt(eventId) ^ this.#mask);
    const random = new JavaRandom(seed);
    switch (kindOfEventId(eventId)) {
      case 'person':
        return { person: this.#person(eventId, random, timestamp) };
      case 'auction':
        return { auction: this.#auction(count, eventId, random, timestamp) };
      case 'bid':
        return { bid: this.#bid(eventId, random, timestamp) };
    }
  }

  #person(eventId: number, random: JavaRandom, timestamp: number): Person {
    const id = lastBase0PersonId(eventId) + FIRST_PERSON_ID;
    const name = `${FIRST_NAMES[random.nextInt(FIRST_NAMES.length)]} ${LAST_NAMES[random.nextInt(LAST_NAMES.length)]}`;
    const emailAddress = `${nextString(random, 7)}@${nextString(random, 5)}.com`;
    const card: string[] = [];
    for (let i = 0; i < 4; i += 1) card.push(String(random.nextInt(10000)).padStart(4, '0'));
    const creditCard = card.join(' ');
    const city = US_CITIES[random.nextInt(US_CITIES.length)] as string;
    const state = US_STATES[random.nextInt(US_STATES.length)] as string;
    const size = 8 + name.length + emailAddress.length + creditCard.length + city.length + state.length;
    const extra = nextExtra(random, size, this.#options.avgPersonByteSize);
    return { id, name, emailAddress, creditCard, city, state, dateTime: timestamp, extra };
  }

  #auction(count: number, eventId: number, random: JavaRandom, timestamp: number): Auction {
    const id = lastBase0AuctionId(eventId) + FIRST_AUCTION_ID;
    const seller =
      (random.nextInt(this.#options.hotSellersRatio) > 0
        ? Math.floor(lastBase0PersonId(eventId) / HOT_SELLER_RATIO) * HOT_SELLER_RATIO
        : this.#nextBase0PersonId(eventId, random)) + FIRST_PERSON_ID;
    const category = FIRST_CATEGORY_ID + random.nextInt(NUM_CATEGORIES);
    const initialBid = nextPrice(random);
    const expires = timestamp + this.#nextAuctionLengthMs(count, random, timestamp);
    const itemName = nextString(random, 20);
    const description = nextString(random, 100);
    const reserve = initialBid + nextPrice(random);
    const size = 8 + itemName.length + description.length + 8 + 8 + 8 + 8 + 8;
    const extra = nextExtra(random, size, this.#options.avgAuctionByteSize);
    return {
      id,
      itemName,
      description,
      initialBid,
      reserve,
      dateTime: timestamp,
      expires,
      seller,
      category,
      extra,
    };
  }

  #bid(eventId: number, random: JavaRandom, timestamp: number): Bid {
    const auction =
      (random.nextInt(this.#options.hotAuctionRatio) > 0
        ? Math.floor(lastBase0AuctionId(eventId) / HOT_AUCTION_RATIO) * HOT_AUCTION_RATIO
        : this.#nextBase0AuctionId(eventId, random)) + FIRST_AUCTION_ID;
    // The hot bidder is the second of the batch, so that hot bidders and hot sellers differ.
    const bidder =
      (random.nextInt(this.#options.hotBiddersRatio) > 0
        ? Math.floor(lastBase0PersonId(eventId) / HOT_BIDDER_RATIO) * HOT_BIDDER_RATIO + 1
        : this.#nextBase0PersonId(eventId, random)) + FIRST_PERSON_ID;
    const price = nextPrice(random);
    const extra = nextExtra(random, 8 + 8 + 8 + 8, this.#options.avgBidByteSize);
    return { auction, bidder, price, dateTime: timestamp, extra };
  }

  #nextBase0PersonId(eventId: number, random: JavaRandom): number {
    const numPeople = lastBase0PersonId(eventId) + 1;
    const activePeople = Math.min(numPeople, this.#options.numActivePeople);
    return numPeople - activePeople + nextLong(random, activePeople + PERSON_ID_LEAD);
  }

  #nextBase0AuctionId(eventId: number, random: JavaRandom): number {
    const maxAuction = lastBase0AuctionId(eventId);
    const minAuction = Math.max(maxAuction - this.#options.numInFlightAuctions, 0);
    return minAuction + nextLong(random, maxAuction - minAuction + 1 + AUCTION_ID_LEAD);
  }

  /** Auctions last on average as long as it takes to create numInFlightAuctions more of them. */
  #nextAuctionLengthMs(count: number, random: JavaRandom, timestamp: number): number {
    const currentEventNumber = this.adjusted(count);
    const eventsForAuctions = Math.floor(
      (this.#options.numInFlightAuctions * PROPORTION_DENOMINATOR) / AUCTION_PROPORTION,
    );
    const horizonMs = this.timestamp(currentEventNumber + eventsForAuctions) - timestamp;
    return 1 + nextLong(random, Math.max(horizonMs * 2, 1));
  }
}

function resolve(options: Partial<GeneratorOptions>): GeneratorOptions {
  const resolved = { ...DEFAULT_GENERATOR_OPTIONS, ...options };
  for (const [name, value] of Object.entries(resolved)) {
    if (!Number.isSafeInteger(value))
      throw new RangeError(`nexmark generator: ${name} must be an integer, got ${value}`);
  }
  for (const name of [
    'numEventGenerators',
    'firstEventRate',
    'hotAuctionRatio',
    'hotSellersRatio',
    'hotBiddersRatio',
    'outOfOrderGroupSize',
  ] as const) {
    if (resolved[name] < 1)
      throw new RangeError(`nexmark generator: ${name} must be at least 1, got ${resolved[name]}`);
  }
  if (resolved.numEvents < 0) throw new RangeError(`nexmark generator: numEvents must not be negative`);
  return resolved;
}

/**
 * The events, in the order a reader of Beam's parallel timelines would see them in wallclock time:
 * event number 0 of every timeline, then event number 1, and so on (GeneratorConfig.split).
 */
export function* generateEvents(options: Partial<GeneratorOptions> = {}): Generator<NexmarkEvent> {
  const resolved = resolve(options);
  const n = resolved.numEventGenerators;
  const share = Math.floor(resolved.numEvents / n);
  const timelines: Timeline[] = [];
  for (let i = 0; i < n; i += 1) {
    // The last timeline takes the remainder of the division, as Beam's split does.
    const maxEvents = i === n - 1 ? resolved.numEvents - share * (n - 1) : share;
    timelines.push(new Timeline(resolved, share * i, maxEvents));
  }
  const longest = Math.max(0, ...timelines.map((t) => t.maxEvents));
  for (let count = 0; count < longest; count += 1) {
    for (const timeline of timelines) if (count < timeline.maxEvents) yield timeline.event(count);
  }
}

export interface SampleCounts {
  readonly events: number;
  readonly persons: number;
  readonly auctions: number;
  readonly bids: number;
}

/** Writes the events to a file as JSON lines, one event per line. */
export async function writeEvents(file: string, options: Partial<GeneratorOptions> = {}): Promise<SampleCounts> {
  const out = createWriteStream(file);
  let persons = 0;
  let auctions = 0;
  let bids = 0;
  let chunk = '';
  for (const event of generateEvents(options)) {
    if ('person' in event) persons += 1;
    else if ('auction' in event) auctions += 1;
    else bids += 1;
    chunk += `${JSON.stringify(event)}\n`;
    if (chunk.length > 1 << 16) {
      if (!out.write(chunk)) await once(out, 'drain');
      chunk = '';
    }
  }
  out.end(chunk);
  await once(out, 'finish');
  return { events: persons + auctions + bids, persons, auctions, bids };
}
