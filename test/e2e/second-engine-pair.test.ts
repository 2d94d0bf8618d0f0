import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeClickSample } from '../../examples/data/click-generator.js';
import { writeOrderSample } from '../../examples/data/order-generator.js';
import ordersPayments from '../../examples/orders-payments.js';
import pageViewCounts from '../../examples/page-view-counts.js';
import type { EnginePair } from '../../local/emulators/index.js';
import { runPipelineOnFiles } from '../../local/runner/run-files.js';
import { tumbling } from '../../shared/windows/index.js';
import { expectExactJoin } from '../helpers/join-check.js';
import { compareWindows, type WindowResult } from '../helpers/window-check.js';
import { checkOrdersPaymentsRun } from '../reference/orders-payments.js';
import { reference, views } from '../reference/windows.js';

/**
 * The windowed and the join example with `eddy run --engines kinesis-mock+dynamodb-local`: the
 * engines LocalStack runs (kinesis-mock, AWS's DynamoDB Local on Java) in place of kinesalite and
 * dynalite. Each must equal its batch computation, as on the first pair. Sizes fit kinesis-mock's
 * speed (its PutRecords slows down as a shard fills: docs/local-engines.md). Alone they take about
 * 35 and 41 s; beside other suites on two cores, up to 68 and 93 s: the timeouts leave room for that.
 */
const engines: EnginePair = 'kinesis-mock+dynamodb-local';

describe(`eddy run on ${engines}`, () => {
  const dir = mkdtempSync(join(tmpdir(), 'eddy-engines-'));
  const file = (name: string) => join(dir, name);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('page-view-counts: every window equals the batch computation, nothing late, nothing given up', async () => {
    // Prepare
    await writeClickSample(file('clicks.jsonl'), {
      events: 4_000,
      seed: 23,
      users: 150,
      pages: 20,
      badLineRate: 0.002,
    });

    // Act
    const summary = await runPipelineOnFiles({
      pipeline: pageViewCounts,
      engines,
      inputs: [{ stream: 'clicks', file: file('clicks.jsonl') }],
      outputs: [
        { stream: 'page-view-counts', file: file('counts.jsonl') },
        { stream: 'late-clicks', file: file('late.jsonl') },
      ],
    });

    // Assess
    const results = lines<WindowResult>(file('counts.jsonl'));
    const expected = reference(
      views(file('clicks.jsonl')),
      (c) => c.page,
      tumbling('1m'),
      () => 1,
    );
    const comparison = compareWindows(results, expected);
    console.log(
      `${engines}: ${comparison.windows} windows, ${comparison.repeats} repeats, in ${Math.round(summary.elapsedMs / 1000)} s`,
    );
    expect(comparison.differences).toEqual([]);
    expect(comparison.windows).toBeGreaterThan(30);
    expect(lines(file('late.jsonl'))).toEqual([]);
    expect(summary.failedBatches).toEqual([]);
  });

  it('orders-payments: exactly the nested-loop join over the records that were not late', async () => {
    // Prepare
    writeOrderSample(file('orders.jsonl'), file('payments.jsonl'), { orders: 1_500, seed: 11, lateRate: 0.005 });

    // Act
    const summary = await runPipelineOnFiles({
      pipeline: ordersPayments,
      engines,
      inputs: [
        { stream: 'orders', file: file('orders.jsonl') },
        { stream: 'payments', file: file('payments.jsonl') },
      ],
      outputs: [
        { stream: 'paid-orders', file: file('paid.jsonl') },
        { stream: 'late-orders-payments', file: file('late-joins.jsonl') },
      ],
    });

    // Assess
    const check = checkOrdersPaymentsRun({
      orders: file('orders.jsonl'),
      payments: file('payments.jsonl'),
      output: file('paid.jsonl'),
      late: file('late-joins.jsonl'),
    });
    expectExactJoin(check);
    expect(check.late).toBeGreaterThan(0);
    expect(summary.failedBatches).toEqual([]);
    expect(summary.deadLetters).toEqual([]);
  });
});

function lines<T>(path: string): T[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as T);
}
