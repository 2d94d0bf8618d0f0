import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PipelineDefinitionError } from '../../../shared/dag/errors.js';
import { parseDuration } from '../../../shared/windows/duration.js';
import type { Duration } from '../../../shared/windows/types.js';

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['5s', 5000],
    ['1m', 60_000],
    ['1h', 3_600_000],
    ['1d', 86_400_000],
    ['1.5s', 1500],
    ['1.1s', 1100],
    ['0s', 0],
    [0, 0],
    [250, 250],
    [0.5, 0.5],
  ] as const)('reads %s as %d ms', (text, ms) => {
    // Act
    const parsed = parseDuration(text as Duration, 'x');

    // Assess
    expect(parsed).toBe(ms);
  });

  it.each(['5x', '-5s', '5', '', ' 5s', '5 s', '5S', '1e3ms', '.5s', -1, Number.NaN, Number.POSITIVE_INFINITY])(
    'refuses %s, naming the label and the value',
    (value) => {
      // Act
      const parse = () => parseDuration(value as Duration, "window 'window-1': allowedLateness");

      // Assess
      expect(parse).toThrow(PipelineDefinitionError);
      const shown = typeof value === 'string' ? `'${value}'` : String(value);
      expect(parse).toThrow(
        `window 'window-1': allowedLateness ${shown} is not a duration: use a number of milliseconds or '500ms', '5s', '1m', '1h', '1d'`,
      );
    },
  );

  it('refuses values of other types', () => {
    // Act / Assess
    expect(() => parseDuration(null as unknown as Duration, 'gap')).toThrow('gap null is not a duration');
    expect(() => parseDuration({} as unknown as Duration, 'gap')).toThrow('gap {} is not a duration');
  });

  it('reads any whole number of any unit exactly', () => {
    const units = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
    fc.assert(
      fc.property(
        fc.nat({ max: 1_000_000 }),
        fc.constantFrom(...(Object.keys(units) as (keyof typeof units)[])),
        (n, unit) => {
          // Act
          const parsed = parseDuration(`${n}${unit}`, 'x');

          // Assess
          expect(parsed).toBe(n * units[unit]);
        },
      ),
      { numRuns: 200 },
    );
  });
});
