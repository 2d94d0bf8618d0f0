import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { PipelinePlan } from '../../shared/dag/plan-types.js';
import { END_OF_TIME } from '../../shared/runtime/watermark-records.js';
import type { ShardLag } from '../event-source-mapping/types.js';
import type { StageStatus } from '../runner/local-pipeline.js';
import type { RecentEvents, RecentReport } from './recent-events.js';

/**
 * The metrics a deployed stage writes as EMF (shared/runtime/lambda-handler.ts, docs/operations.md),
 * for a pipeline running on the local stack, in Prometheus' text format: per-stage counters, the
 * batch duration histogram, the watermark and its lag, and every input shard's consumer lag. Values
 * are read from the running pipeline (LocalPipeline.status()) at each scrape, except batch durations,
 * which are observed as invocations end ({@link LocalMetrics.observeInvocation}).
 */

/** What the exporter reads: a LocalPipeline, or anything that reports the same. */
export interface ObservedPipeline {
  readonly plan: PipelinePlan;
  status(): readonly StageStatus[];
}

/** One input shard of a stage, as `eddy status` shows it. */
export interface ShardStatusReport {
  readonly shardId: string;
  readonly state: string;
  /** Records read and not yet checkpointed. */
  readonly pendingRecords: number;
  /** Age now of the oldest of them, ms (0 when none). */
  readonly iteratorAgeMs: number;
  /** Lambda's IteratorAge of the last invocation, ms; absent while the shard is caught up. */
  readonly lastBatchIteratorAgeMs?: number;
  /** Time behind the newest record in the shard, ms (MillisBehindLatest from the consumer's position): 0 only when caught up. */
  readonly lagMs: number;
  /** The mapping stopped reading: a full batch per lane already waits for the function (read-ahead full). */
  readonly backpressured: boolean;
  readonly recordsDelivered: number;
  /** Failed batches the mapping split (BisectBatchOnFunctionError). */
  readonly bisects: number;
  readonly checkpoint?: string;
}

/** One operator fused in a stage: what it did with the records that reached it, since the start. */
export interface OperatorStatusReport {
  readonly id: string;
  readonly label: string;
  readonly recordsIn: number;
  readonly recordsOut: number;
  readonly filtered: number;
  readonly deadLettered: number;
  readonly late: number;
}

/** The watermark of one input channel of a stage (an upstream `<stage>/<shard>`, or a source shard). */
export interface ChannelWatermarkReport {
  readonly channel: string;
  /** Event time, epoch ms. */
  readonly watermark?: number;
  /** Wall clock − watermark, ms, now; absent once the channel reached the end of time. */
  readonly lagMs?: number;
}

/** One stage, as `eddy status` shows it. */
export interface StageStatusReport {
  readonly id: string;
  readonly input: string;
  readonly stateful: boolean;
  readonly recordsIn: number;
  readonly recordsOut: number;
  readonly filtered: number;
  readonly deadLettered: number;
  readonly failed: number;
  readonly late: number;
  readonly stateRequests: number;
  readonly invocations: number;
  readonly functionErrors: number;
  /** Failed batches the mapping split (BisectBatchOnFunctionError), over the input shards. */
  readonly bisects: number;
  /** The last function error, for diagnosis. */
  readonly lastError?: string;
  /** The stage's watermark, epoch ms; absent for a stage without one (stateless after a shuffle). */
  readonly watermark?: number;
  /** The watermark reached the end of time: a bounded input ended. */
  readonly endOfInput?: boolean;
  /** Wall clock − watermark, ms, now. */
  readonly watermarkLagMs?: number;
  /** The worst of the input shards: age now of the oldest record read and not yet checkpointed, ms. */
  readonly iteratorAgeMs: number;
  /** The highest IteratorAge of any invocation so far, ms. */
  readonly maxIteratorAgeMs: number;
  readonly pendingRecords: number;
  /** Time behind the newest record, ms: the worst of the input shards. */
  readonly lagMs: number;
  /** Some input shard's read-ahead is full: the stage is slower than its input. */
  readonly backpressured: boolean;
  /** Every operator fused in the stage, the input first (StageSpec.nodes order). */
  readonly operators: readonly OperatorStatusReport[];
  /** The watermark per input channel (stages with event time). */
  readonly watermarks: readonly ChannelWatermarkReport[];
  readonly shards: readonly ShardStatusReport[];
}

/** What `GET /status` answers: the pipeline's stages, their lag and their watermarks. */
export interface StatusReport {
  readonly pipeline: string;
  /** When the report was made, epoch ms. */
  readonly now: number;
  /** When the exporter was attached to the running pipeline, epoch ms. */
  readonly startedAt: number;
  /** Where the pipeline's Kinesis is (for producers), when known. */
  readonly kinesisEndpoint?: string;
  readonly stages: readonly StageStatusReport[];
  /** The last dead letters, late records and failed invocations, when the session follows them (eddy dev, eddy run --ui). */
  readonly recent?: RecentReport;
}

/** Batch durations in seconds: 5 ms to 60 s (a function's default timeout). */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

type StageLabels = 'pipeline' | 'stage';
type ShardLabels = 'pipeline' | 'stage' | 'shard';
type OperatorLabels = 'pipeline' | 'stage' | 'operator';
type ChannelLabels = 'pipeline' | 'stage' | 'channel';

export interface LocalMetricsOptions {
  readonly plan: PipelinePlan;
  /** @default Date.now */
  readonly now?: () => number;
  readonly kinesisEndpoint?: string;
  /** Labels of the operators by node id (operatorLabel); the id when absent. */
  readonly operatorLabels?: ReadonlyMap<string, string>;
}

export class LocalMetrics {
  readonly registry = new Registry();
  readonly plan: PipelinePlan;
  #pipeline: ObservedPipeline | undefined;
  #startedAt: number;
  #kinesisEndpoint: string | undefined;
  #recent: RecentEvents | undefined;
  readonly #now: () => number;
  readonly #operatorLabels: ReadonlyMap<string, string>;
  readonly #batchDuration: Histogram<StageLabels>;

  constructor(options: LocalMetricsOptions) {
    this.plan = options.plan;
    this.#now = options.now ?? Date.now;
    this.#startedAt = this.#now();
    this.#kinesisEndpoint = options.kinesisEndpoint;
    this.#operatorLabels = options.operatorLabels ?? new Map();
    const registers = [this.registry];

    const counter = (name: string, help: string, value: (stage: StageStatus) => number | undefined): void => {
      const metric: Counter<StageLabels> = new Counter({
        name,
        help,
        labelNames: ['pipeline', 'stage'],
        registers,
        collect: () => {
          metric.reset();
          for (const stage of this.#stages()) {
            const current = value(stage);
            if (current !== undefined) metric.inc(this.#labels(stage), current);
          }
        },
      });
    };
    const stateful = (stage: StageStatus, value: number) => (stage.stage.stateful ? value : undefined);
    counter('eddy_records_in_total', 'Data records the stage took in (EMF RecordsIn).', (s) => s.stats.recordsIn);
    counter(
      'eddy_records_out_total',
      'Records the stage wrote to sinks and shuffles (EMF RecordsOut).',
      (s) => s.stats.recordsOut,
    );
    counter('eddy_records_filtered_total', 'Records a filter dropped (EMF RecordsFiltered).', (s) => s.stats.filtered);
    counter(
      'eddy_records_dead_lettered_total',
      'Records sent to the dead-letter stream (EMF RecordsDeadLettered).',
      (s) => s.stats.deadLettered,
    );
    counter(
      'eddy_records_failed_total',
      'Input records whose outputs could not be written, delivered again (EMF RecordsFailed).',
      (s) => s.stats.failedRecords,
    );
    counter(
      'eddy_records_late_total',
      'Records too late for every window, sent to the late output (EMF RecordsLate; windowed stages).',
      (s) => stateful(s, s.stats.late),
    );
    counter(
      'eddy_state_requests_total',
      'DynamoDB requests of the state store (EMF StateRequests; windowed stages).',
      (s) => stateful(s, s.stats.stateRequests),
    );
    counter(
      'eddy_invocations_total',
      "Invocations of the stage's function (Lambda Invocations).",
      (s) => s.stats.invocations,
    );
    counter('eddy_function_errors_total', 'Invocations that failed (Lambda Errors).', (s) => s.stats.functionErrors);
    counter(
      'eddy_bisects_total',
      'Failed batches the event source mapping split in two (BisectBatchOnFunctionError).',
      (s) => s.bisects,
    );

    const operatorCounter = (name: string, help: string, value: (operator: OperatorStatusReport) => number): void => {
      const metric: Counter<OperatorLabels> = new Counter({
        name,
        help,
        labelNames: ['pipeline', 'stage', 'operator'],
        registers,
        collect: () => {
          metric.reset();
          for (const stage of this.#stages()) {
            for (const operator of this.#operators(stage)) {
              metric.inc({ ...this.#labels(stage), operator: operator.id }, value(operator));
            }
          }
        },
      });
    };
    operatorCounter(
      'eddy_operator_records_in_total',
      'Elements that reached the operator (EMF OperatorRecordsIn).',
      (o) => o.recordsIn,
    );
    operatorCounter(
      'eddy_operator_records_out_total',
      'Elements the operator passed on or wrote (EMF OperatorRecordsOut).',
      (o) => o.recordsOut,
    );
    operatorCounter(
      'eddy_operator_records_filtered_total',
      'Elements the operator dropped (EMF OperatorRecordsFiltered).',
      (o) => o.filtered,
    );
    operatorCounter(
      'eddy_operator_records_dead_lettered_total',
      'Elements the operator failed on, sent to the dead-letter output (EMF OperatorRecordsDeadLettered).',
      (o) => o.deadLettered,
    );
    operatorCounter(
      'eddy_operator_records_late_total',
      'Records too late for the window or join (EMF OperatorRecordsLate).',
      (o) => o.late,
    );

    this.#batchDuration = new Histogram({
      name: 'eddy_batch_duration_seconds',
      help: "Time of each invocation of the stage's function, failed ones included (EMF BatchDuration).",
      labelNames: ['pipeline', 'stage'],
      buckets: DURATION_BUCKETS,
      registers,
    });
    // Every stage has a histogram from the start, empty until its first invocation.
    for (const stage of this.plan.stages) this.#batchDuration.zero({ pipeline: this.plan.pipeline, stage: stage.id });

    const watermark: Gauge<StageLabels> = new Gauge({
      name: 'eddy_watermark_seconds',
      help: 'The watermark the stage sent downstream or reached, event time in seconds since the epoch (stages with event time).',
      labelNames: ['pipeline', 'stage'],
      registers,
      collect: () => {
        watermark.reset();
        for (const stage of this.#stages()) {
          const value = stage.stats.watermark;
          if (value !== undefined) watermark.set(this.#labels(stage), value / 1000);
        }
      },
    });
    const watermarkLag: Gauge<StageLabels> = new Gauge({
      name: 'eddy_watermark_lag_seconds',
      help: 'Wall clock minus the watermark, now (EMF WatermarkLag); absent once a bounded input ended.',
      labelNames: ['pipeline', 'stage'],
      registers,
      collect: () => {
        watermarkLag.reset();
        const now = this.#now();
        for (const stage of this.#stages()) {
          const lag = watermarkLagMs(stage.stats.watermark, now);
          if (lag !== undefined) watermarkLag.set(this.#labels(stage), lag / 1000);
        }
      },
    });

    const channelWatermarkLag: Gauge<ChannelLabels> = new Gauge({
      name: 'eddy_channel_watermark_lag_seconds',
      help: 'Wall clock minus the watermark of one input channel of the stage, now; absent once the channel ended.',
      labelNames: ['pipeline', 'stage', 'channel'],
      registers,
      collect: () => {
        channelWatermarkLag.reset();
        const now = this.#now();
        for (const stage of this.#stages()) {
          for (const channel of channelReports(stage, now)) {
            if (channel.lagMs !== undefined) {
              channelWatermarkLag.set({ ...this.#labels(stage), channel: channel.channel }, channel.lagMs / 1000);
            }
          }
        }
      },
    });

    const shardGauge = (name: string, help: string, value: (shard: ShardStatusReport) => number | undefined): void => {
      const metric: Gauge<ShardLabels> = new Gauge({
        name,
        help,
        labelNames: ['pipeline', 'stage', 'shard'],
        registers,
        collect: () => {
          metric.reset();
          for (const stage of this.#stages()) {
            for (const shard of shardReports(stage)) {
              const current = value(shard);
              if (current !== undefined) metric.set({ ...this.#labels(stage), shard: shard.shardId }, current);
            }
          }
        },
      });
    };
    shardGauge(
      'eddy_shard_lag_seconds',
      'Consumer lag of an input shard: time behind the newest record in it (MillisBehindLatest); 0 only when caught up.',
      (shard) => shard.lagMs / 1000,
    );
    shardGauge(
      'eddy_shard_read_ahead_full',
      "1 while the shard's mapping holds a full batch per lane and has stopped reading (backpressure), else 0.",
      (shard) => (shard.backpressured ? 1 : 0),
    );
    shardGauge(
      'eddy_shard_iterator_age_seconds',
      'Consumer lag of an input shard: age now of the oldest record read and not yet checkpointed (0 when none).',
      (shard) => shard.iteratorAgeMs / 1000,
    );
    shardGauge(
      'eddy_shard_last_batch_iterator_age_seconds',
      "Lambda's IteratorAge of the shard's last invocation: the age of its batch's last record when invoked; absent while caught up.",
      (shard) => (shard.lastBatchIteratorAgeMs === undefined ? undefined : shard.lastBatchIteratorAgeMs / 1000),
    );
    shardGauge(
      'eddy_shard_pending_records',
      'Records of an input shard read by the event source mapping and not yet checkpointed.',
      (shard) => shard.pendingRecords,
    );
  }

  /** Starts reading the running pipeline. */
  attach(pipeline: ObservedPipeline, options: { kinesisEndpoint?: string; recent?: RecentEvents } = {}): void {
    this.#pipeline = pipeline;
    this.#recent = options.recent;
    this.#startedAt = this.#now();
    if (options.kinesisEndpoint !== undefined) this.#kinesisEndpoint = options.kinesisEndpoint;
  }

  /** Records one invocation's duration (LocalPipelineOptions.onInvocation). */
  readonly observeInvocation = (stageId: string, durationMs: number): void => {
    this.#batchDuration.observe({ pipeline: this.plan.pipeline, stage: stageId }, durationMs / 1000);
  };

  /** The Prometheus text exposition of every metric, read now. */
  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The stages, their counts, lag and watermarks, now. */
  status(): StatusReport {
    const now = this.#now();
    return {
      pipeline: this.plan.pipeline,
      now,
      startedAt: this.#startedAt,
      ...(this.#kinesisEndpoint !== undefined && { kinesisEndpoint: this.#kinesisEndpoint }),
      stages: this.#stages().map((stage) => stageReport(stage, now, this.#operators(stage))),
      ...(this.#recent !== undefined && { recent: this.#recent.report() }),
    };
  }

  #stages(): readonly StageStatus[] {
    return this.#pipeline?.status() ?? [];
  }

  /** Every operator of the stage, counted or not yet. */
  #operators(status: StageStatus): OperatorStatusReport[] {
    const counted = new Map(status.stats.operators.map((count) => [count.id, count]));
    return status.stage.nodes.map((id) => ({
      id,
      label: this.#operatorLabels.get(id) ?? id,
      recordsIn: counted.get(id)?.recordsIn ?? 0,
      recordsOut: counted.get(id)?.recordsOut ?? 0,
      filtered: counted.get(id)?.filtered ?? 0,
      deadLettered: counted.get(id)?.deadLettered ?? 0,
      late: counted.get(id)?.late ?? 0,
    }));
  }

  #labels(stage: StageStatus): Record<StageLabels, string> {
    return { pipeline: this.plan.pipeline, stage: stage.stage.id };
  }
}

/** Wall clock − watermark; none without a watermark or once it reached the end of time. */
function watermarkLagMs(watermark: number | undefined, now: number): number | undefined {
  if (watermark === undefined || watermark >= END_OF_TIME) return undefined;
  return Math.max(0, now - watermark);
}

function channelReports(stage: StageStatus, now: number): ChannelWatermarkReport[] {
  return [...stage.stats.channelWatermarks]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([channel, watermark]) => {
      const lagMs = watermarkLagMs(watermark, now);
      return { channel, watermark, ...(lagMs !== undefined && { lagMs }) };
    });
}

function shardReports(stage: StageStatus): ShardStatusReport[] {
  return stage.mapping.shards.map((shard) => ({
    shardId: shard.shardId,
    state: shard.state,
    pendingRecords: shard.lag.pendingRecords,
    iteratorAgeMs: shard.lag.iteratorAgeMs,
    // Lambda reports IteratorAge per invocation: a caught-up shard has none, not its last value forever.
    ...(shard.lag.lastBatchIteratorAgeMs !== undefined &&
      !caughtUp(shard.lag) && { lastBatchIteratorAgeMs: shard.lag.lastBatchIteratorAgeMs }),
    lagMs: shard.lag.lagMs,
    backpressured: shard.lag.readAheadFull,
    recordsDelivered: shard.recordsDelivered,
    bisects: shard.bisects,
    ...(shard.checkpoint !== undefined && { checkpoint: shard.checkpoint }),
  }));
}

function caughtUp(lag: ShardLag): boolean {
  return lag.lagMs === 0 && lag.pendingRecords === 0;
}

function stageReport(status: StageStatus, now: number, operators: OperatorStatusReport[]): StageStatusReport {
  const { stage, stats, lag } = status;
  const lagMs = watermarkLagMs(stats.watermark, now);
  return {
    id: stage.id,
    input: stage.input,
    stateful: stage.stateful,
    recordsIn: stats.recordsIn,
    recordsOut: stats.recordsOut,
    filtered: stats.filtered,
    deadLettered: stats.deadLettered,
    failed: stats.failedRecords,
    late: stats.late,
    stateRequests: stats.stateRequests,
    invocations: stats.invocations,
    functionErrors: stats.functionErrors,
    bisects: status.bisects,
    ...(stats.lastError !== undefined && { lastError: stats.lastError }),
    ...(stats.watermark !== undefined && { watermark: stats.watermark }),
    ...(stats.watermark !== undefined && stats.watermark >= END_OF_TIME && { endOfInput: true }),
    ...(lagMs !== undefined && { watermarkLagMs: lagMs }),
    iteratorAgeMs: lag.iteratorAgeMs,
    maxIteratorAgeMs: lag.maxIteratorAgeMs,
    pendingRecords: lag.pendingRecords,
    lagMs: lag.lagMs,
    backpressured: lag.backpressuredShards > 0,
    operators,
    watermarks: channelReports(status, now),
    shards: shardReports(status),
  };
}
