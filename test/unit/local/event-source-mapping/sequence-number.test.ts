import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareSequenceNumbers, isAfter } from '../../../../local/event-source-mapping/index.js';

describe('compareSequenceNumbers', () => {
  it('orders numbers that differ beyond Number precision', () => {
    // Prepare
    const low = '49590338271490256608559692538361571095921575989136588898';
    const high = '49590338271490256608559692538361571095921575989136588899';

    // Act / Assess
    expect(Number(low)).toBe(Number(high));
    expect(compareSequenceNumbers(low, high)).toBe(-1);
    expect(compareSequenceNumbers(high, low)).toBe(1);
    expect(compareSequenceNumbers(low, low)).toBe(0);
    expect(isAfter(high, low)).toBe(true);
  });

  it('orders by numeric value, not by string', () => {
    expect(compareSequenceNumbers('9', '10')).toBe(-1);
  });

  it('agrees with BigInt order for any 128-bit numbers', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 2n ** 128n - 1n }),
        fc.bigInt({ min: 0n, max: 2n ** 128n - 1n }),
        (a, b) => {
          expect(compareSequenceNumbers(a.toString(), b.toString())).toBe(a < b ? -1 : a > b ? 1 : 0);
        },
      ),
    );
  });
});
