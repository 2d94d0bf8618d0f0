/**
 * Cost per million events on AWS, us-east-1 list prices, of two pipelines at 1k, 10k and 100k
 * events/s, beside Amazon Managed Service for Apache Flink running the same job with the Kinesis
 * stream it reads (docs/cost.md explains every line).
 *
 * - (a) examples/page-view-counts.ts: filter, keyBy page, tumbling 1-minute count.
 * - (b) Nexmark q5 (hot items), modelled as two shuffles and two chained windowed stages in one
 *   plan: bids keyed by auction, a 10 s window sliding every 2 s counting bids per auction, then the
 *   counts keyed by window and the maximum per window. examples/nexmark/q5.ts plans q5 differently
 *   (one windowed stage keyed by window).
 *
 * What each pipeline asks of AWS per event is measured, not assumed: the real stages run in process
 * (StageRunner, an in-memory writer and window store that count what Kinesis and DynamoDB would be
 * sent) over a synthetic stream at the modelled rate, cut into the batches Lambda's event source
 * mapping would deliver (per shard, at most `batchSize` records or `maxBatchingWindowSeconds` of
 * arrivals), with streams sized to 80% of a shard's write limits. Measured per event: Kinesis
 * records, bytes, PUT payload units (25 KB) and 1 KB-rounded bytes on every stream; Lambda
 * invocations and CPU time per invocation; DynamoDB read and write units. What is assumed, with
 * defaults stated in {@link DEFAULT_ASSUMPTIONS}: the I/O wait per invocation (not measurable without
 * AWS), log bytes per invocation, X-Ray sampling, and Flink's per-core throughput (Nexmark).
 *
 * Simulated stream time is short at high rates (150,000 events at most), and the input ends with an
 * end-of-input mark that fires every window: window firing is then spread over fewer events than in
 * a long run, which overstates Eddy's DynamoDB writes per event (the error is on Eddy's side).
 *
 *   npx tsx bench/cost-model.ts [--rates 1000,10000,100000] [--events 150000]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import pageViewCounts from '../examples/page-view-counts.js';
import type { Pipeline } from '../shared/dsl/pipeline.js';
import { pipeline } from '../shared/index.js';
import { MemoryWindowStore } from '../shared/runtime/io/memory-window-store.js';
import type { RecordWriter, WriteOutcome } from '../shared/runtime/io/record-writer.js';
import { UniformShardDirectory } from '../shared/runtime/io/shard-directory.js';
import type { InputRecord, OutputRecord } from '../shared/runtime/records.js';
import { StageRunner } from '../shared/runtime/stage-runner.js';
import { CONTROL_PARTITION_KEY, END_OF_INPUT_DATA } from '../shared/runtime/watermark-records.js';
import { seededRandom } from '../shared/util/random.js';
import { count, hopping, max, tumbling } from '../shared/windows/index.js';
import { uniformShardIndex } from './in-process-pipeline.js';
import { type BenchOptions, type BenchRow, formatTable, isMain } from './results.js';

/**
 * AWS list prices, US East (N. Virginia), in USD, as published on the pricing pages below in 2025
 * (DynamoDB on-demand after its 1 November 2024 reduction). Re-check them before relying on a figure.
 */
export const PRICES = {
  region: 'us-east-1',
  asOf: '2025 list prices (DynamoDB after the 2024-11-01 on-demand reduction)',
  kinesis: {
    source:
      'https://aws.amazon.com/kinesis/data-streams/pricing/ (EFO and shard-hour figures also in https://c3x.dev/resources/aws/aws_kinesis_stream)',
    provisioned: {
      shardHour: 0.015,
      /** A PUT payload unit is a 25 KB chunk of a record (a 1 KB record is one unit). */
      perMillionPutPayloadUnits: 0.014,
    },
    onDemand: {
      streamHour: 0.04,
      /** Each record rounded up to 1 KB. */
      perGbIn: 0.08,
      perGbOut: 0.04,
    },
    enhancedFanOut: { consumerShardHour: 0.015, perGbOut: 0.013 },
  },
  lambda: {
    source: 'https://aws.amazon.com/lambda/pricing/ (Arm tier 1: https://cloudchipr.com/blog/aws-lambda-pricing)',
    /** Arm, first 7.5 billion GB-s a month. */
    armPerGbSecond: 0.0000133334,
    perMillionRequests: 0.2,
  },
  dynamodb: {
    source:
      'https://aws.amazon.com/dynamodb/pricing/on-demand/ (after the 2024-11-01 reduction: https://airbyte.com/data-engineering-resources/dynamodb-pricing)',
    perMillionWriteUnits: 0.625,
    perMillionReadUnits: 0.125,
  },
  cloudwatchLogs: {
    source: 'https://aws.amazon.com/cloudwatch/pricing/ (https://c3x.dev/blog/cloudwatch-logs-cost-optimization)',
    perGbIngested: 0.5,
  },
  xray: { source: 'https://aws.amazon.com/xray/pricing/', perMillionTracesRecorded: 5.0 },
  flink: {
    source:
      'https://aws.amazon.com/managed-service-apache-flink/pricing/ and https://docs.aws.amazon.com/managed-flink/latest/java/how-pricing.html',
    /** 1 KPU = 1 vCPU and 4 GB; one more KPU per application for orchestration. */
    kpuHour: 0.11,
    /** 50 GB of running application storage per KPU, at $0.10 per GB-month. */
    storagePerKpuHour: (50 * 0.1) / 730,
  },
} as const;

/** What cannot be measured in process, with the value used unless told otherwise. */
export interface Assumptions {
  /** Lambda memory of every stage (EddyPipelineProps.memorySize's default), MB. */
  readonly memoryMb: number;
  /**
   * Wall time per invocation spent waiting on AWS: a stateless stage's PutRecords round trip and
   * Powertools' flush; a stateful stage's BatchGetItem, conditional writes, watermark item and
   * PutRecords, in sequence. ms.
   */
  readonly ioMsStateless: number;
  readonly ioMsStateful: number;
  /**
   * Lambda's CPU at `memoryMb` against this machine's core for the measured CPU time: 1769 MB is one
   * vCPU, and a Graviton core is taken as fast as a core here.
   */
  readonly cpuSlowdown: number;
  /** CloudWatch Logs bytes per invocation: START/END/REPORT lines and the EMF metrics line. */
  readonly logBytesPerInvocation: number;
  /** X-Ray's default sampling with active tracing: the first request each second, then this share. */
  readonly xraySampleRate: number;
  /** Streams sized to this share of a shard's 1,000 records/s and 1 MB/s. */
  readonly shardUtilization: number;
  /** Managed Flink: events/s per KPU (one core), from Nexmark's Flink results (GUIDE_V2). */
  readonly flinkEventsPerCore: { readonly pageViewCounts: number; readonly q5: number };
}

export const DEFAULT_ASSUMPTIONS: Assumptions = {
  memoryMb: 1024,
  ioMsStateless: 30,
  ioMsStateful: 60,
  cpuSlowdown: 1769 / 1024,
  logBytesPerInvocation: 1300,
  xraySampleRate: 0.05,
  shardUtilization: 0.8,
  // Nexmark GUIDE_V2 (Flink 2.0, 8 x 1-slot TaskManagers): q5 920.4 K/s on 12.35 cores = 74.5 K/s per
  // core; q12 (a windowed count per bidder, the closest to a tumbling count per key) 1.95 M/s on 10.03
  // cores = 194 K/s per core. Nexmark's source generates in process: reading JSON from Kinesis is
  // slower, so these figures favour Flink.
  flinkEventsPerCore: { pageViewCounts: 194_000, q5: 74_500 },
};

const KB = 1024;
const GB = 1024 ** 3;
const HOUR = 3600;

// ----------------------------------------------------------------------------------------------
// The jobs

const Click = z.object({ user: z.string(), page: z.string(), kind: z.string(), ts: z.number() });
const Bid = z.object({ auction: z.number(), bidder: z.number(), price: z.number(), dateTime: z.number() });

/**
 * q5: bids per auction in 10 s windows sliding every 2 s, then the highest count of each window (a
 * window's counts all end at its end), in one plan of two chained windowed stages.
 */
function q5Pipeline(name: string, eventSource?: WindowBatching) {
  return pipeline(name)
    .source('bids', { schema: Bid, eventTime: (b) => b.dateTime, maxOutOfOrderness: '1s' })
    .keyBy((b) => String(b.auction), { name: 'by-auction', ...(eventSource && { eventSource }) })
    .window(hopping('10s', '2s'))
    .aggregate(count())
    .keyBy((r) => String(r.windowEnd), { name: 'by-window', ...(eventSource && { eventSource }) })
    .window(tumbling('2s'))
    .aggregate(max((r: { value: number }) => r.value))
    .sink('hot-items');
}

/** Larger batches for the windowed stages: the lever that cuts DynamoDB writes per event, for up to 10 s more latency. */
const LARGE_BATCHES = { batchSize: 10_000, maxBatchingWindowSeconds: 10 } as const;
type WindowBatching = typeof LARGE_BATCHES;

/** examples/page-view-counts.ts with {@link LARGE_BATCHES} for its windowed stage. */
const pageViewCountsLargeBatches = pipeline('page-view-counts')
  .source('clicks', { schema: Click, eventTime: (c) => c.ts, maxOutOfOrderness: '5s' })
  .filter((c) => c.kind === 'view')
  .keyBy((c) => c.page, { eventSource: LARGE_BATCHES })
  .window(tumbling('1m'), { allowedLateness: '30s', lateOutput: 'late-clicks' })
  .aggregate(count())
  .sink('page-view-counts');

interface Job {
  readonly name: string;
  /** Pipelines in order: each one's single sink feeds the next one's source. */
  readonly pipelines: readonly Pipeline[];
  /** The stream events are put into. */
  readonly input: string;
  readonly event: (i: number, rate: number, random: () => number) => { data: string; partitionKey: string };
  /** Stream time to simulate, at most, s. */
  readonly seconds: number;
  readonly flinkEventsPerCore: (a: Assumptions) => number;
  /** Only these of the rates asked for. */
  readonly rates?: readonly number[];
}

const START = Date.UTC(2026, 0, 1);
const KINDS = ['view', 'view', 'view', 'click', 'scroll'];

/** Clicks as examples/data/click-generator.ts makes them: 50 pages of skewed popularity, 500 users, 5 s of disorder. */
function click(i: number, rate: number, random: () => number) {
  const ts = START + Math.floor((i * 1000) / rate) - Math.floor(random() * 5000);
  const page = `/page/${Math.floor(random() ** 2 * 50)}`;
  const user = `user-${Math.floor(random() * 500)}`;
  const kind = KINDS[Math.floor(random() * KINDS.length)] ?? 'view';
  return { data: JSON.stringify({ user, page, kind, ts }), partitionKey: user };
}

/** Bids on about 100 auctions in flight (Nexmark's default), a new auction every 500 bids. */
function bid(i: number, rate: number, random: () => number) {
  const newest = 1000 + Math.floor(i / 500);
  const auction = newest - Math.floor(random() ** 2 * 100);
  const dateTime = START + Math.floor((i * 1000) / rate) - Math.floor(random() * 500);
  const value = {
    auction,
    bidder: 1000 + Math.floor(random() * 10_000),
    price: Math.floor(random() * 10_000),
    dateTime,
  };
  return { data: JSON.stringify(value), partitionKey: String(value.bidder) };
}

const PAGE_VIEW_COUNTS = {
  input: 'clicks',
  event: click,
  seconds: 150,
  flinkEventsPerCore: (a: Assumptions) => a.flinkEventsPerCore.pageViewCounts,
};
const Q5 = { input: 'bids', event: bid, seconds: 40, flinkEventsPerCore: (a: Assumptions) => a.flinkEventsPerCore.q5 };

export const JOBS: readonly Job[] = [
  { name: 'page-view-counts', pipelines: [pageViewCounts], ...PAGE_VIEW_COUNTS },
  { name: 'nexmark-q5', pipelines: [q5Pipeline('q5')], ...Q5 },
  {
    name: 'page-view-counts, windowed stage in 10 s batches',
    pipelines: [pageViewCountsLargeBatches],
    ...PAGE_VIEW_COUNTS,
    rates: [1000],
  },
  {
    name: 'nexmark-q5, windowed stages in 10 s batches',
    pipelines: [q5Pipeline('q5', LARGE_BATCHES)],
    ...Q5,
    rates: [1000],
  },
];

// ----------------------------------------------------------------------------------------------
// The simulation

/** Accepts every record, as a Kinesis that never fails would, and keeps them for the next stage. */
class CapturingWriter implements RecordWriter {
  captured: OutputRecord[] = [];

  async write(records: readonly OutputRecord[]): Promise<WriteOutcome> {
    this.captured.push(...records);
    return { failed: [], requests: new Set(records.map((r) => r.stream)).size };
  }

  drain(): OutputRecord[] {
    const out = this.captured;
    this.captured = [];
    return out;
  }
}

interface Arrival {
  readonly time: number;
  readonly shard: number;
  readonly record: { readonly data: string; readonly partitionKey: string; readonly explicitHashKey?: string };
}

interface StreamTraffic {
  records: number;
  bytes: number;
  putPayloadUnits: number;
  /** Bytes with each record rounded up to 1 KB: what on-demand bills in and out. */
  roundedBytes: number;
  /** Stages reading it (each read is billed on on-demand streams). */
  readers: number;
  shards: number;
}

interface StageUse {
  readonly pipeline: string;
  readonly stageId: string;
  readonly stateful: boolean;
  invocations: number;
  events: number;
  cpuMs: number;
  writeUnits: number;
  readUnits: number;
  dynamoRequests: number;
}

export interface Measured {
  readonly job: string;
  readonly rate: number;
  /** Source events put. */
  readonly events: number;
  /** Stream time simulated, s. */
  readonly seconds: number;
  readonly streams: ReadonlyMap<string, StreamTraffic>;
  readonly stages: readonly StageUse[];
}

function recordBytes(record: Arrival['record']): number {
  return Buffer.byteLength(record.data) + Buffer.byteLength(record.partitionKey);
}

/** Lambda's batches of one stream, per shard: at most `batchSize` records, `window` s of arrivals, 6 MB. */
function batchesOf(arrivals: readonly Arrival[], batchSize: number, windowSeconds: number) {
  const byShard = new Map<number, Arrival[]>();
  for (const arrival of arrivals) {
    const list = byShard.get(arrival.shard) ?? [];
    list.push(arrival);
    byShard.set(arrival.shard, list);
  }
  const batches: { time: number; shard: number; arrivals: Arrival[] }[] = [];
  for (const [shard, list] of byShard) {
    list.sort((a, b) => a.time - b.time);
    let open: Arrival[] = [];
    let bytes = 0;
    const close = (time: number) => {
      if (open.length > 0) batches.push({ time, shard, arrivals: open });
      open = [];
      bytes = 0;
    };
    for (const arrival of list) {
      const first = open[0];
      if (first !== undefined && arrival.time - first.time >= windowSeconds) close(first.time + windowSeconds);
      open.push(arrival);
      bytes += recordBytes(arrival.record);
      if (open.length >= batchSize || bytes >= 6 * 1024 * KB) close(arrival.time);
    }
    const first = open[0];
    if (first !== undefined) close(first.time + windowSeconds);
  }
  return batches.sort((a, b) => a.time - b.time);
}

async function simulate(job: Job, rate: number, maxEvents: number, shardCounts?: ReadonlyMap<string, number>) {
  const seconds = Math.min(job.seconds, maxEvents / rate);
  const events = Math.max(1, Math.round(rate * seconds));
  const streams = new Map<string, StreamTraffic>();
  const traffic = (name: string) => {
    let t = streams.get(name);
    if (t === undefined) {
      t = {
        records: 0,
        bytes: 0,
        putPayloadUnits: 0,
        roundedBytes: 0,
        readers: 0,
        shards: shardCounts?.get(name) ?? 1,
      };
      streams.set(name, t);
    }
    return t;
  };
  const count = (name: string, record: Arrival['record']) => {
    const t = traffic(name);
    const bytes = recordBytes(record);
    t.records += 1;
    t.bytes += bytes;
    t.putPayloadUnits += Math.max(1, Math.ceil(bytes / (25 * KB)));
    t.roundedBytes += Math.max(1, Math.ceil(bytes / KB)) * KB;
  };

  // The input: events evenly spread over the simulated time, then the end-of-input mark on every shard.
  const random = seededRandom(17);
  const inputShards = traffic(job.input).shards;
  let pending: Arrival[] = [];
  for (let i = 0; i < events; i += 1) {
    const record = job.event(i, rate, random);
    count(job.input, record);
    pending.push({ time: i / rate, shard: uniformShardIndex(record, inputShards), record });
  }
  for (let shard = 0; shard < inputShards; shard += 1) {
    pending.push({
      time: seconds + 0.001,
      shard,
      record: { data: END_OF_INPUT_DATA, partitionKey: CONTROL_PARTITION_KEY },
    });
  }

  const stages: StageUse[] = [];
  let inputStream = job.input;
  for (const p of job.pipelines) {
    const plan = p.plan();
    // Every stream of the plan is paid for, written or not (dead letters, late output).
    for (const s of plan.streams) traffic(s.name);
    const shards = new UniformShardDirectory(new Map(plan.streams.map((s) => [s.name, traffic(s.name).shards])));
    for (const stage of plan.stages) {
      if (stage.input !== inputStream) throw new Error(`${p.name}: stage ${stage.id} does not read ${inputStream}`);
      traffic(stage.input).readers += 1;
      const writer = new CapturingWriter();
      const store = new MemoryWindowStore();
      const runner = new StageRunner({
        pipeline: p,
        stageId: stage.id,
        writer,
        shards,
        ...(stage.stateful && { store }),
      });
      const use: StageUse = {
        pipeline: p.name,
        stageId: stage.id,
        stateful: stage.stateful,
        invocations: 0,
        events: 0,
        cpuMs: 0,
        writeUnits: 0,
        readUnits: 0,
        dynamoRequests: 0,
      };
      const next: Arrival[] = [];
      let sequence = 0n;
      const { batchSize, maxBatchingWindowSeconds } = stage.eventSource;
      for (const batch of batchesOf(pending, batchSize, maxBatchingWindowSeconds)) {
        const records: InputRecord[] = batch.arrivals.map((a) => {
          sequence += 1n;
          return {
            position: {
              stream: stage.input,
              shardId: `shardId-${String(batch.shard).padStart(12, '0')}`,
              sequenceNumber: (49_000_000_000_000_000_000_000_000n + sequence).toString(),
              partitionKey: a.record.partitionKey,
              arrivalTime: START + Math.round(a.time * 1000),
            },
            data: Buffer.from(a.record.data),
          };
        });
        const started = performance.now();
        const { report } = await runner.run(records, Date.now() + 60_000);
        use.cpuMs += performance.now() - started;
        use.invocations += 1;
        use.events += report.recordsIn;
        if (report.failedRecords > 0) throw new Error(`${stage.id}: ${report.failedRecords} records failed`);
        for (const out of writer.drain()) {
          const record = {
            data: out.data,
            partitionKey: out.partitionKey,
            ...(out.explicitHashKey !== undefined && { explicitHashKey: out.explicitHashKey }),
          };
          count(out.stream, record);
          const reader = plan.stages.find((s) => s.input === out.stream);
          const sink = plan.streams.find((s) => s.name === out.stream)?.role === 'sink';
          if (reader !== undefined || (sink && p !== job.pipelines.at(-1))) {
            next.push({ time: batch.time, shard: uniformShardIndex(record, traffic(out.stream).shards), record });
          }
        }
      }
      const counts = store.counter.snapshot();
      use.writeUnits = counts.writeUnits;
      use.readUnits = counts.readUnits;
      use.dynamoRequests = counts.requests;
      stages.push(use);
      pending = next;
      const following = plan.stages[plan.stages.indexOf(stage) + 1];
      inputStream = following?.input ?? plan.streams.find((s) => s.role === 'sink')?.name ?? '';
    }
    // The next pipeline reads this one's sink; its end of input follows the data.
    const inputShardCount = traffic(inputStream).shards;
    const last = pending.reduce((latest, arrival) => Math.max(latest, arrival.time), seconds);
    for (let shard = 0; shard < inputShardCount; shard += 1) {
      pending.push({
        time: last + 0.001,
        shard,
        record: { data: END_OF_INPUT_DATA, partitionKey: CONTROL_PARTITION_KEY },
      });
    }
  }
  return { job: job.name, rate, events, seconds, streams, stages } satisfies Measured;
}

/** Shards for each stream at this rate: its records and bytes per second at `shardUtilization` of a shard. */
function sizeShards(pilot: Measured, a: Assumptions): Map<string, number> {
  const sizes = new Map<string, number>();
  for (const [name, t] of pilot.streams) {
    const recordsPerSecond = t.records / pilot.seconds;
    const bytesPerSecond = t.bytes / pilot.seconds;
    const shards = Math.max(
      1,
      Math.ceil(recordsPerSecond / (1000 * a.shardUtilization)),
      Math.ceil(bytesPerSecond / (1024 * KB * a.shardUtilization)),
    );
    sizes.set(name, shards);
  }
  return sizes;
}

/** Measures a job at a rate: a pilot with one shard per stream sizes the streams, then the run. */
export async function measure(job: Job, rate: number, maxEvents: number, a: Assumptions): Promise<Measured> {
  const pilot = await simulate(job, rate, Math.min(maxEvents, 20_000));
  return simulate(job, rate, maxEvents, sizeShards(pilot, a));
}

// ----------------------------------------------------------------------------------------------
// Cost

export interface CostLine {
  readonly item: string;
  /** USD per hour at the rate. */
  readonly perHour: number;
}

export interface Estimate {
  readonly job: string;
  readonly rate: number;
  readonly kinesisMode: 'provisioned' | 'on-demand';
  readonly eddy: readonly CostLine[];
  readonly flink: readonly CostLine[];
  readonly flinkKpus: number;
  readonly eddyPerMillion: number;
  readonly flinkPerMillion: number;
}

function kinesisLines(
  streams: ReadonlyMap<string, StreamTraffic>,
  seconds: number,
  mode: 'provisioned' | 'on-demand',
  only?: (name: string) => boolean,
): CostLine[] {
  const lines: CostLine[] = [];
  const perHour = (x: number) => (x / seconds) * HOUR;
  let shardOrStreamHours = 0;
  let payloadUnits = 0;
  let gbIn = 0;
  let gbOut = 0;
  for (const [name, t] of streams) {
    if (only !== undefined && !only(name)) continue;
    shardOrStreamHours += mode === 'provisioned' ? t.shards : 1;
    payloadUnits += perHour(t.putPayloadUnits);
    gbIn += perHour(t.roundedBytes) / GB;
    gbOut += (perHour(t.roundedBytes) / GB) * t.readers;
  }
  const k = PRICES.kinesis;
  if (mode === 'provisioned') {
    lines.push({ item: 'Kinesis shard-hours', perHour: shardOrStreamHours * k.provisioned.shardHour });
    lines.push({
      item: 'Kinesis PUT payload units',
      perHour: (payloadUnits / 1e6) * k.provisioned.perMillionPutPayloadUnits,
    });
  } else {
    lines.push({ item: 'Kinesis stream-hours', perHour: shardOrStreamHours * k.onDemand.streamHour });
    lines.push({ item: 'Kinesis data in', perHour: gbIn * k.onDemand.perGbIn });
    lines.push({ item: 'Kinesis data out', perHour: gbOut * k.onDemand.perGbOut });
  }
  return lines;
}

export function estimate(
  job: Job,
  m: Measured,
  mode: 'provisioned' | 'on-demand',
  a: Assumptions = DEFAULT_ASSUMPTIONS,
): Estimate {
  const perHour = (x: number) => (x / m.seconds) * HOUR;
  const memoryGb = a.memoryMb / 1024;
  let invocations = 0;
  let gbSeconds = 0;
  let writeUnits = 0;
  let readUnits = 0;
  let traces = 0;
  for (const stage of m.stages) {
    const io = stage.stateful ? a.ioMsStateful : a.ioMsStateless;
    const ms = stage.invocations * io + stage.cpuMs * a.cpuSlowdown;
    invocations += perHour(stage.invocations);
    gbSeconds += perHour(ms / 1000) * memoryGb;
    writeUnits += perHour(stage.writeUnits);
    readUnits += perHour(stage.readUnits);
    const perSecond = stage.invocations / m.seconds;
    traces += Math.min(perSecond, 1 + a.xraySampleRate * Math.max(0, perSecond - 1)) * HOUR;
  }
  const eddy: CostLine[] = [
    ...kinesisLines(m.streams, m.seconds, mode),
    { item: 'Lambda requests', perHour: (invocations / 1e6) * PRICES.lambda.perMillionRequests },
    { item: 'Lambda GB-seconds (Arm)', perHour: gbSeconds * PRICES.lambda.armPerGbSecond },
    { item: 'DynamoDB write units', perHour: (writeUnits / 1e6) * PRICES.dynamodb.perMillionWriteUnits },
    { item: 'DynamoDB read units', perHour: (readUnits / 1e6) * PRICES.dynamodb.perMillionReadUnits },
    {
      item: 'CloudWatch Logs ingestion',
      perHour: ((invocations * a.logBytesPerInvocation) / GB) * PRICES.cloudwatchLogs.perGbIngested,
    },
    { item: 'X-Ray traces', perHour: (traces / 1e6) * PRICES.xray.perMillionTracesRecorded },
  ];
  // Flink: the job's KPUs (at least one) and the orchestration KPU, and the input stream it reads.
  const jobKpus = Math.max(1, Math.ceil(m.rate / job.flinkEventsPerCore(a)));
  const flink: CostLine[] = [
    ...kinesisLines(m.streams, m.seconds, mode, (name) => name === job.input).map((line) => ({
      ...line,
      item: `${line.item} (input stream)`,
    })),
    { item: `Flink KPU-hours (${jobKpus} + 1 orchestration)`, perHour: (jobKpus + 1) * PRICES.flink.kpuHour },
    { item: 'Flink running storage (50 GB per KPU)', perHour: jobKpus * PRICES.flink.storagePerKpuHour },
  ];
  const millionsPerHour = (m.rate * HOUR) / 1e6;
  const sum = (lines: readonly CostLine[]) => lines.reduce((total, line) => total + line.perHour, 0);
  return {
    job: job.name,
    rate: m.rate,
    kinesisMode: mode,
    eddy,
    flink,
    flinkKpus: jobKpus + 1,
    eddyPerMillion: sum(eddy) / millionsPerHour,
    flinkPerMillion: sum(flink) / millionsPerHour,
  };
}

// ----------------------------------------------------------------------------------------------

export interface CostModelOptions extends BenchOptions {
  readonly rates?: readonly number[];
  /** Source events simulated per job and rate, at most. @default 150000 */
  readonly maxEvents?: number;
  readonly assumptions?: Partial<Assumptions>;
  readonly log?: (line: string) => void;
}

/** The issue's target: Eddy's cost at most a tenth of Managed Flink's at 1k events/s. */
export const TARGET_RATIO_AT_1K = 0.1;

export async function run(options: CostModelOptions = {}): Promise<BenchRow[]> {
  const log = options.log ?? ((line: string) => console.log(line));
  const a: Assumptions = { ...DEFAULT_ASSUMPTIONS, ...options.assumptions };
  const rates = options.rates ?? [1000, 10_000, 100_000];
  const maxEvents = options.maxEvents ?? 150_000;
  const rows: BenchRow[] = [];
  crossCheck(log);
  for (const job of JOBS) {
    for (const rate of rates.filter((r) => job.rates === undefined || job.rates.includes(r))) {
      const m = await measure(job, rate, maxEvents, a);
      describe(m, log);
      const estimates = (['provisioned', 'on-demand'] as const).map((mode) => estimate(job, m, mode, a));
      for (const e of estimates) {
        log(
          `  ${e.kinesisMode}: Eddy ${money(e.eddyPerMillion)}/M events (${e.eddy.map((l) => `${l.item} ${money(l.perHour)}/h`).join(', ')})`,
        );
        log(
          `  ${e.kinesisMode}: Flink ${money(e.flinkPerMillion)}/M events (${e.flink.map((l) => `${l.item} ${money(l.perHour)}/h`).join(', ')})`,
        );
      }
      // Each side with the Kinesis mode that is cheaper for it at this rate.
      const eddy = Math.min(...estimates.map((e) => e.eddyPerMillion));
      const flink = Math.min(...estimates.map((e) => e.flinkPerMillion));
      const ratio = eddy / flink;
      const atTarget = rate === 1000;
      rows.push({
        name: `cost ${job.name} at ${rate.toLocaleString('en-US')} events/s: USD per million events`,
        value: round4(eddy),
        unit: 'USD/M events',
        baseline: 'Managed Flink + its input stream',
        baselineValue: round4(flink),
        ratio: Number(ratio.toFixed(3)),
        ...(atTarget && { target: `<= ${TARGET_RATIO_AT_1K}x Flink`, met: ratio <= TARGET_RATIO_AT_1K }),
      });
    }
  }
  return rows;
}

function describe(m: Measured, log: (line: string) => void): void {
  const perEvent = (x: number) => (x / m.events).toFixed(4);
  log(
    `\n${m.job} at ${m.rate.toLocaleString('en-US')} events/s (${m.events.toLocaleString('en-US')} events, ${m.seconds.toFixed(1)} s simulated):`,
  );
  for (const [name, t] of m.streams) {
    log(
      `  stream ${name}: ${t.shards} shard(s), ${perEvent(t.records)} records/event, ${perEvent(t.bytes)} bytes/event, ` +
        `${perEvent(t.putPayloadUnits)} PUT payload units/event, read by ${t.readers}`,
    );
  }
  for (const s of m.stages) {
    log(
      `  stage ${s.pipeline}/${s.stageId}: ${(s.invocations / m.seconds).toFixed(1)} invocations/s, ` +
        `${(s.events / Math.max(1, s.invocations)).toFixed(0)} records/invocation, ` +
        `${(s.cpuMs / Math.max(1, s.invocations)).toFixed(2)} ms CPU/invocation` +
        (s.stateful
          ? `, ${perEvent(s.writeUnits)} WRU/event, ${perEvent(s.readUnits)} RRU/event, ${perEvent(s.dynamoRequests)} DynamoDB requests/event`
          : ''),
    );
  }
}

/** bench/state-requests.json, when present: the same store's writes per 1,000 events, to compare with. */
function crossCheck(log: (line: string) => void): void {
  try {
    const file = JSON.parse(readFileSync(new URL('./state-requests.json', import.meta.url), 'utf8')) as {
      rows?: { name: string; value: number }[];
    };
    const rows = (file.rows ?? []).filter((r) => /window writes per 1,000 events/.test(r.name));
    if (rows.length > 0) {
      log(
        `bench/state-requests.json (tumbling count, 100 keys): ${rows.map((r) => `${r.name} ${r.value}`).join('; ')}`,
      );
    }
  } catch {
    // Not run yet: nothing to compare with.
  }
}

function money(x: number): string {
  return x >= 1 ? `$${x.toFixed(2)}` : `$${x.toPrecision(3)}`;
}

function round4(x: number): number {
  return Number(x.toPrecision(4));
}

if (isMain(import.meta.url)) {
  const { values } = parseArgs({
    options: { rates: { type: 'string' }, events: { type: 'string' } },
  });
  const rows = await run({
    ...(values.rates !== undefined && { rates: values.rates.split(',').map(Number) }),
    ...(values.events !== undefined && { maxEvents: Number(values.events) }),
  });
  console.log(`\nprices: ${PRICES.region}, ${PRICES.asOf}`);
  console.log(`\n${formatTable(rows)}`);
}
