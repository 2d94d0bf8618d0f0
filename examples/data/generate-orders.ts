/**
 * Writes orders and payments as JSON lines, for `eddy run examples/orders-payments.ts`:
 *
 *   npx tsx examples/data/generate-orders.ts --orders 20000 [--seed 7] [--late-rate 0.002]
 *     [--orders-out orders.jsonl] [--payments-out payments.jsonl]
 */
import { parseArgs } from 'node:util';
import { writeOrderSample } from './order-generator.js';

const { values } = parseArgs({
  options: {
    orders: { type: 'string', default: '20000' },
    seed: { type: 'string', default: '7' },
    'late-rate': { type: 'string', default: '0.002' },
    'orders-out': { type: 'string', default: 'orders.jsonl' },
    'payments-out': { type: 'string', default: 'payments.jsonl' },
  },
});
const ordersFile = values['orders-out'] ?? 'orders.jsonl';
const paymentsFile = values['payments-out'] ?? 'payments.jsonl';
const sample = writeOrderSample(ordersFile, paymentsFile, {
  orders: Number(values.orders),
  seed: Number(values.seed),
  lateRate: Number(values['late-rate']),
});
console.log(
  `wrote ${sample.orders.length} orders to ${ordersFile} and ${sample.payments.length} payments to ${paymentsFile}`,
);
