/**
 * `eddy run` of examples/orders-payments.ts over orders and their payments, the output checked
 * against the nested-loop join over the records that were not late (test/reference), and its rate
 * beside the stateless page-views pipeline over the same number of records in the same run.
 *
 *   npx tsx bench/join-run.ts [--orders 55000]
 *
 * bench/run-all.ts calls `run()` (10,000 orders; 55,000 with --full), which returns the rows.
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
import { type BenchOptions, type BenchRow, formatTable, isMain } from './results.js';

/** Issue 18: the join end to end at half the stateless example's rate, in the same run. */
const JOIN_TARGET = 0.5;

export async function run(options: BenchOptions & { readonly orders?: number } = {}): Promise<BenchRow[]> {
  const orders = options.orders ?? (options.scale === 'full' ? 55_000 : 10_000);
  const dir = '.eddy/bench';
  mkdirSync(dir, { recursive: true });
  const file = (name: string) => join(dir, name);
  const sample = writeOrderSample(file('orders.jsonl'), file('payments.jsonl'), { orders, seed: 3 });
  const records = sample.orders.length + sample.payments.length;
  await writeClickSample(file('join-baseline-clicks.jsonl'), { events: records, seed: 3 });

  const baseline = await runPipelineOnFiles({
    pipeline: pageViews,
    inputs: [{ stream: 'clicks', file: file('join-baseline-clicks.jsonl') }],
    outputs: [],
  });
  const joined = await runPipelineOnFiles({
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
  const exact =
    check.missing.length === 0 &&
    check.extra.length === 0 &&
    check.conflicts === 0 &&
    check.unjustifiedLate === 0 &&
    joined.failedBatches.length === 0;
  const baseRate = (records / baseline.elapsedMs) * 1000;
  const joinRate = (records / joined.elapsedMs) * 1000;
  const what = `eddy run, ${sample.orders.length} orders + ${sample.payments.length} payments`;
  return [
    {
      name: `${what}: stateless page-views over as many clicks (baseline)`,
      value: Math.round(baseRate),
      unit: 'records/s',
    },
    {
      name: `${what}: orders-payments interval join`,
      value: exact ? Math.round(joinRate) : 0,
      unit: 'records/s',
      baseline: 'stateless page-views',
      baselineValue: Math.round(baseRate),
      ratio: Number((joinRate / baseRate).toFixed(2)),
      target: `>= ${JOIN_TARGET} of stateless page-views`,
      met: exact && joinRate / baseRate >= JOIN_TARGET,
    },
    {
      name: `${what}: rows missing, extra or conflicting beside the nested-loop join (${check.late} late records)`,
      value: check.missing.length + check.extra.length + check.conflicts + check.unjustifiedLate,
      unit: 'rows',
      baseline: `of ${check.expected.size}`,
      target: '0',
      met: exact,
    },
  ];
}

if (isMain(import.meta.url)) {
  const { values } = parseArgs({ options: { orders: { type: 'string', default: '55000' } } });
  const rows = await run({ orders: Number(values.orders) });
  console.log(formatTable(rows));
  if (rows.some((r) => r.met === false)) process.exitCode = 1;
}
