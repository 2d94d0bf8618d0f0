import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EngineProcess } from '../../local/emulators/engine-process.js';
import { startDynamoDbLocal } from '../../local/emulators/second-pair.js';
import { LocalPipeline, type LocalPipelineOptions } from '../../local/runner/local-pipeline.js';
import { runPipelineOnFiles } from '../../local/runner/run-files.js';
import { count, pipeline } from '../../shared/index.js';
import { seededRandom } from '../../shared/util/random.js';
import { tumbling } from '../../shared/windows/index.js';
import changesPipeline, { Order, windowMs } from './fixtures/order-changes-window.js';

/**
 * A table's changes, through its DynamoDB stream on DynamoDB Local, reach a window's results exactly:
 * puts (inserts and updates) and deletes, shuffled across items, summed per customer and 10 s window
 * of event time, equal the same sums computed in one pass over the changes the test made. The
 * windows' bound (1 h) is past every write's time: they fire only on the end-of-input mark the run
 * puts after the table's last change, as a bounded Kinesis input's. One DynamoDB Local for the file
 * (a JVM is slow to start); each run has its own tables (streamPrefix).
 */
const pipelineModule = fileURLToPath(new URL('./fixtures/order-changes-window.ts', import.meta.url));
let dynamoDbLocal: EngineProcess;
beforeAll(async () => {
  dynamoDbLocal = await startDynamoDbLocal('127.0.0.1');
}, 120_000);
afterAll(async () => {
  await dynamoDbLocal?.stop();
});

type Line = Order | { $delete: { id: string } };

/** Writes shuffled across 40 items, each a change (rev rises, so no put leaves an item as it was). */
function tableWrites(seed: number, count: number): Line[] {
  const random = seededRandom(seed);
  const live = new Map<string, Order>();
  const lines: Line[] = [];
  for (let rev = 1; rev <= count; rev += 1) {
    const id = `item-${Math.floor(random() * 40)}`;
    if (live.has(id) && random() < 0.25) {
      lines.push({ $delete: { id } });
      live.delete(id);
      continue;
    }
    const order = {
      id,
      customer: `customer-${Number(id.slice(5)) % 5}`,
      amount: Math.floor(random() * 100),
      ts: Math.floor(random() * 100_000),
      rev,
    };
    live.set(id, order);
    lines.push(order);
  }
  return lines;
}

/** The batch computation: replays the writes on a map, and sums each change's delta in its window. */
function expectedTotals(lines: readonly Line[]): Map<string, number> {
  const table = new Map<string, Order>();
  const totals = new Map<string, number>();
  const add = (customer: string, ts: number, delta: number) => {
    const start = Math.floor(ts / windowMs) * windowMs;
    const name = `${customer}|${start}|${start + windowMs}`;
    totals.set(name, (totals.get(name) ?? 0) + delta);
  };
  for (const line of lines) {
    if ('$delete' in line) {
      const old = table.get(line.$delete.id) as Order;
      add(old.customer, old.ts, -old.amount);
      table.delete(line.$delete.id);
    } else {
      const old = table.get(line.id);
      add(line.customer, line.ts, line.amount - (old?.amount ?? 0));
      table.set(line.id, line);
    }
  }
  return totals;
}

interface Total {
  key: string;
  windowStart: number;
  windowEnd: number;
  value: number;
}

async function run(lines: readonly Line[], streamPrefix: string, options: Partial<LocalPipelineOptions> = {}) {
  const local = await LocalPipeline.start({
    pipeline: changesPipeline,
    logLevel: 'SILENT',
    sourceTablesEndpoint: dynamoDbLocal.endpoint,
    streamPrefix,
    ...options,
  });
  try {
    expect(await local.writeTableChanges('orders', lines as never)).toBe(lines.length);
    await local.endInput('orders');
    await local.waitUntilDrained({ stallLimitMs: 120_000 });
    const totals = new Map<string, number>();
    for (const record of await local.readStream('totals')) {
      const total = JSON.parse(Buffer.from(record.data).toString('utf8')) as Total;
      const name = `${total.key}|${total.windowStart}|${total.windowEnd}`;
      // A retry may repeat a result: the same window with the same value.
      if (totals.has(name)) expect(totals.get(name)).toBe(total.value);
      totals.set(name, total.value);
    }
    return { totals, local, deadLetters: await local.readDeadLetters(), failed: local.failedBatches };
  } finally {
    await local.stop();
  }
}

describe('a dynamoDbStream source on DynamoDB Local', () => {
  it('gives a window the sums of the table changes exactly, every window closed by the end of the input', async () => {
    const lines = tableWrites(7, 250);
    const changes = { removes: lines.filter((l) => '$delete' in l).length };
    expect(changes.removes).toBeGreaterThan(10);

    const { totals, deadLetters, failed } = await run(lines, 'exact-');

    expect(totals).toEqual(expectedTotals(lines));
    expect(deadLetters).toEqual([]);
    expect(failed).toEqual([]);
  });

  it('stays exact when workers of both stages are killed mid-batch and invocations crash after their batch', async () => {
    const lines = tableWrites(11, 120);

    const { totals, local, deadLetters, failed } = await run(lines, 'faults-', {
      pipelineModule,
      sandboxes: 'worker',
      killWorkers: { rate: 0.15, seed: 3, atLeast: 1 },
      crashAfterBatchRate: 0.1,
      crashFirstBatches: 1,
      faultSeed: 5,
    });

    expect(totals).toEqual(expectedTotals(lines));
    expect(deadLetters).toEqual([]);
    expect(failed).toEqual([]);
    const faults = local
      .status()
      .map((stage) => [stage.stage.id, stage.stats.sandboxKills, stage.stats.functionErrors]);
    console.log(`table stream under faults (stage, workers killed, failed invocations): ${JSON.stringify(faults)}`);
    for (const [stage, kills, errors] of faults) {
      expect(kills, String(stage)).toBeGreaterThanOrEqual(1);
      expect(errors, String(stage)).toBeGreaterThan(kills as number);
    }
  });
});

describe('eddy run --input <dynamoDbStream source>=file', () => {
  it('writes the lines to the table, puts and deletes, the source reads them as its changes, and the end of the file closes its windows', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'eddy-ddb-source-'));
    try {
      const input = join(dir, 'orders.jsonl');
      const output = join(dir, 'changes.jsonl');
      const lines: Line[] = [
        { id: 'a', customer: 'c', amount: 1, ts: 1, rev: 1 },
        { id: 'b', customer: 'c', amount: 2, ts: 2, rev: 2 },
        { id: 'a', customer: 'c', amount: 3, ts: 3, rev: 3 },
        { $delete: { id: 'b' } },
      ];
      writeFileSync(input, lines.map((line) => JSON.stringify(line)).join('\n'));
      const counts = join(dir, 'counts.jsonl');
      const p = pipeline('order-log', { eventSource: { maxBatchingWindowSeconds: 0 } });
      const orders = p.source('orders', {
        dynamoDbStream: { table: 'orders', partitionKey: { name: 'id' } },
        schema: Order,
        eventTime: (change) => (change.newImage ?? change.oldImage)?.ts ?? 0,
        maxOutOfOrderness: '1h',
      });
      orders
        .map(
          (change) =>
            `${change.eventName} ${change.keys.id} ${change.oldImage?.amount ?? '-'}>${change.newImage?.amount ?? '-'}`,
        )
        .sink('changes');
      // Fires only at the end of the file: every change is within the 1 h bound of the last.
      orders
        .keyBy((change) => change.eventName)
        .window(tumbling('1h'))
        .aggregate(count())
        .sink('counts');

      const summary = await runPipelineOnFiles({
        pipeline: p,
        inputs: [{ stream: 'orders', file: input }],
        outputs: [
          { stream: 'changes', file: output },
          { stream: 'counts', file: counts },
        ],
        sourceTablesEndpoint: dynamoDbLocal.endpoint,
        streamPrefix: 'cli-',
      });

      const written = readFileSync(output, 'utf8')
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line));
      expect(written).toEqual(['INSERT a ->1', 'INSERT b ->2', 'MODIFY a 1>3', 'REMOVE b 2>-']);
      const windows = readFileSync(counts, 'utf8')
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as Total)
        .map((total) => [total.key, total.windowStart, total.value])
        .sort();
      expect(windows).toEqual([
        ['INSERT', 0, 2],
        ['MODIFY', 0, 1],
        ['REMOVE', 0, 1],
      ]);
      expect(summary.inputRecords).toBe(4);
      expect(summary.failedBatches).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
