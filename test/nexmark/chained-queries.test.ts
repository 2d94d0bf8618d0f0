import { describe, expect, it } from 'vitest';
import { MAX_AUCTION_LIFE_SEC } from '../../examples/nexmark/config.js';
import { generateEvents } from '../../examples/nexmark/generator.js';
import { describeQueries, TEST_INPUT } from './queries.support.js';
import type { Event } from './reference.js';

// Stateful stages after stateful stages: a join, then a process function keyed by auction, then a
// window keyed by category (q4) or a process function keyed by seller (q6).
describeQueries(['q4', 'q6']);

describe('the winning-bid join bound on the test input', () => {
  it('is longer than every auction, so the join sees every bid of an open auction', () => {
    const auctions = [...generateEvents(TEST_INPUT)].flatMap((e) =>
      'auction' in e ? [(e as Event & { auction: { dateTime: number; expires: number } }).auction] : [],
    );
    const longest = Math.max(...auctions.map((a) => a.expires - a.dateTime));
    // 16.7 s at 200 events/s: twice the time 100 auctions take to be created.
    expect(longest).toBeGreaterThan(10_000);
    expect(longest).toBeLessThan(MAX_AUCTION_LIFE_SEC * 1000);
  });
});
