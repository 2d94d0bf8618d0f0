import fc from 'fast-check';
import * as z from 'zod';
import type { InputRecord } from '../../shared/runtime/records.js';

/** An order with items: the source schema of the stateless property tests. */
export const Order = z.object({ id: z.string(), items: z.array(z.object({ sku: z.string(), qty: z.number().int() })) });
export type Order = z.infer<typeof Order>;

/** Mostly valid orders (qty 0..20, so 13 comes up), some non-JSON strings, some orders of the wrong shape. */
export const orderPayload = fc.oneof(
  {
    weight: 8,
    arbitrary: fc
      .record({
        id: fc.string({ maxLength: 4 }),
        items: fc.array(fc.record({ sku: fc.constantFrom('a', 'b', 'c'), qty: fc.integer({ min: 0, max: 20 }) }), {
          maxLength: 4,
        }),
      })
      .map((o) => JSON.stringify(o)),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 10 }) },
  { weight: 1, arbitrary: fc.record({ id: fc.integer(), items: fc.constant([]) }).map((o) => JSON.stringify(o)) },
);

/** The payloads as records of one shard of the `orders` stream, in order. */
export const toOrderRecords = (payloads: string[]): InputRecord[] =>
  payloads.map((data, i) => ({
    position: {
      stream: 'orders',
      shardId: 'shardId-000000000000',
      sequenceNumber: String(1000 + i),
      partitionKey: 'p',
      arrivalTime: 0,
    },
    data: Buffer.from(data),
  }));
