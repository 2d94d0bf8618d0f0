import type { Pipeline } from '../dsl/pipeline.js';
import { type BatchCounts, processBatch } from './batch-processor.js';
import type { DeadLetterEnvelope } from './dead-letter.js';
import type { RecordWriter } from './io/record-writer.js';
import type { InputRecord } from './records.js';
import { compileStage, type StageProgram } from './stage-program.js';

export interface StageRunnerOptions {
  readonly pipeline: Pipeline;
  readonly stageId: string;
  readonly writer: RecordWriter;
  readonly now?: () => number;
}

export interface BatchReport extends BatchCounts {
  /** Input records reported back as failed (their outputs could not be written in time). */
  readonly failedRecords: number;
  /** Kinesis PutRecords calls. */
  readonly writeRequests: number;
  /** Records written per logical stream. */
  readonly written: Readonly<Record<string, number>>;
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

  constructor(options: StageRunnerOptions) {
    const plan = options.pipeline.plan();
    const stage = plan.stages.find((candidate) => candidate.id === options.stageId);
    if (stage === undefined) {
      const known = plan.stages.map((candidate) => candidate.id).join(', ');
      throw new UnknownStageError(`pipeline '${plan.pipeline}' has no stage '${options.stageId}' (stages: ${known})`);
    }
    this.program = compileStage(options.pipeline.graph, stage);
    this.#pipeline = options.pipeline;
    this.#writer = options.writer;
    this.#now = options.now ?? Date.now;
  }

  /** @param deadline epoch ms by which the batch must be answered (Lambda's remaining time). */
  async run(records: readonly InputRecord[], deadline: number): Promise<BatchResult> {
    const processed = processBatch(this.program, records, {
      pipeline: this.#pipeline.name,
      deadLetterStream: this.#pipeline.graph.deadLetterStream,
      now: this.#now,
    });
    const all = [...processed.outputs, ...processed.deadLetters];
    const outcome = all.length === 0 ? { failed: [], requests: 0 } : await this.#writer.write(all, deadline);
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
      },
    };
  }
}
