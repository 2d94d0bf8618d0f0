import { describe, expect, it } from 'vitest';
import { generateEvents } from '../../examples/nexmark/generator.js';
import { describeQueries, TEST_INPUT } from './queries.support.js';
import { compareRows, type Event, q3 } from './reference.js';

// A join (q3 interval, q8 window) after the source stage, or two windowed stages in a row (q5, q7: by partition, then by window).
describeQueries(['q3', 'q5', 'q7', 'q8']);

describe("nexmark q3's bound on the test input", () => {
  it('drops no row that a join keeping every person forever (Beam without its expiry) would emit', () => {
    const events = [...generateEvents(TEST_INPUT)] as Event[];
    const bounded = q3(events);
    expect(bounded.length).toBeGreaterThan(50);
    expect(compareRows(bounded, q3(events, Number.POSITIVE_INFINITY)).missing).toEqual([]);
  });
});
