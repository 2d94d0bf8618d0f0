/**
 * `eddy run` of examples/orders-payments.ts over 50,000+ orders and their payments, the output
 * checked against the nested-loop join over the records that were not late (test/reference), and
 * its rate beside the stateless page-views pipeline over the same number of records in the same run.
 *
 *   npx tsx bench/join-run.ts [--orders 55000]
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { writeClickSample } from '../examples/data/click-generator.js';
import { writeOrderSample } from '../examples/data/order-generator.js';
import ordersPayments from '../examples/orders-payments.js';
import pageViews from '../examples/page-views.js';
import { runPipelineOnFiles } from '../local/runner/run-files.js';
import { checkOrdersPaymentsRun } from '../test/reference/orders-payments.js';

const { values } = parseArgs({ options: { orders: { type: 'string', default: '55000' } } });
const dir = '.eddy/bench';
mkdirSync(dir, { recursive: true });
const file = (name: string) => join(dir, name);
const sample = writeOrderSample(file('orders.jsonl'), file('payments.jsonl'), {
  orders: Number(values.orders),
  seed: 3,
});
const records = sample.orders.length + sample.payments.length;
await writeClickSample(file('join-baseline-clicks.jsonl'), { events: records, seed: 3 });

const baseline = await runPipelineOnFiles({
  pipeline: pageViews,
  inputs: [{ stream: 'clicks', file: file('join-baseline-clicks.jsonl') }],
  outputs: [],
});
const run = await runPipelineOnFiles({
  pipeline: ordersPayments,
  inputs: [
    { stream: 'orders', file: file('orders.jsonl') },
    { stream: 'payments', file: file('payments.jsonl') },
  ],
  outputs: [
    { stream: 'paid-orders', file: file('paid-orders.jsonl') },
    { stream: 'late-orders-payments', file: file('late-orders-payments.jsonl') },
  ],
});

const check = checkOrdersPaymentsRun({
  orders: file('orders.jsonl'),
  payments: file('payments.jsonl'),
  output: file('paid-orders.jsonl'),
  late: file('late-orders-payments.jsonl'),
});
const rate = (r: { records: number; seconds: number }) => r.records / r.seconds;
const joinRate = rate({ records, seconds: run.elapsedMs / 1000 });
const baseRate = rate({ records, seconds: baseline.elapsedMs / 1000 });
console.log(`${sample.orders.length} orders, ${sample.payments.length} payments; ${check.late} late`);
console.log(`stateless page-views (baseline)   ${baseRate.toFixed(0)} records/s`);
console.log(
  `orders-payments join              ${joinRate.toFixed(0)} records/s (${(joinRate / baseRate).toFixed(2)} of baseline), ` +
    `${check.expected.size} rows expected, ${check.missing.length} missing, ${check.extra.length} extra, ` +
    `${check.conflicts} conflicting repeats, ${check.unjustifiedLate} late records not late`,
);
const wrong = check.missing.length + check.extra.length + check.conflicts + check.unjustifiedLate;
if (wrong > 0 || run.failedBatches.length > 0) process.exitCode = 1;
