/**
 * DynamoDB requests per 1,000 events of a keyed tumbling count (100 keys), for batches of 100 and
 * 1,000 records, beside the minimum possible (one write per distinct key-window per batch) and
 * beside one write per event. The real window stage runs in process over an in-memory store that
 * counts the requests DynamoDB would get (BatchGetItem of 100 keys, one UpdateItem per write, ...).
 *
 *   npx tsx bench/state-requests.ts [--events 100000]
 *
 * bench/run-all.ts calls `run()`, which returns the rows.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { seededRandom } from '../examples/data/click-generator.js';
import { pipeline } from '../shared/index.js';
import { MemoryRecordWriter } from '../shared/runtime/io/memory-record-writer.js';
import { MemoryWindowStore } from '../shared/runtime/io/memory-window-store.js';
import type { InputRecord } from '../shared/runtime/records.js';
import { StageRunner } from '../shared/runtime/stage-runner.js';
import { END_OF_TIME } from '../shared/runtime/watermark-records.js';
import { count, tumbling } from '../shared/windows/index.js';
import { type BenchOptions, type BenchRow, isMain } from './results.js';

const KEYS = 100;
const WINDOW_MS = 60_000;

const Event = z.object({ key: z.string(), t: z.number() });
const countPerKey = pipeline('bench')
  .source('events', { schema: Event, eventTime: (e) => e.t, maxOutOfOrderness: '5s' })
  .keyBy((e) => e.key, { name: 'by-key' })
  .window(tumbling(WINDOW_MS))
  .aggregate(count())
  .sink('counts');

/** Shuffle records as the source stage writes them: envelopes, and a watermark after each of its batches. */
export function shuffleBatches(
  events: number,
  batchSize: number,
): { batches: InputRecord[][]; distinctKeyWindows: number } {
  const random = seededRandom(99);
  let sequence = 49_000_000_000_000_000_000_000_000_000_000_000_000_000_000_000n;
  const record = (data: unknown, partitionKey: string): InputRecord => {
    sequence += 1n;
    return {
      position: {
        stream: 'bench-by-key',
        shardId: 'shardId-000000000000',
        sequenceNumber: sequence.toString(),
        partitionKey,
        arrivalTime: 0,
      },
      data: Buffer.from(JSON.stringify(data)),
    };
  };
  const batches: InputRecord[][] = [];
  let distinctKeyWindows = 0;
  let highest = 0;
  for (let start = 0; start < events; start += batchSize) {
    const batch: InputRecord[] = [];
    const touched = new Set<string>();
    for (let i = start; i < Math.min(events, start + batchSize); i += 1) {
      const key = `k${Math.floor(random() * KEYS)}`;
      const t = i * 10 - Math.floor(random() * 5000);
      highest = Math.max(highest, t);
      touched.add(`${key}/${Math.floor(t / WINDOW_MS)}`);
      batch.push(record({ id: `e${i}`, k: key, t, v: { key, t } }, key));
    }
    batch.push(record({ wm: highest - 5000, ch: 'from-events/shardId-000000000000', n: 1 }, 'wm'));
    distinctKeyWindows += touched.size;
    batches.push(batch);
  }
  batches.push([record({ wm: END_OF_TIME, ch: 'from-events/shardId-000000000000', n: 1 }, 'wm')]);
  return { batches, distinctKeyWindows };
}

export async function run(options: BenchOptions & { readonly events?: number } = {}): Promise<BenchRow[]> {
  const events = options.events ?? (options.scale === 'full' ? 1_000_000 : 100_000);
  const rows: BenchRow[] = [];
  for (const batchSize of [100, 1000]) {
    const store = new MemoryWindowStore();
    const sink = new MemoryRecordWriter();
    const runner = new StageRunner({ pipeline: countPerKey, stageId: 'from-bench-by-key', writer: sink, store });
    const { batches, distinctKeyWindows } = shuffleBatches(events, batchSize);
    for (const batch of batches) await runner.run(batch, Date.now() + 60_000);
    const counts = store.counter.snapshot();
    const writes = counts.byOperation.UpdateItem + counts.byOperation.PutItem + counts.byOperation.DeleteItem;
    const per1000 = (n: number) => Number(((n / events) * 1000).toFixed(1));
    rows.push(
      {
        name: `batch ${batchSize}: DynamoDB requests per 1,000 events (all)`,
        value: per1000(counts.requests),
        unit: 'requests',
      },
      {
        name: `batch ${batchSize}: window writes per 1,000 events`,
        value: per1000(writes - batches.length),
        unit: 'writes',
        baseline: `minimum ${per1000(distinctKeyWindows)} (distinct key-windows per batch), one per event 1000`,
      },
      {
        name: `batch ${batchSize}: of which tombstones of fired windows`,
        value: per1000(sink.values('counts').length),
        unit: 'writes',
        baseline: 'one per window, at firing; a window born and fired in one batch writes none',
      },
      {
        name: `batch ${batchSize}: watermark item writes per 1,000 events`,
        value: per1000(counts.byOperation.PutItem),
        unit: 'writes',
      },
      {
        name: `batch ${batchSize}: reads per 1,000 events (BatchGetItem, Query, GetItem)`,
        value: per1000(counts.byOperation.BatchGetItem + counts.byOperation.Query + counts.byOperation.GetItem),
        unit: 'requests',
      },
    );
  }
  return rows;
}

if (isMain(import.meta.url)) {
  const { values } = parseArgs({ options: { events: { type: 'string', default: '100000' } } });
  const events = Number(values.events);
  const rows = await run({ events });
  for (const r of rows)
    console.log(
      `${r.name.padEnd(62)} ${String(r.value).padStart(8)} ${r.unit}${r.baseline ? `   (${r.baseline})` : ''}`,
    );
  writeFileSync('bench/state-requests.json', `${JSON.stringify({ events, keys: KEYS, rows }, null, 2)}\n`);
}
