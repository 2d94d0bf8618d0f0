import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PipelineDefinitionError } from '../../../shared/dag/errors.js';
import {
  assignWindows,
  hopping,
  hoppingProcessingTime,
  session,
  sessionProcessingTime,
  tumbling,
  tumblingProcessingTime,
  validateAssigner,
} from '../../../shared/windows/assigners.js';
import type { WindowAssigner } from '../../../shared/windows/types.js';

describe('assigner factories', () => {
  it('parse durations and record the time domain', () => {
    // Act / Assess
    expect(tumbling('1m')).toEqual({ kind: 'tumbling', size: 60_000, timeDomain: 'event' });
    expect(hopping('10s', 2000)).toEqual({ kind: 'hopping', size: 10_000, slide: 2000, timeDomain: 'event' });
    expect(session('30m')).toEqual({ kind: 'session', gap: 1_800_000, timeDomain: 'event' });
    expect(tumblingProcessingTime('1m')).toEqual({ kind: 'tumbling', size: 60_000, timeDomain: 'processing' });
    expect(hoppingProcessingTime('1m', '30s')).toEqual({
      kind: 'hopping',
      size: 60_000,
      slide: 30_000,
      timeDomain: 'processing',
    });
    expect(sessionProcessingTime(500)).toEqual({ kind: 'session', gap: 500, timeDomain: 'processing' });
  });

  it.each([
    [() => tumbling(0), 'tumbling window size 0 must be a positive whole number of milliseconds'],
    [() => tumbling('0s'), "tumbling window size '0s' must be a positive whole number of milliseconds"],
    [() => tumbling(1.5), 'tumbling window size 1.5 must be a positive whole number of milliseconds'],
    [() => tumbling('5x' as '5s'), "tumbling window size '5x' is not a duration"],
    [() => session(-1), 'session window gap -1 is not a duration'],
    [() => hopping('1m', 0), 'hopping window slide 0 must be a positive'],
    [() => hopping('1m', '2m'), "hopping window slide '2m' must not exceed its size '1m'"],
    [() => hopping('1d', '1ms'), "hopping window size '1d' and slide '1ms' put each record in 86400000 windows"],
    [() => tumbling(2 ** 51), 'at most 2^50'],
  ])('refuse bad lengths eagerly, naming the value (%#)', (make, message) => {
    // Act / Assess
    expect(make).toThrow(PipelineDefinitionError);
    expect(make).toThrow(message);
  });

  it('validateAssigner applies the same rules to assigners built by hand', () => {
    // Act / Assess
    expect(validateAssigner(tumbling(10))).toEqual(tumbling(10));
    expect(() => validateAssigner({ kind: 'hopping', size: 5, slide: 10, timeDomain: 'event' })).toThrow(
      'hopping window slide 10 must not exceed its size 5',
    );
    expect(() =>
      validateAssigner({ kind: 'tumbling', size: 5, timeDomain: 'wall' } as unknown as WindowAssigner),
    ).toThrow("window timeDomain 'wall' must be 'event' or 'processing'");
    expect(() => validateAssigner({ kind: 'global', timeDomain: 'event' } as unknown as WindowAssigner)).toThrow(
      "window kind 'global' must be",
    );
  });
});

describe('assignWindows', () => {
  it('puts a tumbling record in the one window containing it, aligned to the epoch', () => {
    // Prepare
    const minute = tumbling('1m');

    // Act / Assess: boundaries exactly at start and end, and negative times.
    expect(assignWindows(minute, 0)).toEqual([{ start: 0, end: 60_000 }]);
    expect(assignWindows(minute, 59_999)).toEqual([{ start: 0, end: 60_000 }]);
    expect(assignWindows(minute, 60_000)).toEqual([{ start: 60_000, end: 120_000 }]);
    expect(assignWindows(minute, -1)).toEqual([{ start: -60_000, end: 0 }]);
    expect(assignWindows(minute, -60_000)).toEqual([{ start: -60_000, end: 0 }]);
    expect(assignWindows(minute, -60_001)).toEqual([{ start: -120_000, end: -60_000 }]);
  });

  it('puts a hopping record in every window containing it, in start order', () => {
    // Prepare
    const assigner = hopping(10, 3);

    // Act / Assess: windows start at multiples of 3 and last 10; size is not a multiple of slide.
    expect(assignWindows(assigner, 0)).toEqual([
      { start: -9, end: 1 },
      { start: -6, end: 4 },
      { start: -3, end: 7 },
      { start: 0, end: 10 },
    ]);
    expect(assignWindows(assigner, 1)).toEqual([
      { start: -6, end: 4 },
      { start: -3, end: 7 },
      { start: 0, end: 10 },
    ]);
    expect(assignWindows(assigner, -1)).toEqual([
      { start: -9, end: 1 },
      { start: -6, end: 4 },
      { start: -3, end: 7 },
    ]);
  });

  it('gives a session record the window [t, t + gap)', () => {
    // Act / Assess
    expect(assignWindows(session(5), -3)).toEqual([{ start: -3, end: 2 }]);
  });

  it('returns exactly the epoch-aligned windows that contain t (property, against brute force)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: -10_000, max: 10_000 }),
        (a, b, t) => {
          // Prepare
          const size = Math.max(a, b);
          const slide = Math.min(a, b);
          const expected: { start: number; end: number }[] = [];
          for (let k = Math.floor((t - size) / slide) - 1; k * slide <= t; k += 1) {
            const start = k * slide;
            if (start <= t && t < start + size) expected.push({ start, end: start + size });
          }

          // Act
          const windows = assignWindows(hopping(size, slide), t);

          // Assess
          expect(windows).toEqual(expected);
          if (size === slide) expect(assignWindows(tumbling(size), t)).toEqual(expected);
        },
      ),
      { numRuns: 500 },
    );
  });
});
