/**
 * Cost per million events on AWS, us-east-1 list prices, of two pipelines at 10, 100, 1k, 10k and
 * 100k events/s, beside Amazon Managed Service for Apache Flink running the same job with the same
 * Kinesis input and sink streams; with the defaults, with each cost lever alone and with every lever
 * (docs/cost.md explains every line and lever).
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
 * invocations and CPU time per invocation; DynamoDB read and write units; the CloudWatch metrics
 * and operator EMF bytes each stage would publish. Counted per deployment: alarms, the dashboard,
 * KMS data-key requests. What is assumed, with
 * defaults stated in {@link DEFAULT_ASSUMPTIONS}: the I/O wait per invocation (not measurable without
 * AWS), log bytes per invocation, X-Ray sampling, and Flink's per-core throughput (Nexmark).
 *
 * Simulated stream time is short at high rates (150,000 events at most), and the input ends with an
 * end-of-input mark that fires every window: window firing is then spread over fewer events than in
 * a long run, which overstates Eddy's DynamoDB writes per event (the error is on Eddy's side).
 *
 *   npx tsx bench/cost-model.ts [--rates 10,100,1000,10000,100000] [--events 150000]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import pageViewCounts from '../examples/page-view-counts.js';
import type { StreamRole } from '../shared/dag/plan-types.js';
import { tracesByDefault } from '../shared/dag/profile.js';
import type { Pipeline } from '../shared/dsl/pipeline.js';
import { type PipelineOptions, pipeline } from '../shared/index.js';
import { MemoryWindowStore } from '../shared/runtime/io/memory-window-store.js';
import type { RecordWriter, WriteOutcome } from '../shared/runtime/io/record-writer.js';
import { UniformShardDirectory } from '../shared/runtime/io/shard-directory.js';
import {
  type SqsBatchClient,
  SqsDeadLetterSink,
  sqsAttributeBytes,
} from '../shared/runtime/io/sqs-dead-letter-sink.js';
import { OperatorMetricNames, operatorMetricDocuments } from '../shared/runtime/operator-metrics.js';
import type { InputRecord, OutputRecord } from '../shared/runtime/records.js';
import { type BatchReport, StageRunner } from '../shared/runtime/stage-runner.js';
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
  cloudwatch: {
    source:
      'https://aws.amazon.com/cloudwatch/pricing/ (alarms: https://c3x.dev/resources/aws/aws_cloudwatch_metric_alarm)',
    /** A custom metric (name and dimension values), first 10,000 a month; EMF metrics are custom metrics. */
    perMetricMonth: 0.3,
    /** A standard-resolution alarm. */
    perAlarmMonth: 0.1,
    /** A dashboard beyond the account's first three. */
    perDashboardMonth: 3,
  },
  kms: {
    source:
      'https://aws.amazon.com/kms/pricing/, https://docs.aws.amazon.com/streams/latest/dev/costs-performance.html',
    perTenThousandRequests: 0.03,
    /** A customer managed key; `alias/aws/kinesis` (Eddy's default) costs nothing a month. */
    perKeyMonth: 1,
  },
  xray: { source: 'https://aws.amazon.com/xray/pricing/', perMillionTracesRecorded: 5.0 },
  sqs: {
    source: 'https://aws.amazon.com/sqs/pricing/',
    /** Standard queue, after the first million a month; each 64 KB of a message is a request. */
    perMillionRequests: 0.4,
  },
  /** Hours in AWS's billing month. */
  hoursPerMonth: 730,
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
  /**
   * KMS calls per hour for each (execution environment, stream) pair: Kinesis asks KMS for a data key
   * about every five minutes per credential (Kinesis developer guide, "Costs, Regions, and performance").
   */
  readonly kmsRequestsPerKeyUserHour: number;
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
  kmsRequestsPerKeyUserHour: 12,
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
function q5Pipeline(name: string, eventSource?: WindowBatching, options: PipelineOptions = {}): Pipeline {
  return pipeline(name, options)
    .source('bids', { schema: Bid, eventTime: (b) => b.dateTime, maxOutOfOrderness: '1s' })
    .keyBy((b) => String(b.auction), { name: 'by-auction', ...(eventSource && { eventSource }) })
    .window(hopping('10s', '2s'))
    .aggregate(count())
    .keyBy((r) => String(r.windowEnd), { name: 'by-window', ...(eventSource && { eventSource }) })
    .window(tumbling('2s'))
    .aggregate(max((r: { value: number }) => r.value))
    .sink('hot-items');
}

/** Batching of the windowed stages, when the job sets it (the keyBy's `eventSource`). */
interface WindowBatching {
  readonly batchSize: number;
  readonly maxBatchingWindowSeconds: number;
}

/** 10 s batches for the windowed stages: fewer state writes per event, for up to 10 s more latency. */
const BATCHES_10S: WindowBatching = { batchSize: 10_000, maxBatchingWindowSeconds: 10 };
/**
 * examples/page-view-counts.ts with the pipeline options given and its windowed stage batched as
 * given; `lateOutput: false` leaves out its `lateOutput: 'late-clicks'`, as a user who asks for no
 * late stream writes it (its late records then go where `lateRecords` says).
 */
function pageViewCountsWith(
  options: PipelineOptions,
  eventSource?: WindowBatching,
  { lateOutput = true }: { lateOutput?: boolean } = {},
) {
  return pipeline('page-view-counts', options)
    .source('clicks', { schema: Click, eventTime: (c) => c.ts, maxOutOfOrderness: '5s' })
    .filter((c) => c.kind === 'view')
    .keyBy((c) => c.page, eventSource && { eventSource })
    .window(tumbling('1m'), { allowedLateness: '30s', ...(lateOutput && { lateOutput: 'late-clicks' }) })
    .aggregate(count())
    .sink('page-view-counts');
}

/** Late records of unnamed late outputs and dead letters in SQS: no stream for either. */
const LATE_AND_DEAD_LETTERS_IN_SQS: PipelineOptions = { deadLetter: { queue: true }, lateRecords: 'dead-letter' };

export interface Job {
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
  /** The job this one varies (its pipeline options or its windowed stages' batching), when it is a variant. */
  readonly variantOf?: string;
  /** The name of the lever this variant pulls, in the "each lever on its own" rows. */
  readonly lever?: string;
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

/** The rates batching variants are measured at too (at 100k, batches fill by size within a second). */
const LOW_RATES = [10, 100, 1000, 10_000];
/** The rates the shuffle format variants are measured at: where the shuffle's bytes are more than noise. */
const FORMAT_RATES = [1000, 10_000, 100_000];

export const JOBS: readonly Job[] = [
  { name: 'page-view-counts', pipelines: [pageViewCounts], ...PAGE_VIEW_COUNTS },
  { name: 'nexmark-q5', pipelines: [q5Pipeline('q5')], ...Q5 },
  {
    name: 'page-view-counts, windowed stage in 10 s batches',
    pipelines: [pageViewCountsWith({}, BATCHES_10S)],
    ...PAGE_VIEW_COUNTS,
    rates: LOW_RATES,
    variantOf: 'page-view-counts',
    lever: 'windowed stages in 10 s batches',
  },
  {
    name: "page-view-counts, batching: 'cost' (60 s batches)",
    pipelines: [pageViewCountsWith({ batching: 'cost' })],
    ...PAGE_VIEW_COUNTS,
    rates: LOW_RATES,
    variantOf: 'page-view-counts',
    lever: "batching: 'cost'",
  },
  {
    name: 'page-view-counts, late records and dead letters in SQS',
    pipelines: [pageViewCountsWith(LATE_AND_DEAD_LETTERS_IN_SQS, undefined, { lateOutput: false })],
    ...PAGE_VIEW_COUNTS,
    rates: LOW_RATES,
    variantOf: 'page-view-counts',
    lever:
      "late records and dead letters in SQS (lateRecords: 'dead-letter', deadLetter: { queue: true }, no lateOutput named)",
  },
  {
    name: 'page-view-counts, operatorMetrics: false',
    pipelines: [pageViewCountsWith({ operatorMetrics: false })],
    ...PAGE_VIEW_COUNTS,
    rates: LOW_RATES,
    variantOf: 'page-view-counts',
    lever: 'per-operator metrics off (operatorMetrics: false)',
  },
  {
    name: "page-view-counts, profile: 'cost'",
    pipelines: [pageViewCountsWith({ profile: 'cost' }, undefined, { lateOutput: false })],
    ...PAGE_VIEW_COUNTS,
    rates: LOW_RATES,
    variantOf: 'page-view-counts',
    lever: "profile: 'cost' (no lateOutput named)",
  },
  {
    name: "nexmark-q5, profile: 'cost'",
    pipelines: [q5Pipeline('q5', undefined, { profile: 'cost' })],
    ...Q5,
    rates: LOW_RATES,
    variantOf: 'nexmark-q5',
    lever: "profile: 'cost'",
  },
  {
    name: 'nexmark-q5, windowed stages in 10 s batches',
    pipelines: [q5Pipeline('q5', BATCHES_10S)],
    ...Q5,
    rates: LOW_RATES,
    variantOf: 'nexmark-q5',
    lever: 'windowed stages in 10 s batches',
  },
  {
    name: "nexmark-q5, batching: 'cost' (2 s batches)",
    pipelines: [q5Pipeline('q5', undefined, { batching: 'cost' })],
    ...Q5,
    rates: LOW_RATES,
    variantOf: 'nexmark-q5',
    lever: "batching: 'cost'",
  },
  // The lean envelope (docs/shuffle.md, "Formats"): where the shuffle's bytes could show in the bill.
  {
    name: 'page-view-counts, shuffleFormat: 2',
    pipelines: [pageViewCountsWith({ shuffleFormat: 2 })],
    ...PAGE_VIEW_COUNTS,
    rates: FORMAT_RATES,
    variantOf: 'page-view-counts',
    lever: 'shuffleFormat: 2',
  },
  {
    name: 'nexmark-q5, shuffleFormat: 2',
    pipelines: [q5Pipeline('q5', undefined, { shuffleFormat: 2 })],
    ...Q5,
    rates: FORMAT_RATES,
    variantOf: 'nexmark-q5',
    lever: 'shuffleFormat: 2',
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

export interface StreamTraffic {
  records: number;
  bytes: number;
  putPayloadUnits: number;
  /** Bytes with each record rounded up to 1 KB: what on-demand bills in and out. */
  roundedBytes: number;
  /** Stages reading it (each read is billed on on-demand streams). */
  readers: number;
  shards: number;
  /** The stream's role in its plan; the job's input is a source. */
  role: StreamRole;
}

export interface StageUse {
  readonly pipeline: string;
  readonly stageId: string;
  readonly stateful: boolean;
  readonly input: string;
  readonly outputs: readonly string[];
  /** CloudWatch metrics the stage's handler would publish (EMF), by name and dimensions. */
  readonly metrics: Set<string>;
  /** Bytes of the per-operator EMF documents the handler would log, summed over invocations. */
  operatorLogBytes: number;
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
  /** Dead letters sent to an SQS queue (`deadLetter: { queue: true }`). */
  readonly deadLetterMessages: number;
  /**
   * The SQS requests they are billed as: SqsDeadLetterSink's SendMessageBatch calls (up to 10
   * messages and 256 KiB each, per batch), each 64 KiB of a call's payload one request.
   */
  readonly deadLetterRequests: number;
  /**
   * Whether EddyPipeline traces the functions when its `tracing` prop is not given: what the plans'
   * `profile` implies (tracesByDefault).
   */
  readonly tracesByDefault: boolean;
}

/**
 * The metrics and operator EMF documents createLambdaStageHandler publishes for a batch (its
 * `metrics.addMetric` calls and operatorMetricDocuments): each distinct name and dimension set is
 * one CloudWatch custom metric.
 */
function countMetrics(use: StageUse, report: BatchReport, operatorMetrics: boolean): void {
  for (const name of STAGE_METRICS) use.metrics.add(name);
  if (report.late !== undefined) use.metrics.add('RecordsLate');
  if (report.stateRequests !== undefined) use.metrics.add('StateRequests');
  if (report.watermark !== undefined) use.metrics.add('WatermarkLag');
  // The pipeline's `operatorMetrics: false`: the handler publishes the stage metrics only.
  if (!operatorMetrics) return;
  const documents = operatorMetricDocuments(report.operators ?? [], {
    namespace: 'Eddy',
    pipeline: use.pipeline,
    stage: use.stageId,
    timestamp: START,
  });
  for (const document of documents) use.operatorLogBytes += Buffer.byteLength(document) + 1;
  for (const operator of report.operators ?? []) {
    for (const name of Object.values(OperatorMetricNames)) use.metrics.add(`${operator.id}/${name}`);
  }
}

/** The metrics every batch publishes (shared/runtime/lambda-handler.ts). */
const STAGE_METRICS = [
  'RecordsIn',
  'RecordsOut',
  'RecordsFiltered',
  'RecordsDeadLettered',
  'RecordsFailed',
  'PutRecordsRequests',
  'BatchDuration',
];

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

/**
 * Stream time to simulate: the job's, at least 20,000 events' worth at low rates (a few windows), at
 * most 600 s and `maxEvents`.
 */
function simulatedSeconds(job: Job, rate: number, maxEvents: number): number {
  return Math.min(Math.max(job.seconds, 20_000 / rate), 600, maxEvents / rate);
}

async function simulate(job: Job, rate: number, maxEvents: number, shardCounts?: ReadonlyMap<string, number>) {
  const seconds = simulatedSeconds(job, rate, maxEvents);
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
        role: 'source',
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
  const queue = new BilledSqsQueue();
  let inputStream = job.input;
  for (const p of job.pipelines) {
    const plan = p.plan();
    // Every stream of the plan is paid for, written or not (dead letters, late output).
    for (const s of plan.streams) {
      // A pipeline's source is the previous pipeline's sink: it keeps the role it had there.
      if (!(s.role === 'source' && streams.has(s.name))) traffic(s.name).role = s.role;
    }
    const shards = new UniformShardDirectory(new Map(plan.streams.map((s) => [s.name, traffic(s.name).shards])));
    for (const stage of plan.stages) {
      if (stage.input !== inputStream) throw new Error(`${p.name}: stage ${stage.id} does not read ${inputStream}`);
      traffic(stage.input).readers += 1;
      const writer = new CapturingWriter();
      const store = new MemoryWindowStore();
      // Dead letters to a queue are SQS messages, not records of a stream, sent as the Lambda sends them.
      const deadLetters = new SqsDeadLetterSink({ client: queue, queueUrl: `${p.name}-dead-letters` });
      const runner = new StageRunner({
        pipeline: p,
        stageId: stage.id,
        writer,
        shards,
        ...(stage.stateful && { store }),
        ...(plan.deadLetter.kind === 'queue' && { deadLetters }),
      });
      const use: StageUse = {
        pipeline: p.name,
        stageId: stage.id,
        stateful: stage.stateful,
        input: stage.input,
        outputs: stage.outputs,
        metrics: new Set(),
        operatorLogBytes: 0,
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
        countMetrics(use, report, p.graph.options.operatorMetrics !== false);
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
  return {
    job: job.name,
    rate,
    events,
    seconds,
    streams,
    stages,
    deadLetterMessages: queue.messages,
    deadLetterRequests: queue.billedRequests,
    tracesByDefault: job.pipelines.every((p) => tracesByDefault(p.plan())),
  } satisfies Measured;
}

/** SQS bills each 64 KiB of a request's payload as one request (https://aws.amazon.com/sqs/pricing/). */
const SQS_BILLED_CHUNK_BYTES = 64 * 1024;

/**
 * A dead-letter queue that accepts every message and counts what SQS would bill: each
 * SendMessageBatch call is ceil(payload / 64 KiB) requests, its payload the messages' bodies and
 * attributes (names, types, values), as the sink measures them.
 */
export class BilledSqsQueue implements SqsBatchClient {
  messages = 0;
  billedRequests = 0;

  async send(command: Parameters<SqsBatchClient['send']>[0]): ReturnType<SqsBatchClient['send']> {
    const entries = command.input.Entries ?? [];
    const bytes = entries.reduce(
      (sum, entry) =>
        sum + Buffer.byteLength(entry.MessageBody ?? '') + sqsAttributeBytes(entry.MessageAttributes ?? {}),
      0,
    );
    this.messages += entries.length;
    this.billedRequests += Math.max(1, Math.ceil(bytes / SQS_BILLED_CHUNK_BYTES));
    return {
      Successful: entries.map((entry) => ({ Id: entry.Id, MessageId: entry.Id, MD5OfMessageBody: '' })),
      Failed: [],
      $metadata: {},
    };
  }
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

export type KinesisMode = 'provisioned' | 'on-demand';

/**
 * The cost levers (docs/cost.md, "Levers"): each is a way to deploy the same job, priced from the
 * same measurement. {@link DEFAULT_LEVERS} is what a user gets today.
 */
export interface Levers {
  /** Every stream's capacity mode, or per stream the cheaper mode at its measured traffic. */
  readonly streamMode: KinesisMode | 'cheaper per stream';
  /**
   * A shuffle stream whose only writer reads a one-shard stream is left out and its reader fused
   * into the writer: every record of a key already reaches one invocation, in order. Not built: the
   * model prices it.
   */
  readonly noShuffleOnOneShard: boolean;
  /**
   * EddyPipelineProps.tracing: active X-Ray tracing of the functions; undefined for its default,
   * which follows the pipeline's `profile` (Measured.tracesByDefault). The levers that are pipeline
   * options (late records, dead letters, per-operator metrics, batching, `profile`) are not here:
   * they are the jobs' variants, measured with the option set.
   */
  readonly tracing?: boolean;
}

export const DEFAULT_LEVERS: Levers = {
  streamMode: 'provisioned',
  noShuffleOnOneShard: false,
};

/**
 * Every deployment lever pulled: with a variant built with `profile: 'cost'` (which brings the
 * pipeline options' levers and no tracing), the cheapest way this model knows to run the job.
 */
export const ALL_LEVERS: Levers = {
  streamMode: 'cheaper per stream',
  noShuffleOnOneShard: true,
  tracing: false,
};

export interface CostLine {
  readonly item: string;
  /** USD per hour at the rate. */
  readonly perHour: number;
}

export interface Estimate {
  readonly job: string;
  readonly rate: number;
  readonly eddy: readonly CostLine[];
  readonly flink: readonly CostLine[];
  readonly flinkKpus: number;
  readonly eddyPerMillion: number;
  readonly flinkPerMillion: number;
  /** What both sides pay for the job's input and sink streams, USD per hour. */
  readonly sharedStreamsPerHour: number;
  /** Eddy / Flink, each with the shared streams. */
  readonly ratio: number;
  /** Eddy / Flink without the shared streams: Eddy's own streams, functions and state against Flink's KPUs. */
  readonly processingRatio: number;
}

/** One stream's cost per hour in a mode: the hourly part and the part that grows with traffic. */
export function streamCostPerHour(
  t: Pick<StreamTraffic, 'shards' | 'putPayloadUnits' | 'roundedBytes' | 'readers'>,
  seconds: number,
  mode: KinesisMode,
): { hours: number; data: number } {
  const perHour = (x: number) => (x / seconds) * HOUR;
  const k = PRICES.kinesis;
  if (mode === 'provisioned') {
    return {
      hours: t.shards * k.provisioned.shardHour,
      data: (perHour(t.putPayloadUnits) / 1e6) * k.provisioned.perMillionPutPayloadUnits,
    };
  }
  const gbIn = perHour(t.roundedBytes) / GB;
  return {
    hours: k.onDemand.streamHour,
    data: gbIn * k.onDemand.perGbIn + gbIn * t.readers * k.onDemand.perGbOut,
  };
}

/** The mode a stream is deployed in under `choice`: per stream, the cheaper at its traffic. */
export function chooseMode(
  t: Pick<StreamTraffic, 'shards' | 'putPayloadUnits' | 'roundedBytes' | 'readers'>,
  seconds: number,
  choice: Levers['streamMode'],
): KinesisMode {
  if (choice !== 'cheaper per stream') return choice;
  const total = (mode: KinesisMode) => {
    const c = streamCostPerHour(t, seconds, mode);
    return c.hours + c.data;
  };
  return total('on-demand') < total('provisioned') ? 'on-demand' : 'provisioned';
}

function kinesisLines(
  streams: ReadonlyMap<string, StreamTraffic>,
  seconds: number,
  choice: Levers['streamMode'],
  what: string,
): CostLine[] {
  let shards = 0;
  let onDemandStreams = 0;
  let hours = 0;
  let data = 0;
  for (const t of streams.values()) {
    const mode = chooseMode(t, seconds, choice);
    const cost = streamCostPerHour(t, seconds, mode);
    if (mode === 'provisioned') shards += t.shards;
    else onDemandStreams += 1;
    hours += cost.hours;
    data += cost.data;
  }
  const counts = [
    ...(shards > 0 ? [`${shards} shard(s)`] : []),
    ...(onDemandStreams > 0 ? [`${onDemandStreams} on-demand stream(s)`] : []),
  ].join(', ');
  return [
    { item: `Kinesis ${what}: shard/stream-hours (${counts || 'none'})`, perHour: hours },
    { item: `Kinesis ${what}: PUT payload units / data in and out`, perHour: data },
  ];
}

/** The input and sink streams: what Flink reads and writes too. */
function isShared(t: StreamTraffic): boolean {
  return t.role === 'source' || t.role === 'sink';
}

/**
 * The job as deployed with `noShuffleOnOneShard`: every shuffle stream whose one writer reads a
 * one-shard stream is gone, its reader fused into the writer (the two stages' CPU time, state units
 * and metrics together, in the windowed stage's batches). An estimate: the runtime cannot run a
 * window in a source stage today.
 */
export function withoutOneShardShuffles(m: Measured): Measured {
  const streams = new Map(m.streams);
  let stages = [...m.stages];
  for (;;) {
    const fusable = stages.find((writer) =>
      writer.outputs.some((out) => {
        const t = streams.get(out);
        const readers = stages.filter((s) => s.input === out);
        const writers = stages.filter((s) => s.outputs.includes(out));
        return (
          t?.role === 'shuffle' &&
          streams.get(writer.input)?.shards === 1 &&
          readers.length === 1 &&
          writers.length === 1
        );
      }),
    );
    if (fusable === undefined) break;
    const shuffle = fusable.outputs.find(
      (out) => streams.get(out)?.role === 'shuffle' && stages.some((s) => s.input === out),
    ) as string;
    const reader = stages.find((s) => s.input === shuffle) as StageUse;
    const fused: StageUse = {
      ...fusable,
      stageId: `${fusable.stageId}+${reader.stageId}`,
      stateful: fusable.stateful || reader.stateful,
      outputs: [...new Set([...fusable.outputs.filter((o) => o !== shuffle), ...reader.outputs])],
      metrics: new Set([...fusable.metrics, ...reader.metrics]),
      operatorLogBytes: fusable.operatorLogBytes + reader.operatorLogBytes,
      // The fused stage reads with the reader's batching (a windowed stage's, when it has one): its
      // invocations, and the state units measured with that batching.
      invocations: reader.stateful ? reader.invocations : fusable.invocations,
      cpuMs: fusable.cpuMs + reader.cpuMs,
      writeUnits: fusable.writeUnits + reader.writeUnits,
      readUnits: fusable.readUnits + reader.readUnits,
      dynamoRequests: fusable.dynamoRequests + reader.dynamoRequests,
    };
    streams.delete(shuffle);
    stages = stages.filter((s) => s !== reader).map((s) => (s === fusable ? fused : s));
  }
  return { ...m, streams, stages };
}

export function estimate(
  job: Job,
  measured: Measured,
  levers: Levers = DEFAULT_LEVERS,
  a: Assumptions = DEFAULT_ASSUMPTIONS,
): Estimate {
  const m = levers.noShuffleOnOneShard ? withoutOneShardShuffles(measured) : measured;
  const perHour = (x: number) => (x / m.seconds) * HOUR;
  const perMonth = (x: number) => x / PRICES.hoursPerMonth;
  const memoryGb = a.memoryMb / 1024;
  let invocations = 0;
  let gbSeconds = 0;
  let writeUnits = 0;
  let readUnits = 0;
  let traces = 0;
  let logBytes = 0;
  let metrics = 0;
  let kmsRequests = 0;
  for (const stage of m.stages) {
    const io = stage.stateful ? a.ioMsStateful : a.ioMsStateless;
    const ms = stage.invocations * io + stage.cpuMs * a.cpuSlowdown;
    invocations += perHour(stage.invocations);
    gbSeconds += perHour(ms / 1000) * memoryGb;
    writeUnits += perHour(stage.writeUnits);
    readUnits += perHour(stage.readUnits);
    const perSecond = stage.invocations / m.seconds;
    traces += Math.min(perSecond, 1 + a.xraySampleRate * Math.max(0, perSecond - 1)) * HOUR;
    logBytes += perHour(stage.invocations * a.logBytesPerInvocation + stage.operatorLogBytes);
    metrics += stage.metrics.size;
    // One execution environment per input shard, each with its own credentials, each calling KMS
    // for the input's and every output's data key about every five minutes.
    const environments = m.streams.get(stage.input)?.shards ?? 1;
    kmsRequests += environments * (1 + stage.outputs.length) * a.kmsRequestsPerKeyUserHour;
  }
  const tracing = levers.tracing ?? m.tracesByDefault;
  const shared = new Map([...m.streams].filter(([, t]) => isShared(t)));
  const own = new Map([...m.streams].filter(([, t]) => !isShared(t)));
  const sharedLines = kinesisLines(shared, m.seconds, levers.streamMode, 'input and sink');
  const alarms = 2 + 2 * m.stages.length;
  const eddy: CostLine[] = [
    ...sharedLines,
    ...kinesisLines(own, m.seconds, levers.streamMode, 'shuffles, late outputs, dead letters'),
    {
      item: 'KMS requests (alias/aws/kinesis: no key charge)',
      perHour: (kmsRequests / 1e4) * PRICES.kms.perTenThousandRequests,
    },
    { item: 'Lambda requests', perHour: (invocations / 1e6) * PRICES.lambda.perMillionRequests },
    { item: 'Lambda GB-seconds (Arm)', perHour: gbSeconds * PRICES.lambda.armPerGbSecond },
    { item: 'DynamoDB write units', perHour: (writeUnits / 1e6) * PRICES.dynamodb.perMillionWriteUnits },
    { item: 'DynamoDB read units', perHour: (readUnits / 1e6) * PRICES.dynamodb.perMillionReadUnits },
    { item: 'CloudWatch Logs ingestion', perHour: (logBytes / GB) * PRICES.cloudwatchLogs.perGbIngested },
    { item: `CloudWatch custom metrics (${metrics})`, perHour: metrics * perMonth(PRICES.cloudwatch.perMetricMonth) },
    {
      item: `CloudWatch alarms (${alarms}) and dashboard`,
      perHour: alarms * perMonth(PRICES.cloudwatch.perAlarmMonth) + perMonth(PRICES.cloudwatch.perDashboardMonth),
    },
    { item: 'X-Ray traces', perHour: tracing ? (traces / 1e6) * PRICES.xray.perMillionTracesRecorded : 0 },
    {
      item: 'SQS dead letters (SendMessageBatch, up to 10 a request)',
      perHour: (perHour(m.deadLetterRequests) / 1e6) * PRICES.sqs.perMillionRequests,
    },
  ];
  // Flink: the job's KPUs (at least one) and the orchestration KPU, and the same input and sink streams.
  const jobKpus = Math.max(1, Math.ceil(m.rate / job.flinkEventsPerCore(a)));
  const flink: CostLine[] = [
    ...sharedLines,
    { item: `Flink KPU-hours (${jobKpus} + 1 orchestration)`, perHour: (jobKpus + 1) * PRICES.flink.kpuHour },
    { item: 'Flink running storage (50 GB per KPU)', perHour: jobKpus * PRICES.flink.storagePerKpuHour },
  ];
  const millionsPerHour = (m.rate * HOUR) / 1e6;
  const sum = (lines: readonly CostLine[]) => lines.reduce((total, line) => total + line.perHour, 0);
  const sharedStreamsPerHour = sum(sharedLines);
  return {
    job: job.name,
    rate: m.rate,
    eddy,
    flink,
    flinkKpus: jobKpus + 1,
    eddyPerMillion: sum(eddy) / millionsPerHour,
    flinkPerMillion: sum(flink) / millionsPerHour,
    sharedStreamsPerHour,
    ratio: sum(eddy) / sum(flink),
    processingRatio: (sum(eddy) - sharedStreamsPerHour) / (sum(flink) - sharedStreamsPerHour),
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

/** Issue 18's targets, Eddy / Managed Flink by rate: a tenth at 10 and 100 events/s, half at 1k, par at 10k. */
export const TARGET_RATIOS: ReadonlyMap<number, number> = new Map([
  [10, 0.1],
  [100, 0.1],
  [1000, 0.5],
  [10_000, 1],
]);

/** Each lever on its own, from the defaults (the batching levers are the jobs' variants). */
export const SINGLE_LEVERS: readonly { readonly name: string; readonly levers: Levers }[] = [
  { name: 'no shuffle stream behind a one-shard stream', levers: { ...DEFAULT_LEVERS, noShuffleOnOneShard: true } },
  {
    name: 'on-demand or provisioned per stream, by rate',
    levers: { ...DEFAULT_LEVERS, streamMode: 'cheaper per stream' },
  },
  { name: 'X-Ray tracing off (tracing: false)', levers: { ...DEFAULT_LEVERS, tracing: false } },
];

export async function run(options: CostModelOptions = {}): Promise<BenchRow[]> {
  const log = options.log ?? ((line: string) => console.log(line));
  const a: Assumptions = { ...DEFAULT_ASSUMPTIONS, ...options.assumptions };
  const rates = options.rates ?? [10, 100, 1000, 10_000, 100_000];
  const maxEvents = options.maxEvents ?? 150_000;
  const rows: BenchRow[] = [];
  crossCheck(log);
  for (const job of JOBS) {
    for (const rate of rates.filter((r) => job.rates === undefined || job.rates.includes(r))) {
      const m = await measure(job, rate, maxEvents, a);
      describe(m, log);
      const target = TARGET_RATIOS.get(rate);
      const row = (what: string, e: Estimate, withTarget: boolean): BenchRow => ({
        name: `cost ${job.name} at ${rate.toLocaleString('en-US')} events/s, ${what}: USD per million events`,
        value: round4(e.eddyPerMillion),
        unit: 'USD/M events',
        baseline: 'Managed Flink + the same input and sink streams',
        baselineValue: round4(e.flinkPerMillion),
        ratio: Number(e.ratio.toFixed(3)),
        ...(withTarget && target !== undefined && { target: `<= ${target}x Flink`, met: e.ratio <= target }),
      });
      const defaults = estimate(job, m, DEFAULT_LEVERS, a);
      logEstimate('defaults', defaults, log);
      rows.push(
        row(
          job.variantOf === undefined ? 'defaults' : `lever alone: ${job.lever ?? 'the batching'}`,
          defaults,
          job.variantOf === undefined,
        ),
      );
      rows.push(...shuffleTrafficRows(job, rate, m));
      if (job.variantOf === undefined) {
        for (const lever of SINGLE_LEVERS) {
          const e = estimate(job, m, lever.levers, a);
          logEstimate(lever.name, e, log);
          rows.push(row(`lever alone: ${lever.name}`, e, false));
        }
      }
      const all = estimate(job, m, ALL_LEVERS, a);
      // With a variant's options (profile: 'cost'), every lever there is; else the deployment's only.
      logEstimate('every deployment lever (streamMode by rate, no one-shard shuffle, tracing off)', all, log);
      rows.push(row('every deployment lever', all, rate <= 100));
      rows.push({
        name: `cost ${job.name} at ${rate.toLocaleString('en-US')} events/s, every deployment lever: Eddy / Flink without the shared input and sink streams`,
        value: Number(all.processingRatio.toFixed(3)),
        unit: 'ratio',
        baseline: "Flink's KPUs and storage",
      });
    }
  }
  return rows;
}

/** What the shuffle streams carry per source event: bytes and PUT payload units (the format's lever). */
function shuffleTrafficRows(job: Job, rate: number, m: Measured): BenchRow[] {
  const shuffles = [...m.streams.values()].filter((t) => t.role === 'shuffle');
  const sum = (f: (t: StreamTraffic) => number) => shuffles.reduce((total, t) => total + f(t), 0) / m.events;
  const where = `cost ${job.name} at ${rate.toLocaleString('en-US')} events/s, shuffle streams`;
  return [
    { name: `${where}: bytes per source event`, value: Number(sum((t) => t.bytes).toFixed(1)), unit: 'bytes/event' },
    {
      name: `${where}: PUT payload units per 1,000 source events`,
      value: Number((sum((t) => t.putPayloadUnits) * 1000).toFixed(3)),
      unit: 'units',
    },
  ];
}

function logEstimate(what: string, e: Estimate, log: (line: string) => void): void {
  const lines = (side: readonly CostLine[]) =>
    side
      .filter((l) => l.perHour > 0)
      .map((l) => `${l.item} ${money(l.perHour)}/h`)
      .join(', ');
  log(
    `  ${what}: Eddy ${money(e.eddyPerMillion)}/M events, ${e.ratio.toFixed(3)}x Flink ` +
      `(${e.processingRatio.toFixed(3)}x without the shared streams, ${money(e.sharedStreamsPerHour)}/h): ${lines(e.eddy)}`,
  );
  if (what === 'defaults') log(`  Flink ${money(e.flinkPerMillion)}/M events: ${lines(e.flink)}`);
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
