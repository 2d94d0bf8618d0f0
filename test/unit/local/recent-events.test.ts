import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import ordersPayments from '../../../examples/orders-payments.js';
import { lateOutputsOf } from '../../../local/observability/output-tail.js';
import { RecentEvents, recentDeadLetter, recentLateRecord } from '../../../local/observability/recent-events.js';
import type { DeadLetterEnvelope } from '../../../shared/runtime/dead-letter.js';

describe('the recent dead letters, late records and errors of /status', () => {
  it('keeps the last `limit` of each kind, the newest last, whatever arrives', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.array(fc.constantFrom('dead', 'late', 'error'), { maxLength: 100 }),
        (limit, kinds) => {
          const recent = new RecentEvents(limit);
          kinds.forEach((kind, at) => {
            if (kind === 'dead') recent.addDeadLetter({ stage: 's', reason: 'r', message: 'm', at });
            else if (kind === 'late') recent.addLate({ stage: 's', output: 'o', at });
            else recent.addError('s', new Error(`e${at}`), 'shardId-0');
          });
          const report = recent.report();
          const expected = (kind: string) =>
            kinds
              .map((k, at) => (k === kind ? at : -1))
              .filter((at) => at >= 0)
              .slice(-limit);
          expect(report.deadLetters.map((d) => d.at)).toEqual(expected('dead'));
          expect(report.late.map((l) => l.at)).toEqual(expected('late'));
          expect(report.errors.map((e) => e.message)).toEqual(expected('error').map((at) => `Error: e${at}`));
        },
      ),
    );
  });

  it('names a dead letter by its stage, reason, operator and where the record was', () => {
    const envelope = {
      pipeline: 'p',
      stage: 'from-orders',
      correlationId: 'c',
      error: { reason: 'schema-violation', message: "field 'amount': expected number", operator: 'orders' },
      source: {
        stream: 'orders',
        shardId: 'shardId-000000000001',
        sequenceNumber: '42',
        partitionKey: 'k',
        arrivalTime: 1,
      },
      payload: '',
      deadLetteredAt: 7,
    } as unknown as DeadLetterEnvelope;
    expect(recentDeadLetter(envelope, 7)).toEqual({
      stage: 'from-orders',
      reason: 'schema-violation',
      operator: 'orders',
      recordId: 'orders/shardId-000000000001/42',
      message: "field 'amount': expected number",
      at: 7,
    });
  });

  it("reads a join's late record, and attributes it to the stage that writes the late output", () => {
    const plan = ordersPayments.plan();
    const [late] = lateOutputsOf(ordersPayments.graph);
    expect(late).toBe('late-orders-payments');
    const record = {
      id: 'orders/1',
      key: 'o1',
      side: 'left',
      time: 1000,
      watermark: 5000,
      reason: 'behind the watermark',
      value: {},
    };
    expect(recentLateRecord(plan, 'late-orders-payments', record, 9)).toEqual({
      stage: 'from-orders-with-payments-order-payment',
      recordId: 'orders/1',
      eventTime: 1000,
      watermark: 5000,
      reason: 'behind the watermark',
      output: 'late-orders-payments',
      at: 9,
    });
    // Another shape (a process function's own `late` output) keeps what it can.
    expect(recentLateRecord(plan, 'late-orders-payments', { time: 'x' }, 9)).toEqual({
      stage: 'from-orders-with-payments-order-payment',
      output: 'late-orders-payments',
      at: 9,
    });
  });
});
