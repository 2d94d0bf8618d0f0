import type { SourceNode } from '../dag/graph.js';
import type { Pipeline } from '../dsl/pipeline.js';
import { type BatchCounts, type ProcessedBatch, processBatch } from './batch-processor.js';
import type { DeadLetterEnvelope } from './dead-letter.js';
import type { RecordWriter } from './io/record-writer.js';
import { type ShardDirectory, UniformShardDirectory } from './io/shard-directory.js';
import type { InputRecord } from './records.js';
import { compileStage, type StageProgram } from './stage-program.js';
import { WatermarkEmitter } from './watermark-emitter.js';
import { END_OF_TIME } from './watermark-records.js';

export interface StageRunnerOptions {
  readonly pipeline: Pipeline;
  readonly stageId: string;
  readonly writer: RecordWriter;
  /** Shards of the streams, for watermark records. @default the plan's shard counts */
  readonly shards?: ShardDirectory;
  readonly now?: () => number;
}

export interface BatchReport extends BatchCounts {
  /** Input records reported back as failed (their outputs could not be written in time). */
  readonly failedRecords: number;
  /** Kinesis PutRecords calls. */
  readonly writeRequests: number;
  /** Records written per logical stream (watermark records included). */
  readonly written: Readonly<Record<string, number>>;
  /** The watermark this batch sent downstream, if any. */
  readonly watermark?: number;
  readonly deadLetters: readonly DeadLetterEnvelope[];
}

export interface BatchResult {
  /** Sequence numbers to return as `batchItemFailures`; Lambda resumes from the lowest. */
  readonly failedSequenceNumbers: readonly string[];
  readonly report: BatchReport;
}

/** Thrown when a stage id is not in the pipeline: a deployment that does not match its pipeline. */
export class UnknownStageError extends Error {
  override readonly name = 'UnknownStageError';
}

/**
 * Runs one stage of a pipeline over batches of input records: applies the operators, writes their
 * outputs and dead letters, and tells which input records must be delivered again. Delivery is at
 * least once: when some outputs of a batch fail to be written, Lambda re-sends the batch from the
 * first affected record, and outputs of later records that had been written are written again.
 */
export class StageRunner {
  readonly program: StageProgram;
  readonly #pipeline: Pipeline;
  readonly #writer: RecordWriter;
  readonly #now: () => number;
  readonly #source: SourceNode | undefined;
  readonly #watermarks: WatermarkEmitter;

  constructor(options: StageRunnerOptions) {
    const plan = options.pipeline.plan();
    const stage = plan.stages.find((candidate) => candidate.id === options.stageId);
    if (stage === undefined) {
      const known = plan.stages.map((candidate) => candidate.id).join(', ');
      throw new UnknownStageError(`pipeline '${plan.pipeline}' has no stage '${options.stageId}' (stages: ${known})`);
    }
    this.program = compileStage(options.pipeline.graph, stage);
    const input = options.pipeline.graph.node(stage.nodes[0] ?? '');
    this.#source = input.kind === 'source' && input.eventTime !== undefined ? input : undefined;
    const shards =
      options.shards ?? new UniformShardDirectory(new Map(plan.streams.map((s) => [s.name, s.shardCount])));
    this.#watermarks = new WatermarkEmitter(plan, stage, shards);
    this.#pipeline = options.pipeline;
    this.#writer = options.writer;
    this.#now = options.now ?? Date.now;
  }

  /** A source's watermark after a batch: the highest event time minus the bound (docs/watermarks.md). */
  #sourceWatermark(processed: ProcessedBatch): number | undefined {
    if (this.#source === undefined) return undefined;
    if (processed.endOfInput) return END_OF_TIME;
    return processed.maxEventTime === undefined ? undefined : processed.maxEventTime - this.#source.maxOutOfOrderness;
  }

  /** @param deadline epoch ms by which the batch must be answered (Lambda's remaining time). */
  async run(records: readonly InputRecord[], deadline: number): Promise<BatchResult> {
    const processed = processBatch(this.program, records, {
      pipeline: this.#pipeline.name,
      deadLetterStream: this.#pipeline.graph.deadLetterStream,
      now: this.#now,
    });
    const data = [...processed.outputs, ...processed.deadLetters];
    let outcome = data.length === 0 ? { failed: [], requests: 0 } : await this.#writer.write(data, deadline);
    const watermark = this.#sourceWatermark(processed);
    const last = records.at(-1);
    let all = data;
    // Only after the data is in: a watermark must never overtake the records it vouches for.
    if (watermark !== undefined && last !== undefined && outcome.failed.length === 0) {
      const marks = await this.#watermarks.records(last.position.shardId, watermark, last.position.sequenceNumber);
      if (marks.length > 0) {
        const sent = await this.#writer.write(marks, deadline);
        outcome = { failed: sent.failed, requests: outcome.requests + sent.requests };
        all = [...data, ...marks];
      }
    }
    const failedOrigins = new Set(outcome.failed.map((record) => record.origin));
    const written: Record<string, number> = {};
    const failed = new Set(outcome.failed);
    for (const record of all) {
      if (!failed.has(record)) written[record.stream] = (written[record.stream] ?? 0) + 1;
    }
    return {
      failedSequenceNumbers: [...failedOrigins],
      report: {
        ...processed.counts,
        failedRecords: failedOrigins.size,
        writeRequests: outcome.requests,
        written,
        deadLetters: processed.failures,
        ...(watermark !== undefined && { watermark }),
      },
    };
  }
}
