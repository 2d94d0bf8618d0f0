import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { lagBehindNewest } from '../../../../local/event-source-mapping/lag.js';

describe('lagBehindNewest', () => {
  it('is 0 only when nothing is pending and the last read found the tip', () => {
    fc.assert(
      fc.property(
        fc.option(fc.integer({ min: 0, max: 1e7 }), { nil: undefined }),
        fc.integer({ min: 0, max: 1e12 }),
        fc.integer({ min: 0, max: 1e6 }),
        fc.integer({ min: 0, max: 500 }),
        fc.boolean(),
        (millisBehindLatest, lastReadArrivalMs, heldMs, pendingRecords, lastReadAtTip) => {
          const lag = lagBehindNewest({
            millisBehindLatest,
            lastReadArrivalMs,
            oldestPendingArrivalMs: pendingRecords > 0 ? lastReadArrivalMs - heldMs : undefined,
            pendingRecords,
            lastReadAtTip,
          });
          const waiting = pendingRecords > 0 || !lastReadAtTip;
          if (waiting) expect(lag).toBeGreaterThanOrEqual(1);
          if (!waiting) expect(lag).toBe(millisBehindLatest ?? 0);
          // Time behind the newest record: from the oldest record not done, so never less than the read's own.
          expect(lag).toBeGreaterThanOrEqual((millisBehindLatest ?? 0) + (pendingRecords > 0 ? heldMs : 0));
        },
      ),
    );
  });

  it('adds the records held in the mapping to what the read is behind', () => {
    expect(
      lagBehindNewest({
        millisBehindLatest: 2_000,
        lastReadArrivalMs: 10_000,
        oldestPendingArrivalMs: 7_000,
        pendingRecords: 100,
        lastReadAtTip: false,
      }),
    ).toBe(5_000);
  });
});
