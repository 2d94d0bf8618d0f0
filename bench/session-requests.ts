/**
 * DynamoDB requests per 1,000 events of a session window stage (count per user, gap 20 s) over the
 * click sample of windows-100k (1,000 users), in batches of 100 and 1,000 records, each result set
 * checked against the batch computation (test/reference/windows.ts). The real window stage runs in
 * process over an in-memory store that counts the requests DynamoDB would get.
 *
 *   npx tsx bench/session-requests.ts [--events 30000]
 *
 * bench/run-all.ts calls `run()`, which returns the rows.
 */
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { generateClickLines } from '../examples/data/click-generator.js';
import { pipeline } from '../shared/index.js';
import { MemoryRecordWriter } from '../shared/runtime/io/memory-record-writer.js';
import { MemoryWindowStore } from '../shared/runtime/io/memory-window-store.js';
import type { InputRecord } from '../shared/runtime/records.js';
import { StageRunner } from '../shared/runtime/stage-runner.js';
import { END_OF_TIME } from '../shared/runtime/watermark-records.js';
import { count, session } from '../shared/windows/index.js';
import { type Click, reference } from '../test/reference/windows.js';
import { type BenchOptions, type BenchRow, isMain } from './results.js';

const GAP = session('20s');
const ClickSchema = z.object({ user: z.string(), page: z.string(), kind: z.string(), ts: z.number() });
const sessionsPerUser = pipeline('bench')
  .source('clicks', { schema: ClickSchema, eventTime: (c) => c.ts, maxOutOfOrderness: '5s' })
  .keyBy((c) => c.user, { name: 'by-user' })
  .window(GAP)
  .aggregate(count())
  .sink('counts');

/** The views as the keyBy stage writes them: envelopes, and a watermark after each batch of them. */
function shuffleBatches(views: readonly Click[], batchSize: number): InputRecord[][] {
  let sequence = 49_000_000_000_000_000_000_000_000_000_000_000_000_000_000_000n;
  const record = (data: unknown, partitionKey: string): InputRecord => {
    sequence += 1n;
    const position = {
      stream: 'bench-by-user',
      shardId: 'shardId-000000000000',
      sequenceNumber: sequence.toString(),
      partitionKey,
      arrivalTime: 0,
    };
    return { position, data: Buffer.from(JSON.stringify(data)) };
  };
  const batches: InputRecord[][] = [];
  let highest = Number.NEGATIVE_INFINITY;
  const channel = 'from-clicks/shardId-000000000000';
  for (let start = 0; start < views.length; start += batchSize) {
    const batch = views.slice(start, start + batchSize).map((c, i) => {
      highest = Math.max(highest, c.ts);
      return record({ id: `e${start + i}`, k: c.user, t: c.ts, v: c }, c.user);
    });
    batch.push(record({ wm: highest - 5000, ch: channel, n: 1 }, 'wm'));
    batches.push(batch);
  }
  batches.push([record({ wm: END_OF_TIME, ch: channel, n: 1 }, 'wm')]);
  return batches;
}

export async function run(options: BenchOptions & { readonly events?: number } = {}): Promise<BenchRow[]> {
  const events = options.events ?? 30_000;
  const views: Click[] = [];
  for (const line of generateClickLines({ events, seed: 8, users: 1000, pages: 50 })) {
    const c = JSON.parse(line) as Click;
    if (c.kind === 'view') views.push(c);
  }
  const want = reference(
    views,
    (c) => c.user,
    GAP,
    () => 1,
  );
  const rows: BenchRow[] = [];
  for (const batchSize of [100, 1000]) {
    const store = new MemoryWindowStore();
    const sink = new MemoryRecordWriter();
    const runner = new StageRunner({ pipeline: sessionsPerUser, stageId: 'from-bench-by-user', writer: sink, store });
    const batches = shuffleBatches(views, batchSize);
    for (const batch of batches) await runner.run(batch, Date.now() + 60_000);
    const got = new Map<string, number>();
    for (const r of sink.values('counts') as { key: string; windowStart: number; windowEnd: number; value: number }[])
      got.set(`${r.key}|${r.windowStart}|${r.windowEnd}`, r.value);
    const differing =
      [...want].filter(([k, v]) => got.get(k) !== v).length + [...got.keys()].filter((k) => !want.has(k)).length;
    const { byOperation, requests } = store.counter.snapshot();
    const per1000 = (n: number) => Number(((n / views.length) * 1000).toFixed(1));
    const name = `session 20s count by user, ${views.length} views, batch ${batchSize}`;
    rows.push(
      {
        name: `${name}: DynamoDB requests per 1,000 events (all)`,
        value: per1000(requests),
        unit: 'requests',
        // The count itself: one request more or less shows (a fresh deployment's upgrade check costs none).
        baseline: `${requests} in all: ${Object.entries(byOperation)
          .filter(([, n]) => n > 0)
          .map(([operation, n]) => `${operation} ${n}`)
          .join(', ')}`,
      },
      {
        name: `${name}: reads per 1,000 events (Query / BatchGetItem)`,
        value: per1000(byOperation.Query + byOperation.BatchGetItem),
        unit: 'requests',
        baseline: `Query ${per1000(byOperation.Query)}, BatchGetItem ${per1000(byOperation.BatchGetItem)}`,
      },
      {
        name: `${name}: window writes per 1,000 events (UpdateItem / DeleteItem)`,
        value: per1000(byOperation.UpdateItem + byOperation.DeleteItem),
        unit: 'writes',
        baseline: `UpdateItem ${per1000(byOperation.UpdateItem)}, DeleteItem ${per1000(byOperation.DeleteItem)}`,
      },
      {
        name: `${name}: sessions differing from the batch computation`,
        value: differing,
        unit: 'sessions',
        baseline: `of ${want.size}`,
        target: '0',
        met: differing === 0,
      },
    );
  }
  return rows;
}

if (isMain(import.meta.url)) {
  const { values } = parseArgs({ options: { events: { type: 'string', default: '30000' } } });
  const rows = await run({ events: Number(values.events) });
  for (const r of rows) {
    console.log(
      `${r.name.padEnd(100)} ${String(r.value).padStart(8)} ${r.unit}${r.baseline ? `   (${r.baseline})` : ''}`,
    );
  }
  if (rows.some((r) => r.met === false)) process.exitCode = 1;
}
