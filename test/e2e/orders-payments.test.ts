import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeOrderSample } from '../../examples/data/order-generator.js';
import ordersPayments from '../../examples/orders-payments.js';
import { type RunSummary, runPipelineOnFiles } from '../../local/runner/run-files.js';
import { expectExactJoin } from '../helpers/join-check.js';
import { checkOrdersPaymentsRun } from '../reference/orders-payments.js';

/**
 * examples/orders-payments.ts with `eddy run` over two files (orders, payments) with unpaid orders,
 * payments past the interval, double payments, payments of unknown orders, disorder and late
 * records: the output equals the nested-loop join over the records that were not late, and every
 * late record was late.
 */
describe('eddy run: orders left-joined with payments (examples/orders-payments.ts)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'eddy-join-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string) => join(dir, name);
  let summary: RunSummary;
  beforeAll(async () => {
    writeOrderSample(file('orders.jsonl'), file('payments.jsonl'), { orders: 4000, seed: 11, lateRate: 0.005 });
    summary = await runPipelineOnFiles({
      pipeline: ordersPayments,
      inputs: [
        { stream: 'orders', file: file('orders.jsonl') },
        { stream: 'payments', file: file('payments.jsonl') },
      ],
      outputs: [
        { stream: 'paid-orders', file: file('out.jsonl') },
        { stream: 'late-orders-payments', file: file('late.jsonl') },
      ],
    });
  });

  it('emits exactly the nested-loop join over the records that were not late, and only late records as late', () => {
    const check = checkOrdersPaymentsRun({
      orders: file('orders.jsonl'),
      payments: file('payments.jsonl'),
      output: file('out.jsonl'),
      late: file('late.jsonl'),
    });

    expectExactJoin(check);
    // The input had every case: paid, unpaid, and late records.
    expect([...check.expected.values()].filter((r) => r.paymentId === null).length).toBeGreaterThan(100);
    expect(check.late).toBeGreaterThan(0);
  });

  it('gives up no batch and dead-letters nothing', () => {
    expect(summary.failedBatches).toEqual([]);
    expect(summary.deadLetters).toEqual([]);
  });
});
