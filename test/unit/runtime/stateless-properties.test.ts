import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { pipeline } from '../../../shared/index.js';
import { processBatch } from '../../../shared/runtime/batch-processor.js';
import type { InputRecord, ShuffleEnvelope } from '../../../shared/runtime/records.js';
import { compileStage } from '../../../shared/runtime/stage-program.js';
import { Order, orderPayload, toOrderRecords } from '../../helpers/order-payloads.js';

/** Order lines per SKU, keyed by SKU, for orders with any item; a qty of 13 makes the map throw. */
function orderLines() {
  const p = pipeline('orders');
  p.source('orders', { schema: Order })
    .filter((o) => o.items.length > 0)
    .flatMap((o) => o.items.map((item) => ({ order: o.id, ...item })))
    .map((line) => {
      if (line.qty === 13) throw new Error('unlucky quantity');
      return { ...line, total: line.qty * 2 };
    })
    .keyBy((line) => line.sku)
    .sink('lines');
  return p;
}

/** The same semantics as a plain loop, without Eddy: what the shuffle stream must carry. */
function expected(payloads: string[]): { lines: { sku: string; value: unknown }[]; deadLettered: number } {
  const lines: { sku: string; value: unknown }[] = [];
  let deadLettered = 0;
  for (const payload of payloads) {
    let order: Order;
    try {
      order = JSON.parse(payload);
    } catch {
      deadLettered += 1;
      continue;
    }
    const valid =
      typeof order === 'object' &&
      order !== null &&
      typeof order.id === 'string' &&
      Array.isArray(order.items) &&
      order.items.every(
        (i) => typeof i === 'object' && i !== null && typeof i.sku === 'string' && Number.isInteger(i.qty),
      );
    if (!valid) {
      deadLettered += 1;
      continue;
    }
    for (const item of order.items) {
      if (item.qty === 13) deadLettered += 1;
      else lines.push({ sku: item.sku, value: { order: order.id, sku: item.sku, qty: item.qty, total: item.qty * 2 } });
    }
  }
  return { lines, deadLettered };
}

describe('stateless stage semantics (property-based)', () => {
  const p = orderLines();
  const [stage] = p.plan().stages;
  if (stage === undefined) throw new Error('no stage');
  const program = compileStage(p.graph, stage);
  const context = { pipeline: 'orders', deadLetterStream: 'orders-dead-letters', now: () => 0 };

  it('emits what a plain loop computes, however the input is cut into batches', () => {
    fc.assert(
      fc.property(
        fc.array(orderPayload, { maxLength: 60 }),
        fc.array(fc.integer({ min: 1, max: 20 }), { minLength: 1 }),
        (payloads, cuts) => {
          const records = toOrderRecords(payloads);
          const outputs: { sku: string; value: unknown }[] = [];
          let deadLettered = 0;
          for (let start = 0, c = 0; start < records.length; c += 1) {
            const size = cuts[c % cuts.length] ?? 1;
            const result = processBatch(program, records.slice(start, start + size), context);
            for (const o of result.outputs)
              outputs.push({ sku: o.partitionKey, value: (JSON.parse(o.data) as ShuffleEnvelope).v });
            deadLettered += result.deadLetters.length;
            expect(result.counts.recordsIn).toBe(Math.min(size, records.length - start));
            start += size;
          }
          const want = expected(payloads);
          expect(outputs).toEqual(want.lines);
          expect(deadLettered).toBe(want.deadLettered);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('gives redelivered records the same correlation ids, so a consumer can drop repeats exactly', () => {
    fc.assert(
      fc.property(
        fc.array(orderPayload, { maxLength: 40 }),
        fc.array(fc.nat(), { maxLength: 20 }),
        (payloads, repeats) => {
          const records = toOrderRecords(payloads);
          // At-least-once delivery: some records arrive again, in another batch, in any position.
          const delivered = [
            ...records,
            ...repeats.flatMap((r) => (records.length === 0 ? [] : [records[r % records.length] as InputRecord])),
          ];
          const envelopes = processBatch(program, delivered, context).outputs.map(
            (o) => JSON.parse(o.data) as ShuffleEnvelope,
          );
          const unique = new Map(envelopes.map((e) => [e.id, e.v]));
          const once = processBatch(program, records, context).outputs.map(
            (o) => JSON.parse(o.data) as ShuffleEnvelope,
          );
          expect([...unique.values()]).toEqual(once.map((e) => e.v));
        },
      ),
      { numRuns: 200 },
    );
  });
});
