import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jsonBytesAbove } from '../../../shared/runtime/json-bytes.js';

const exactlyAbove = (value: unknown, limit: number) => Buffer.byteLength(JSON.stringify(value) as string) > limit;

describe('jsonBytesAbove', () => {
  it('answers as the JSON text does, at every limit around its length', () => {
    // Strings of every kind of unit (control characters, quotes, lone surrogates, astral pairs) and
    // numbers at their longest, where a bound is tightest.
    const odd = fc.oneof(
      fc.string({ unit: 'binary' }),
      fc.string({ unit: fc.constantFrom('\u0000', '"', '\\', '\ud800', '\udc00', '\u2028', 'é') }),
      fc.double({ noNaN: false }),
      fc.constantFrom(-0.0000012345678901234567, -1.7976931348623157e308, 1e21, -2.2250738585072014e-308),
    );
    const json = fc.jsonValue({ maxDepth: 3 });
    const values = fc.oneof(
      json,
      fc.array(fc.oneof(odd, fc.constant(undefined)), { maxLength: 12 }),
      fc.dictionary(fc.string({ unit: 'binary' }), fc.oneof(odd, fc.constant(undefined), json), { maxKeys: 8 }),
    );
    fc.assert(
      fc.property(values, fc.integer({ min: -3, max: 3 }), (value, offset) => {
        const length = Buffer.byteLength(JSON.stringify(value));
        for (const limit of [0, length - 1 + offset, length + offset, 6 * length + 64]) {
          expect(jsonBytesAbove(value, limit)).toBe(exactlyAbove(value, limit));
        }
      }),
      { numRuns: 200 },
    );
  });

  it('leaves what is not plain data to JSON.stringify itself', () => {
    const big = 'x'.repeat(100);
    const withToJson = { toJSON: () => big };
    expect(jsonBytesAbove(withToJson, 50)).toBe(true);
    expect(jsonBytesAbove({ at: new Date(0) }, 10)).toBe(true);
    expect(jsonBytesAbove(new Map([[big, big]]), 10)).toBe(false);
    expect(() => jsonBytesAbove(undefined, 10)).toThrow(TypeError);
    expect(() => jsonBytesAbove({ n: 1n }, 1000)).toThrow(TypeError);
  });
});
