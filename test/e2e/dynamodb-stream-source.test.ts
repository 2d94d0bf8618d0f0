import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { LocalPipeline, type LocalPipelineOptions } from '../../local/runner/local-pipeline.js';
import { runPipelineOnFiles } from '../../local/runner/run-files.js';
import { pipeline } from '../../shared/index.js';
import { seededRandom } from '../../shared/util/random.js';
import { sum, tumbling } from '../../shared/windows/index.js';

/**
 * A table's changes, through its DynamoDB stream on DynamoDB Local, reach a window's results exactly:
 * puts (inserts and updates) and deletes, shuffled across items, summed per customer and 10 s window
 * of event time, equal the same sums computed in one pass over the changes the test made.
 */
const Order = z.object({ id: z.string(), customer: z.string(), amount: z.number(), ts: z.number(), rev: z.number() });
type Order = z.infer<typeof Order>;

const windowMs = 10_000;
const sentinel = 'zz-end';

function changesPipeline() {
  const p = pipeline('order-changes', { eventSource: { maxBatchingWindowSeconds: 0, batchSize: 25 } });
  p.source('orders', {
    dynamoDbStream: { table: 'orders', partitionKey: { name: 'id' } },
    schema: Order,
    // A REMOVE happens at the time of the item it removes: its last write.
    eventTime: (change) => (change.newImage ?? change.oldImage)?.ts ?? 0,
    maxOutOfOrderness: '1h',
  })
    .map((change) => ({
      customer: (change.newImage ?? change.oldImage)?.customer ?? '',
      delta: (change.newImage?.amount ?? 0) - (change.oldImage?.amount ?? 0),
    }))
    .keyBy((d) => d.customer, { shards: 2 })
    .window(tumbling('10s'))
    .aggregate(sum((d: { delta: number }) => d.delta))
    .sink('totals');
  return p;
}

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

async function run(lines: readonly Line[], options: Partial<LocalPipelineOptions> = {}) {
  const local = await LocalPipeline.start({ pipeline: changesPipeline(), logLevel: 'SILENT', ...options });
  try {
    expect(await local.writeTableChanges('orders', lines as never)).toBe(lines.length);
    // Moves the watermark past every window of the writes: the sentinel's own window never fires.
    await local.writeTableChanges('orders', [
      { id: sentinel, customer: sentinel, amount: 0, ts: 10 * 3_600_000, rev: lines.length + 1 },
    ]);
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
  it('gives a window the sums of the table changes exactly', async () => {
    const lines = tableWrites(7, 400);
    const changes = { removes: lines.filter((l) => '$delete' in l).length };
    expect(changes.removes).toBeGreaterThan(20);

    const { totals, deadLetters, failed } = await run(lines);

    expect(totals).toEqual(expectedTotals(lines));
    expect(deadLetters).toEqual([]);
    expect(failed).toEqual([]);
  }, 240_000);

  it('stays exact when invocations of both stages crash after their batch and are retried', async () => {
    const lines = tableWrites(11, 300);

    const { totals, local, failed } = await run(lines, {
      crashAfterBatchRate: 0.3,
      crashFirstBatches: 2,
      faultSeed: 5,
    });

    expect(totals).toEqual(expectedTotals(lines));
    expect(failed).toEqual([]);
    const crashes = local.status().map((stage) => [stage.stage.id, stage.stats.functionErrors > 0]);
    expect(crashes).toEqual([
      ['from-orders', true],
      ['from-order-changes-keyBy-1', true],
    ]);
  }, 240_000);
});

describe('eddy run --input <dynamoDbStream source>=file', () => {
  it('writes the lines to the table, puts and deletes, and the source reads them as its changes', async () => {
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
      const p = pipeline('order-log', { eventSource: { maxBatchingWindowSeconds: 0 } });
      p.source('orders', { dynamoDbStream: { table: 'orders', partitionKey: { name: 'id' } }, schema: Order })
        .map(
          (change) =>
            `${change.eventName} ${change.keys.id} ${change.oldImage?.amount ?? '-'}>${change.newImage?.amount ?? '-'}`,
        )
        .sink('changes');

      const summary = await runPipelineOnFiles({
        pipeline: p,
        inputs: [{ stream: 'orders', file: input }],
        outputs: [{ stream: 'changes', file: output }],
      });

      const written = readFileSync(output, 'utf8')
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line));
      expect(written).toEqual(['INSERT a ->1', 'INSERT b ->2', 'MODIFY a 1>3', 'REMOVE b 2>-']);
      expect(summary.inputRecords).toBe(4);
      expect(summary.failedBatches).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
