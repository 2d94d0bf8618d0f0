import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { NexmarkEvent } from '../../../examples/nexmark/model.js';
import { compilePlainCheck } from '../../../shared/operators/plain-schema.js';

const Item = z.object({
  id: z.number().int(),
  name: z.string(),
  price: z.number(),
  note: z.string().optional(),
  tag: z.enum(['a', 'b']).nullable(),
  kind: z.literal('item'),
  flags: z.array(z.boolean()),
});

const SCHEMAS = {
  item: Item,
  strict: z.strictObject({ id: z.int(), nested: z.strictObject({ x: z.string() }).optional() }),
  loose: z.looseObject({ id: z.number() }),
  union: z.union([z.strictObject({ a: z.string() }), z.object({ b: z.number() }), z.strictObject({ c: z.null() })]),
  nexmark: NexmarkEvent,
};

/** Values near the schemas': their keys, in and out of order, with fitting and unfitting values. */
const fieldValue = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.string({ maxLength: 3 }),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom('a', 'b', 'item', 2 ** 53),
  fc.array(fc.boolean(), { maxLength: 3 }),
  fc.array(fc.oneof(fc.boolean(), fc.integer()), { maxLength: 3 }),
);
const KEYS = [
  'id',
  'name',
  'price',
  'note',
  'tag',
  'kind',
  'flags',
  'nested',
  'x',
  'a',
  'b',
  'c',
  'other',
  '__proto__',
];
const nearValue: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fieldValue,
    fc
      .array(fc.tuple(fc.constantFrom(...KEYS), fc.oneof(fieldValue, tie('value'))), { maxLength: 8 })
      .map((entries) => JSON.parse(JSON.stringify(Object.fromEntries(entries))) as unknown),
  ),
})).value;

/** Values that fit each schema, as a producer writing JSON would send them. */
const fitting: Record<keyof typeof SCHEMAS, fc.Arbitrary<unknown>> = {
  item: fc.record(
    {
      id: fc.maxSafeInteger(),
      name: fc.string(),
      price: fc.double({ noNaN: true, noDefaultInfinity: true }),
      note: fc.string(),
      tag: fc.constantFrom('a', 'b', null),
      kind: fc.constant('item'),
      flags: fc.array(fc.boolean()),
    },
    { requiredKeys: ['id', 'name', 'price', 'tag', 'kind', 'flags'] },
  ),
  strict: fc.record({ id: fc.maxSafeInteger(), nested: fc.record({ x: fc.string() }) }, { requiredKeys: ['id'] }),
  loose: fc.record({ id: fc.integer() }),
  union: fc.oneof(fc.record({ a: fc.string() }), fc.record({ b: fc.integer() }), fc.record({ c: fc.constant(null) })),
  nexmark: fc.oneof(
    fc.record({
      bid: fc.record({
        auction: fc.integer(),
        bidder: fc.integer(),
        price: fc.integer(),
        dateTime: fc.integer(),
        extra: fc.string(),
      }),
    }),
  ),
};

const json = (value: unknown) => JSON.parse(JSON.stringify(value)) as unknown;

describe('compilePlainCheck', () => {
  it.each(Object.keys(SCHEMAS) as (keyof typeof SCHEMAS)[])(
    '%s: a value it passes is what zod returns, the same JSON key for key and in order',
    (name) => {
      const schema = SCHEMAS[name];
      const check = compilePlainCheck(schema);
      expect(check).toBeDefined();
      let passed = 0;
      fc.assert(
        fc.property(fc.oneof(nearValue, fitting[name].map(json)), (value) => {
          if (check?.(value) !== true) return;
          passed += 1;
          const parsed = schema.safeParse(value);
          expect(parsed.success).toBe(true);
          expect(JSON.stringify(parsed.data)).toBe(JSON.stringify(value));
        }),
        { numRuns: 2000 },
      );
      // The fast path is taken: the values that fit pass.
      expect(passed).toBeGreaterThan(100);
    },
  );

  it('leaves to zod a value with a key zod strips, keys out of order, or an invalid field', () => {
    const check = compilePlainCheck(Item);
    const item = { id: 1, name: 'n', price: 1.5, tag: null, kind: 'item', flags: [] };
    expect(check?.(item)).toBe(true);
    expect(check?.({ ...item, other: 1 })).toBe(false);
    expect(check?.({ name: 'n', id: 1, price: 1.5, tag: null, kind: 'item', flags: [] })).toBe(false);
    expect(check?.({ ...item, id: 1.5 })).toBe(false);
    expect(check?.({ ...item, id: 2 ** 53 })).toBe(false);
  });

  it('does not compile schemas with refinements, defaults, transforms or checks it does not know', () => {
    expect(compilePlainCheck(z.object({ a: z.string().min(1) }))).toBeUndefined();
    expect(compilePlainCheck(z.object({ a: z.number().positive() }))).toBeUndefined();
    expect(compilePlainCheck(z.object({ a: z.string().default('x') }))).toBeUndefined();
    expect(compilePlainCheck(z.object({ a: z.string() }).refine(() => true))).toBeUndefined();
    expect(compilePlainCheck(z.object({ a: z.string().transform((s) => s.length) }))).toBeUndefined();
    expect(compilePlainCheck(z.object({ a: z.email() }))).toBeUndefined();
    expect(compilePlainCheck(z.object({ a: z.date() }))).toBeUndefined();
  });
});
