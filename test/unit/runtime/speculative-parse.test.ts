import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { pipeline } from '../../../shared/index.js';
import type { InputLimits } from '../../../shared/operators/input-limits.js';
import { compilePlainCheck } from '../../../shared/operators/plain-schema.js';
import { RecordProcessingError } from '../../../shared/operators/record-errors.js';
import type { Decoder } from '../../../shared/runtime/decode.js';
import { compileStage } from '../../../shared/runtime/stage-program.js';

/** Depth 3: the plain check passes nothing deeper. */
const Order = z.object({
  id: z.string(),
  qty: z.number().int(),
  customer: z.object({ name: z.string(), tags: z.array(z.string()) }),
  note: z.string().optional(),
});
const limits: InputLimits = { maxRecordBytes: 300, maxDepth: 8 };

function decoderOf(schema: z.ZodType): Decoder {
  const p = pipeline('orders').source('orders', { schema, limits }).sink('out');
  const [stage] = p.plan().stages;
  if (stage === undefined) throw new Error('no stage');
  return compileStage(p.graph, stage).decode;
}

/** What a decoder makes of a payload: the value, or the dead letter's detail. */
function outcome(decode: Decoder, data: Uint8Array): unknown {
  const position = { stream: 'orders', shardId: 'shardId-0', sequenceNumber: '1', partitionKey: 'k', arrivalTime: 0 };
  try {
    const [item] = decode({ position, data });
    return item?.kind === 'data' ? { value: item.element.value } : item;
  } catch (error) {
    if (!(error instanceof RecordProcessingError)) throw error;
    return { error: error.detail };
  }
}

const nested = (depth: number) => `${'['.repeat(depth)}1${']'.repeat(depth)}`;
const order = fc.record(
  {
    id: fc.string({ maxLength: 12 }),
    qty: fc.oneof(fc.integer(), fc.double(), fc.string({ maxLength: 3 })),
    customer: fc.record({ name: fc.string({ maxLength: 12 }), tags: fc.array(fc.string({ maxLength: 6 })) }),
    note: fc.string({ maxLength: 30 }),
  },
  { requiredKeys: ['id', 'qty', 'customer'] },
);
/** Records that pass, fail the schema, carry deep or unknown keys, keys out of order, cut or not UTF-8. */
const payload = fc
  .tuple(
    order,
    fc.constantFrom('as-is', 'deep-extra', 'shallow-extra', 'reversed', 'deep-field'),
    fc.integer({ min: 0, max: 14 }),
    fc.constantFrom('whole', 'cut', 'not-utf8'),
    fc.nat(),
  )
  .map(([value, shape, depth, bytes, at]) => {
    const text =
      shape === 'as-is'
        ? JSON.stringify(value)
        : shape === 'deep-extra'
          ? `${JSON.stringify(value).slice(0, -1)},"deep":${nested(depth)}}`
          : shape === 'shallow-extra'
            ? JSON.stringify({ ...value, extra: 1 })
            : shape === 'reversed'
              ? JSON.stringify(Object.fromEntries(Object.entries(value).reverse()))
              : JSON.stringify({ ...value, customer: { ...value.customer, tags: JSON.parse(nested(depth)) } });
    const data = Buffer.from(text);
    if (bytes === 'cut') return data.subarray(0, at % (data.length + 1));
    if (bytes === 'not-utf8') return Buffer.concat([data.subarray(0, at % (data.length + 1)), Buffer.from([0xff])]);
    return data;
  });

describe('a source record parsed before its depth is scanned', () => {
  it('has the plain check bound the depth of what it passes', () => {
    expect(compilePlainCheck(Order)?.maxDepth).toBe(3);
    expect(compilePlainCheck(z.string())?.maxDepth).toBe(0);
    expect(compilePlainCheck(z.array(z.union([z.number(), z.array(z.object({}))])))?.maxDepth).toBe(3);
  });

  it('ends every record as the checked path does (size, depth, UTF-8, JSON, schema, in that order)', () => {
    const speculative = decoderOf(Order);
    // The same schema with a refinement has no plain check: limits, then parse, then zod, as before.
    const checked = decoderOf(Order.refine(() => true));
    let passed = 0;
    fc.assert(
      fc.property(payload, (data) => {
        const expected = outcome(checked, data);
        expect(outcome(speculative, data)).toEqual(expected);
        if ((expected as { value?: unknown }).value !== undefined) passed += 1;
      }),
      { numRuns: 2000 },
    );
    // The runs must reach the fast path, not only its failures.
    expect(passed).toBeGreaterThan(50);
  });
});
