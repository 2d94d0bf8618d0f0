import { pipeline } from 'eddy';
import * as z from 'zod';

export const Order = z.object({ orderId: z.string(), customer: z.string(), amount: z.number(), ts: z.number() });
export const Payment = z.object({ paymentId: z.string(), orderId: z.string(), amount: z.number(), ts: z.number() });

/**
 * Orders joined with their payments: a payment counts for an order when it comes within 10 minutes
 * after it (event time). A left outer interval join: an order with no payment in time is emitted
 * with `paidAt: null` once the watermark has passed its 10 minutes.
 *
 *   eddy run examples/orders-payments.ts -i orders=orders.jsonl -i payments=payments.jsonl -o paid-orders=out.jsonl
 */
const p = pipeline('orders-with-payments');
const orders = p.source('orders', { schema: Order, eventTime: (o) => o.ts, maxOutOfOrderness: '5s', shards: 2 });
const payments = p.source('payments', { schema: Payment, eventTime: (x) => x.ts, maxOutOfOrderness: '5s', shards: 2 });

orders
  .join(payments, {
    name: 'order-payment',
    left: (o) => o.orderId,
    right: (x) => x.orderId,
    within: { before: '0s', after: '10m' },
    type: 'left',
    lateOutput: 'late-orders-payments',
    shards: 2,
    // A pack holds a source batch's envelopes for a shard: 20 packs keep a join batch to thousands.
    eventSource: { batchSize: 20 },
  })
  .map(([order, payment]) => ({
    orderId: order.orderId,
    customer: order.customer,
    amount: order.amount,
    paymentId: payment?.paymentId ?? null,
    paidAt: payment?.ts ?? null,
  }))
  .sink('paid-orders');

export default p;
