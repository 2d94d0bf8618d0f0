/**
 * End to end on the embedded local stack (kinesalite and dynalite, the local event source mappings
 * calling the real stage handlers), two measurements:
 *
 * 1. Throughput: `eddy run` of the windowed example (examples/page-view-counts.ts: filter, keyBy page,
 *    tumbling 1-minute count with state in dynalite) over `--events` generated clicks, beside the
 *    Kinesis emulator's own ceiling measured in the same run (the same records put with PutRecords into
 *    a fresh kinesalite, then read back with GetRecords, no Eddy in between, as bench/eddy-run.ts
 *    does). The windows are checked against the batch computation (test/reference/windows.ts): a fast
 *    wrong run does not count.
 * 2. Latency from put to sink: a generator puts clicks at a fixed rate (`--rate` for `--seconds`),
 *    each stamped with the time of its PutRecords call, through the stateless example
 *    (examples/page-views.ts: filter, map, keyBy page, sink; two stages, so two Kinesis hops after the
 *    put). A record's latency is its sink record's ApproximateArrivalTimestamp minus that stamp;
 *    p50 and p99 over every record. Beside it, in the same run and at the same rate, the same two
 *    hops with no Eddy: two relays that read a stream and put what they read into the next, polling
 *    every 50 ms (the emulator's floor). The local mappings batch as the stages' settings say (batchSize 500,
 *    maxBatchingWindowSeconds 1 by default): that window is most of the latency, locally as in Lambda,
 *    so the same pipeline is measured again with `maxBatchingWindowSeconds: 0` on both stages.
 *
 *   npx tsx bench/e2e-latency.ts [--events 200000] [--rate 500] [--seconds 60] [--skip-throughput] [--skip-latency]
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  type KinesisClient,
  PutRecordsCommand,
} from '@aws-sdk/client-kinesis';
import { writeClickSample } from '../examples/data/click-generator.js';
import pageViewCounts from '../examples/page-view-counts.js';
import pageViews, { Click } from '../examples/page-views.js';
import { createKinesisClient } from '../local/aws-clients.js';
import { startEmulators } from '../local/emulators/index.js';
import { LocalPipeline } from '../local/runner/local-pipeline.js';
import { runPipelineOnFiles } from '../local/runner/run-files.js';
import { ensureStream } from '../local/runner/stream-admin.js';
import { readWholeStream } from '../local/runner/stream-reader.js';
import type { Pipeline } from '../shared/dsl/pipeline.js';
import { pipeline } from '../shared/index.js';
import { tumbling } from '../shared/windows/index.js';
import { compareWindows, type WindowResult } from '../test/helpers/window-check.js';
import { reference, views } from '../test/reference/windows.js';
import { emulatorCeilingMs } from './emulator-ceiling.js';
import { type BenchOptions, type BenchRow, formatTable, isMain } from './results.js';

export interface E2eLatencyOptions extends BenchOptions {
  /** Clicks through the windowed example. @default 200000 */
  readonly events?: number;
  /** Clicks per second of the latency generator. @default 500 */
  readonly rate?: number;
  /** How long the latency generator runs, s. @default 60 */
  readonly seconds?: number;
  readonly throughput?: boolean;
  readonly latency?: boolean;
  readonly log?: (line: string) => void;
}

const DIR = '.eddy/bench/e2e-latency';

export async function run(options: E2eLatencyOptions = {}): Promise<BenchRow[]> {
  const log = options.log ?? ((line: string) => console.log(line));
  mkdirSync(DIR, { recursive: true });
  const rows: BenchRow[] = [];
  if (options.throughput ?? true) rows.push(...(await throughput(options.events ?? 200_000, log)));
  if (options.latency ?? true) rows.push(...(await latency(options.rate ?? 500, options.seconds ?? 60, log)));
  return rows;
}

// ----------------------------------------------------------------------------------------------
// Throughput

async function throughput(events: number, log: (line: string) => void): Promise<BenchRow[]> {
  const input = join(DIR, 'clicks.jsonl');
  const counts = join(DIR, 'page-view-counts.jsonl');
  const late = join(DIR, 'late-clicks.jsonl');
  await writeClickSample(input, { events, seed: 23, users: 1000, pages: 50, badLineRate: 0.001 });
  const lines = readFileSync(input, 'utf8').trimEnd().split('\n');

  log(`eddy run examples/page-view-counts.ts over ${events.toLocaleString('en-US')} clicks ...`);
  const summary = await runPipelineOnFiles({
    pipeline: pageViewCounts,
    inputs: [{ stream: 'clicks', file: input }],
    outputs: [
      { stream: 'page-view-counts', file: counts },
      { stream: 'late-clicks', file: late },
    ],
  });
  const results = readFileSync(counts, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as WindowResult);
  const comparison = compareWindows(
    results,
    reference(
      views(input),
      (c) => c.page,
      tumbling('1m'),
      () => 1,
    ),
  );
  const exact = comparison.differences.length === 0;
  if (!exact) for (const difference of comparison.differences.slice(0, 10)) log(`  differs: ${difference}`);
  const eddyRate = (summary.inputRecords / summary.elapsedMs) * 1000;
  log(
    `  ${summary.inputRecords.toLocaleString('en-US')} records in ${(summary.elapsedMs / 1000).toFixed(1)} s; ` +
      `${comparison.windows} windows, ${comparison.repeats} repeated results, ${comparison.lost} lost, ${comparison.duplicated} counted twice`,
  );

  log('kinesalite alone: the same records put, then read back ...');
  const ceilingMs = await emulatorCeilingMs(lines);
  const ceilingRate = (lines.length / ceilingMs) * 1000;
  return [
    {
      name: `e2e page-view-counts (windowed), ${events.toLocaleString('en-US')} events: input events/s end to end`,
      value: Math.round(eddyRate),
      unit: 'events/s',
      baseline: 'kinesalite put+get of the same records, no Eddy (records/s)',
      baselineValue: Math.round(ceilingRate),
      ratio: Number((eddyRate / ceilingRate).toFixed(3)),
    },
    {
      name: 'e2e page-view-counts: windows equal the batch computation',
      value: exact ? 1 : 0,
      unit: 'bool',
      target: '1',
      met: exact,
    },
  ];
}

// ----------------------------------------------------------------------------------------------
// Latency

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

/**
 * Puts `rate` view clicks a second for `seconds` into `stream`, in a PutRecords call every 20 ms,
 * each click's `ts` the time of its call. Returns how many were put.
 */
async function generate(client: KinesisClient, stream: string, rate: number, seconds: number): Promise<number> {
  const started = Date.now();
  let sent = 0;
  let n = 0;
  while (Date.now() - started < seconds * 1000) {
    const due = Math.floor(((Date.now() - started) * rate) / 1000) - sent;
    if (due > 0) {
      const ts = Date.now();
      const records = Array.from({ length: Math.min(due, 500) }, () => {
        n += 1;
        const click = { user: `user-${n % 1000}`, page: `/page/${n % 50}`, kind: 'view', ts };
        return { PartitionKey: click.user, Data: Buffer.from(JSON.stringify(click)) };
      });
      const response = await client.send(new PutRecordsCommand({ StreamName: stream, Records: records }));
      if (response.FailedRecordCount) throw new Error(`${response.FailedRecordCount} clicks were not put`);
      sent += records.length;
    }
    await sleep(20 - ((Date.now() - started) % 20));
  }
  return sent;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

/**
 * The same two hops with no Eddy: the generator puts into stream `a`; a relay reads `a` and puts
 * what it got into `b`, another reads `b` and puts into `c`, each polling again at once after records
 * and 50 ms after an empty answer. A record's latency is its arrival in `c` minus its stamp: the
 * emulator's own floor for what a two-stage pipeline does (two reads, two PutRecords).
 */
async function relayFloor(rate: number, seconds: number): Promise<number[]> {
  const emulators = await startEmulators({ dynamodb: false });
  const client = createKinesisClient(emulators.kinesisEndpoint);
  try {
    for (const stream of ['a', 'b', 'c']) await ensureStream(client, stream, 1);
    let done = false;
    const relay = async (from: string, to: string) => {
      let iterator = (
        await client.send(
          new GetShardIteratorCommand({
            StreamName: from,
            ShardId: 'shardId-000000000000',
            ShardIteratorType: 'LATEST',
          }),
        )
      ).ShardIterator;
      while (iterator !== undefined && !done) {
        const page = await client.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 500 }));
        const records = page.Records ?? [];
        if (records.length > 0) {
          await client.send(
            new PutRecordsCommand({
              StreamName: to,
              Records: records.map((r) => ({ PartitionKey: r.PartitionKey ?? 'k', Data: r.Data ?? new Uint8Array() })),
            }),
          );
        }
        iterator = page.NextShardIterator;
        if (records.length === 0) await sleep(50);
      }
    };
    const relays = [relay('a', 'b'), relay('b', 'c')];
    // Both relays hold their LATEST iterators before the first put.
    await sleep(200);
    const sent = await generate(client, 'a', rate, seconds);
    const deadline = Date.now() + 10_000;
    let latencies: number[] = [];
    while (Date.now() < deadline) {
      await sleep(250);
      const arrived = await readWholeStream(client, 'c');
      latencies = arrived.map(
        (r) => r.arrivalTime - (JSON.parse(Buffer.from(r.data).toString('utf8')) as { ts: number }).ts,
      );
      if (latencies.length >= sent) break;
    }
    done = true;
    await Promise.all(relays);
    return latencies.sort((a, b) => a - b);
  } finally {
    client.destroy();
    await emulators.stop();
  }
}

/** examples/page-views.ts with no batching window on either stage: invoked as soon as a poll returns records. */
const pageViewsNoWait = pipeline('page-views-nowait')
  .source('clicks', { schema: Click, eventTime: (c) => c.ts, eventSource: { maxBatchingWindowSeconds: 0 } })
  .filter((c) => c.kind === 'view')
  .map((c) => ({ page: c.page, user: c.user, ts: c.ts }))
  .keyBy((v) => v.page, { eventSource: { maxBatchingWindowSeconds: 0 } })
  .sink('page-views-by-page');

/** Put-to-sink latencies of every click through a page-views pipeline, sorted; and how many were put. */
async function throughPipeline(
  p: Pipeline,
  rate: number,
  seconds: number,
): Promise<{ sent: number; latencies: number[] }> {
  const local = await LocalPipeline.start({ pipeline: p });
  let sent = 0;
  let latencies: number[] = [];
  try {
    sent = await generate(local.kinesis, local.physicalName('clicks'), rate, seconds);
    await local.waitUntilDrained({ stallLimitMs: 60_000 });
    const sink = await local.readStream('page-views-by-page');
    latencies = sink
      .map(
        (record) => record.arrivalTime - (JSON.parse(Buffer.from(record.data).toString('utf8')) as { ts: number }).ts,
      )
      .sort((a, b) => a - b);
  } finally {
    await local.stop();
  }
  return { sent, latencies };
}

async function latency(rate: number, seconds: number, log: (line: string) => void): Promise<BenchRow[]> {
  log(`latency: examples/page-views.ts, ${rate} clicks/s for ${seconds} s ...`);
  const { sent, latencies } = await throughPipeline(pageViews, rate, seconds);
  log(`  ${sent} clicks put, ${latencies.length} reached the sink`);
  log(`latency: the same with maxBatchingWindowSeconds 0, ${rate} clicks/s for ${seconds} s ...`);
  const noWait = await throughPipeline(pageViewsNoWait, rate, seconds);
  log(`  ${noWait.sent} clicks put, ${noWait.latencies.length} reached the sink`);
  log(`the same two hops without Eddy (a relay polling every 50 ms), ${rate} clicks/s for ${seconds} s ...`);
  const floor = await relayFloor(rate, seconds);
  const at = (values: readonly number[], p: number) => percentile(values, p);
  const rows: BenchRow[] = [];
  for (const [label, values] of [
    ['page-views (stateless, 2 stages, batching window 1 s)', latencies],
    ['page-views, batching window 0', noWait.latencies],
  ] as const) {
    for (const p of [50, 99]) {
      rows.push({
        name: `e2e latency put to sink, ${label}, ${rate} events/s: p${p}`,
        value: at(values, p),
        unit: 'ms',
        baseline: 'two Kinesis hops without Eddy, relayed, polled every 50 ms',
        baselineValue: at(floor, p),
        ratio: Number((at(values, p) / at(floor, p)).toFixed(2)),
      });
    }
  }
  rows.push({
    name: 'e2e latency: clicks that reached the sink, of those put',
    value: Number(((latencies.length + noWait.latencies.length) / (sent + noWait.sent)).toFixed(4)),
    unit: 'ratio',
    target: '1',
    met: latencies.length === sent && noWait.latencies.length === noWait.sent,
  });
  return rows;
}

if (isMain(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      events: { type: 'string' },
      rate: { type: 'string' },
      seconds: { type: 'string' },
      'skip-throughput': { type: 'boolean', default: false },
      'skip-latency': { type: 'boolean', default: false },
    },
  });
  const rows = await run({
    ...(values.events !== undefined && { events: Number(values.events) }),
    ...(values.rate !== undefined && { rate: Number(values.rate) }),
    ...(values.seconds !== undefined && { seconds: Number(values.seconds) }),
    throughput: !values['skip-throughput'],
    latency: !values['skip-latency'],
  });
  console.log(`\n${formatTable(rows)}`);
  if (rows.some((row) => row.met === false)) process.exitCode = 1;
}
