import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeOrderSample } from '../../examples/data/order-generator.js';
import ordersPayments from '../../examples/orders-payments.js';
import { useEmulators } from '../helpers/emulators.js';
import { type FaultRule, owingHits, startFaultProxy } from '../helpers/fault-proxy.js';
import { describeStages, type FaultedRunOptions, runPipelineWithFaults } from '../helpers/pipeline-run.js';
import { checkOrdersPaymentsRun } from '../reference/orders-payments.js';

const pipelineModule = fileURLToPath(new URL('../../examples/orders-payments.ts', import.meta.url));
const OUTPUT = 'paid-orders';
const LATE = 'late-orders-payments';
const PUT_RECORDS = 'Kinesis_20131202.PutRecords';
const BUFFER_CALLS = ['DynamoDB_20120810.Query', 'DynamoDB_20120810.BatchWriteItem', 'DynamoDB_20120810.PutItem'];
/** CI runs 2,500 orders (about 5,000 records); `EDDY_FAULT_ORDERS=26000` is the 50,000+ record run. */
const ORDERS = Number(process.env.EDDY_FAULT_ORDERS ?? 2500);
// A backstop only: a run fails when nothing moved for its stall limit (60 s). Under load a kill run
// took 520 s for 2,500 orders.
const TIMEOUT_MS = Math.max(900_000, ORDERS * 360);

/**
 * examples/orders-payments.ts (a left outer interval join) under the faults of the reliability suite:
 * Lambda sandboxes SIGKILLed in the middle of batches, and a fault proxy in front of the emulators.
 * Every run must equal the nested-loop join over the records that were not late: nothing lost,
 * nothing joined twice, no outer miss for an order that was paid.
 */
describe('the join pipeline under faults (examples/orders-payments.ts)', () => {
  const emulators = useEmulators();
  const dir = mkdtempSync(join(tmpdir(), 'eddy-join-faults-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string) => join(dir, name);
  beforeAll(() => {
    writeOrderSample(file('orders.jsonl'), file('payments.jsonl'), { orders: ORDERS, seed: 19 });
  });

  async function runAndCheck(
    name: string,
    options: Partial<FaultedRunOptions> & Pick<FaultedRunOptions, 'endpoint' | 'dynamodbEndpoint'>,
  ) {
    const run = await runPipelineWithFaults({
      pipeline: ordersPayments,
      directKinesisEndpoint: emulators().kinesisEndpoint,
      inputs: [
        { stream: 'orders', file: file('orders.jsonl') },
        { stream: 'payments', file: file('payments.jsonl') },
      ],
      outputs: [OUTPUT, LATE],
      stallLimitMs: 60_000,
      ...options,
    });
    const lines = (stream: string) => (run.outputs.get(stream) ?? []).map((r) => JSON.stringify(r)).join('\n');
    writeFileSync(file(`${name}-out.jsonl`), lines(OUTPUT));
    writeFileSync(file(`${name}-late.jsonl`), lines(LATE));
    const check = checkOrdersPaymentsRun({
      orders: file('orders.jsonl'),
      payments: file('payments.jsonl'),
      output: file(`${name}-out.jsonl`),
      late: file(`${name}-late.jsonl`),
    });
    console.log(
      `${name}: ${run.fed} records in ${(run.elapsedMs / 1000).toFixed(1)} s, ${run.workerKills} workers killed; ` +
        `${check.expected.size} rows, ${check.missing.length} missing, ${check.extra.length} extra, ` +
        `${check.conflicts} conflicting repeats\n${describeStages(run.stages)}`,
    );
    expect({ missing: check.missing.slice(0, 10), extra: check.extra.slice(0, 10) }).toEqual({
      missing: [],
      extra: [],
    });
    expect(check.conflicts).toBe(0);
    expect(check.unjustifiedLate).toBe(0);
    expect(run.failedBatches).toEqual([]);
    return run;
  }

  it(
    'workers of every stage SIGKILLed in the middle of batches: the nested-loop join',
    async () => {
      const run = await runAndCheck('kills', {
        endpoint: emulators().kinesisEndpoint,
        dynamodbEndpoint: emulators().dynamodbEndpoint ?? '',
        sandboxes: 'worker',
        pipelineModule,
        killWorkers: { rate: 0.5, seed: 4, atLeast: 4 },
      });
      expect(run.workerKills).toBeGreaterThanOrEqual(10);
      expect(run.stages.map((s) => s.stats.sandboxKills >= 2)).toEqual([true, true, true]);
    },
    TIMEOUT_MS,
  );

  it.each<[string, FaultRule[], Record<string, number>]>([
    [
      'connections cut after the call took effect (PutRecords, buffer writes and reads)',
      [
        { label: 'PutRecords', kind: 'cutAfterForward', targets: [PUT_RECORDS], rate: 0.3 },
        { label: 'buffers', kind: 'cutAfterForward', targets: BUFFER_CALLS, rate: 0.05 },
      ],
      { PutRecords: 3, buffers: 5 },
    ],
    [
      'throttling of the buffers and partial PutRecords',
      [
        { label: 'PutRecords', kind: 'partialPutRecords', targets: [PUT_RECORDS], rate: 0.5, recordFailureRate: 0.5 },
        { label: 'buffers', kind: 'throttle', targets: BUFFER_CALLS, rate: 0.2 },
      ],
      { PutRecords: 3, buffers: 10 },
    ],
  ])(
    '%s: the nested-loop join',
    async (name, rules, atLeast) => {
      const proxy = await startFaultProxy({
        upstream: { kinesis: emulators().kinesisEndpoint, dynamodb: emulators().dynamodbEndpoint ?? '' },
        // Each rule owes the hits asserted below: the draws alone can fall short on a short run.
        rules: owingHits(rules, atLeast),
        seed: 23,
      });
      try {
        await runAndCheck(name.split(' ')[0] ?? 'proxy', {
          endpoint: proxy.endpoint,
          dynamodbEndpoint: proxy.endpoint,
        });
        const counts = proxy.counts();
        for (const [label, minimum] of Object.entries(atLeast)) {
          expect(counts.byLabel[label] ?? 0, `hits of '${label}'`).toBeGreaterThanOrEqual(minimum);
        }
      } finally {
        await proxy.stop();
      }
    },
    TIMEOUT_MS,
  );
});
