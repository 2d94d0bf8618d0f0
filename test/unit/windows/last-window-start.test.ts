import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { assignWindows, hopping, lastWindowStart, session, tumbling } from '../../../shared/windows/assigners.js';

describe('lastWindowStart', () => {
  it('is the same for two times only when they belong to the same windows', () => {
    const assigners = fc.oneof(
      fc.integer({ min: 1, max: 50 }).map((size) => tumbling(size)),
      fc
        .tuple(fc.integer({ min: 1, max: 20 }), fc.integer({ min: 1, max: 20 }))
        .map(([slide, extra]) => hopping(slide + extra, slide)),
    );
    fc.assert(
      fc.property(assigners, fc.integer({ min: -500, max: 500 }), fc.integer({ min: -500, max: 500 }), (w, a, b) => {
        const groupA = lastWindowStart(w, a);
        if (groupA === undefined || groupA !== lastWindowStart(w, b)) return;
        expect(assignWindows(w, b)).toEqual(assignWindows(w, a));
      }),
    );
  });

  it('is undefined where the windows depend on the time itself', () => {
    expect(lastWindowStart(session(10), 5)).toBeUndefined();
    // 5 ms windows every 2 ms: 4 is in three windows, 5 in two, with the same last start.
    expect(lastWindowStart(hopping(5, 2), 4)).toBeUndefined();
    expect(lastWindowStart(hopping(6, 2), 5)).toBe(4);
    expect(lastWindowStart(tumbling(10), -3)).toBe(-10);
  });
});
