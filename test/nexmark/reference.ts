import { readFileSync } from 'node:fs';

/**
 * The Nexmark queries of examples/nexmark computed over the whole input by plain loops, apart from
 * Eddy and from the pipelines' code: what the tests and bench/nexmark.ts compare `eddy run`'s output
 * with. Semantics as docs/nexmark.md states them (Beam's, with the deviations it lists).
 */

export interface Person {
  id: number;
  name: string;
  emailAddress: string;
  creditCard: string;
  city: string;
  state: string;
  dateTime: number;
  extra: string;
}
export interface Auction {
  id: number;
  itemName: string;
  description: string;
  initialBid: number;
  reserve: number;
  dateTime: number;
  expires: number;
  seller: number;
  category: number;
  extra: string;
}
export interface Bid {
  auction: number;
  bidder: number;
  price: number;
  dateTime: number;
  extra: string;
}
export type Event = { person: Person } | { auction: Auction } | { bid: Bid };

/** Beam's NexmarkConfiguration defaults the queries use. */
export const AUCTION_SKIP = 123;
export const WINDOW_SIZE_MS = 10_000;
export const WINDOW_PERIOD_MS = 5_000;
export const MAX_AUCTIONS_WAITING_MS = 600_000;
/** Query 6 averages a seller's last this many winning prices. */
export const SELLER_BIDS_AVERAGED = 10;

export function readJsonLines<T>(file: string): T[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as T);
}

interface Split {
  persons: Person[];
  auctions: Auction[];
  bids: Bid[];
}

function split(events: readonly Event[]): Split {
  const out: Split = { persons: [], auctions: [], bids: [] };
  for (const e of events) {
    if ('person' in e) out.persons.push(e.person);
    else if ('auction' in e) out.auctions.push(e.auction);
    else out.bids.push(e.bid);
  }
  return out;
}

/** Floor division that is right for negative times too. */
const windowOf = (t: number, size: number): number => Math.floor(t / size) * size;

export function q0(events: readonly Event[]): Event[] {
  return [...events];
}

/** Dollars to euros as Beam's Query1: `(price * 89) / 100` in Java long arithmetic. */
export function q1(events: readonly Event[]): Bid[] {
  return split(events).bids.map((b) => ({ ...b, price: Math.floor((b.price * 89) / 100) }));
}

export function q2(events: readonly Event[]): { auction: number; price: number }[] {
  const rows = [];
  for (const b of split(events).bids)
    if (b.auction % AUCTION_SKIP === 0) rows.push({ auction: b.auction, price: b.price });
  return rows;
}

export interface NameCityStateId {
  name: string;
  city: string;
  state: string;
  id: number;
}

/**
 * Query 3 as Eddy runs it: a person of OR, ID or CA with every auction of category 10 it sells whose
 * time is within 600 s of the person's, either way. `withinMs: Infinity` is Beam's join with state
 * that never expires (every pair), for checking that the bound changes nothing on an input.
 */
export function q3(events: readonly Event[], withinMs = MAX_AUCTIONS_WAITING_MS): NameCityStateId[] {
  const { persons, auctions } = split(events);
  const rows: NameCityStateId[] = [];
  for (const p of persons) {
    if (p.state !== 'OR' && p.state !== 'ID' && p.state !== 'CA') continue;
    for (const a of auctions) {
      if (a.category !== 10 || a.seller !== p.id) continue;
      if (Math.abs(a.dateTime - p.dateTime) > withinMs) continue;
      rows.push({ name: p.name, city: p.city, state: p.state, id: a.id });
    }
  }
  return rows;
}

export interface AuctionCount {
  auction: number;
  num: number;
  windowStart: number;
  windowEnd: number;
}

/**
 * Query 5: for every 10 s window starting at a multiple of 5 s that holds a bid, the auctions with the
 * most bids in it, and that count.
 */
export function q5(events: readonly Event[]): AuctionCount[] {
  const { bids } = split(events);
  if (bids.length === 0) return [];
  const times = bids.map((b) => b.dateTime);
  const first = windowOf(Math.min(...times), WINDOW_PERIOD_MS) - WINDOW_SIZE_MS;
  const last = Math.max(...times);
  const rows: AuctionCount[] = [];
  for (let start = first; start <= last; start += WINDOW_PERIOD_MS) {
    const end = start + WINDOW_SIZE_MS;
    const counts = new Map<number, number>();
    for (const b of bids)
      if (b.dateTime >= start && b.dateTime < end) counts.set(b.auction, (counts.get(b.auction) ?? 0) + 1);
    if (counts.size === 0) continue;
    const most = Math.max(...counts.values());
    for (const [auction, num] of counts)
      if (num === most) rows.push({ auction, num, windowStart: start, windowEnd: end });
  }
  return rows;
}

/** Query 7: in every 10 s tumbling window, the bids at the window's highest price. */
export function q7(events: readonly Event[]): Bid[] {
  const highest = new Map<number, number>();
  const { bids } = split(events);
  for (const b of bids) {
    const w = windowOf(b.dateTime, WINDOW_SIZE_MS);
    highest.set(w, Math.max(highest.get(w) ?? Number.NEGATIVE_INFINITY, b.price));
  }
  return bids.filter((b) => b.price === highest.get(windowOf(b.dateTime, WINDOW_SIZE_MS)));
}

export interface WinningBid {
  auction: Auction;
  bid: Bid;
}

/**
 * Beam's WinningBids over the whole input: per auction, among its bids placed while it was open
 * (`dateTime <= bid < expires`) at or above its reserve, the highest price, then the earliest, then
 * the lowest bidder. Auctions without such a bid have no winner.
 */
export function winningBids(events: readonly Event[]): WinningBid[] {
  const { auctions, bids } = split(events);
  const byAuction = new Map<number, Bid[]>();
  for (const b of bids) byAuction.set(b.auction, [...(byAuction.get(b.auction) ?? []), b]);
  const winners: WinningBid[] = [];
  for (const a of auctions) {
    let best: Bid | undefined;
    for (const b of byAuction.get(a.id) ?? []) {
      if (b.dateTime < a.dateTime || b.dateTime >= a.expires || b.price < a.reserve) continue;
      const better =
        best === undefined ||
        b.price > best.price ||
        (b.price === best.price &&
          (b.dateTime < best.dateTime || (b.dateTime === best.dateTime && b.bidder < best.bidder)));
      if (better) best = b;
    }
    if (best !== undefined) winners.push({ auction: a, bid: best });
  }
  return winners;
}

export interface CategoryPrice {
  category: number;
  price: number;
  windowStart: number;
  windowEnd: number;
}

/**
 * Query 4: per category, the mean winning price over each 10 s window starting at a multiple of 5 s,
 * a winning bid counted at its auction's last millisecond (`expires - 1`), rounded half up.
 */
export function q4(events: readonly Event[]): CategoryPrice[] {
  const sums = new Map<string, { category: number; windowStart: number; sum: number; count: number }>();
  for (const { auction, bid } of winningBids(events)) {
    const t = auction.expires - 1;
    for (let start = windowOf(t, WINDOW_PERIOD_MS); start > t - WINDOW_SIZE_MS; start -= WINDOW_PERIOD_MS) {
      const id = `${auction.category}|${start}`;
      const acc = sums.get(id) ?? { category: auction.category, windowStart: start, sum: 0, count: 0 };
      acc.sum += bid.price;
      acc.count += 1;
      sums.set(id, acc);
    }
  }
  return [...sums.values()].map((a) => ({
    category: a.category,
    price: Math.round(a.sum / a.count),
    windowStart: a.windowStart,
    windowEnd: a.windowStart + WINDOW_SIZE_MS,
  }));
}

export interface SellerPrice {
  seller: number;
  price: number;
  auction: number;
}

/**
 * Query 6: per seller, its auctions taken in the order they close (`expires`, then auction id); at
 * each, the mean of the seller's last 10 winning prices so far, "last" by bid time then price, as
 * Beam's MovingMeanSellingPrice sorts them; one row per auction with a winner.
 */
export function q6(events: readonly Event[]): SellerPrice[] {
  const bySeller = new Map<number, WinningBid[]>();
  for (const w of winningBids(events)) bySeller.set(w.auction.seller, [...(bySeller.get(w.auction.seller) ?? []), w]);
  const rows: SellerPrice[] = [];
  for (const [seller, won] of bySeller) {
    won.sort((a, b) => a.auction.expires - b.auction.expires || a.auction.id - b.auction.id);
    const last: Bid[] = [];
    for (const { auction, bid } of won) {
      last.push(bid);
      last.sort((a, b) => a.dateTime - b.dateTime || a.price - b.price);
      if (last.length > SELLER_BIDS_AVERAGED) last.shift();
      const mean = last.reduce((sum, b) => sum + b.price, 0) / last.length;
      rows.push({ seller, price: Math.round(mean), auction: auction.id });
    }
  }
  return rows;
}

export interface IdNameReserve {
  id: number;
  name: string;
  reserve: number;
  auction: number;
}

/** Query 8: a person and each auction it sells in the same 10 s tumbling window. */
export function q8(events: readonly Event[]): IdNameReserve[] {
  const { persons, auctions } = split(events);
  const rows: IdNameReserve[] = [];
  for (const p of persons) {
    for (const a of auctions) {
      if (a.seller !== p.id) continue;
      if (windowOf(a.dateTime, WINDOW_SIZE_MS) !== windowOf(p.dateTime, WINDOW_SIZE_MS)) continue;
      rows.push({ id: p.id, name: p.name, reserve: a.reserve, auction: a.id });
    }
  }
  return rows;
}

/** JSON with keys sorted at every level: equal rows give equal strings whatever their key order. */
export function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export interface RowComparison {
  /** Rows the reference has, counting equal rows. */
  readonly expected: number;
  /** Rows the run emitted, counting repeats. */
  readonly emitted: number;
  /**
   * Copies beyond the reference's count of a row the reference has: sinks deliver at least once, so a
   * retried batch may write a row again. Allowed, and counted.
   */
  readonly repeats: number;
  /** Rows (with how many copies) the run is short of. */
  readonly missing: string[];
  /** Rows the reference does not have at all. */
  readonly extra: string[];
  /** Identities delivered with two different contents: a result changed between deliveries. */
  readonly conflicts: string[];
}

/**
 * Compares a run's output with the reference as multisets of rows: every row of the reference at
 * least as many times as there (at least once), and no row the reference does not have. Some rows are
 * equal in the reference itself (two bids on an auction at one price, in query 2), so counts matter.
 * `identity`, for rows that carry one, also catches a result delivered twice with different contents.
 */
export function compareRows<T>(
  actual: readonly T[],
  expected: readonly T[],
  identity?: (row: T) => string,
): RowComparison {
  const count = (rows: readonly T[]) => {
    const counts = new Map<string, number>();
    for (const row of rows) {
      const key = canonical(row);
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    return counts;
  };
  const want = count(expected);
  const got = count(actual);
  const missing: string[] = [];
  const extra: string[] = [];
  let repeats = 0;
  for (const [row, n] of want) {
    const m = got.get(row) ?? 0;
    if (m < n) missing.push(n - m > 1 ? `${n - m}x ${row}` : row);
    else repeats += m - n;
  }
  for (const [row, m] of got) if (!want.has(row)) extra.push(m > 1 ? `${m}x ${row}` : row);
  const conflicts: string[] = [];
  if (identity !== undefined) {
    const contents = new Map<string, Set<string>>();
    for (const row of actual) {
      const id = identity(row);
      const set = contents.get(id) ?? new Set<string>();
      set.add(canonical(row));
      contents.set(id, set);
    }
    for (const [id, set] of contents) if (set.size > 1) conflicts.push(`${id}: ${[...set].join(' and ')}`);
  }
  return { expected: expected.length, emitted: actual.length, repeats, missing, extra, conflicts };
}

/** Whether a comparison shows the run equal to the reference (repeats allowed). */
export function isExact(c: RowComparison): boolean {
  return c.conflicts.length === 0 && c.missing.length === 0 && c.extra.length === 0;
}

export const QUERIES = ['q0', 'q1', 'q2', 'q3', 'q4', 'q5', 'q6', 'q7', 'q8'] as const;
export type QueryName = (typeof QUERIES)[number];

/** The reference of one query over `events`, compared with a run's output rows. */
export function checkQuery(query: QueryName, events: readonly Event[], output: readonly unknown[]): RowComparison {
  switch (query) {
    case 'q0':
      return compareRows(output as Event[], q0(events));
    case 'q1':
      return compareRows(output as Bid[], q1(events));
    case 'q2':
      return compareRows(output as ReturnType<typeof q2>, q2(events));
    case 'q3':
      return compareRows(output as NameCityStateId[], q3(events), (r) => String(r.id));
    case 'q4':
      return compareRows(output as CategoryPrice[], q4(events), (r) => `${r.category}|${r.windowStart}`);
    case 'q5':
      return compareRows(output as AuctionCount[], q5(events), (r) => `${r.windowStart}|${r.auction}`);
    case 'q6':
      return compareRows(output as SellerPrice[], q6(events), (r) => String(r.auction));
    case 'q7':
      return compareRows(output as Bid[], q7(events));
    case 'q8':
      return compareRows(output as IdNameReserve[], q8(events), (r) => `${r.id}|${r.auction}`);
  }
}
