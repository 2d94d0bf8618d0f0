import type { SourceNode, TableDefinition } from '../dag/graph.js';
import type { StageSpec, TableSpec } from '../dag/plan-types.js';
import type { ShuffleFormat } from '../dag/shuffle-format.js';
import { statefulNodeOf } from '../dag/stage-kind.js';
import type { Pipeline } from '../dsl/pipeline.js';
import { RecordProcessingError } from '../operators/record-errors.js';
import { latestUpdates } from '../tables/table-operator.js';
import { type BatchContext, type BatchCounts, deadLetterOf } from './batch-collector.js';
import { type ProcessedBatch, processBatch, type TableRowUpdate } from './batch-processor.js';
import { BatchSender } from './batch-sender.js';
import type { DeadLetterEnvelope } from './dead-letter.js';
import { EVERY_STATEFUL_KIND } from './every-stateful-kind.js';
import { type DeadLetterSink, StreamDeadLetterSink } from './io/dead-letter-sink.js';
import type { RecordWriter } from './io/record-writer.js';
import { type ShardDirectory, UniformShardDirectory } from './io/shard-directory.js';
import type { StateStore } from './io/state-store.js';
import type { TableStore } from './io/table-store.js';
import type { OperatorCount } from './operator-counts.js';
import type { InputRecord } from './records.js';
import { ShuffleOutputs } from './shuffle-outputs.js';
import { compileStage, type StageProgram } from './stage-program.js';
import { type StatefulRunner, type StatefulRunnerFactory, statefulRunnerOf } from './stateful-runner.js';
import { BatchLookups } from './table-lookups.js';
import { WatermarkEmitter } from './watermark-emitter.js';
import { END_OF_TIME } from './watermark-records.js';

export interface StageRunnerOptions {
  readonly pipeline: Pipeline;
  readonly stageId: string;
  readonly writer: RecordWriter;
  /**
   * Where dead letters go. Required when the pipeline sends them to a queue (`SqsDeadLetterSink` in
   * Lambda, the local stack's in-process queue locally).
   * @default the dead-letter stream, through `writer`
   */
  readonly deadLetters?: DeadLetterSink;
  /** Shards of the streams, for watermark records. @default the plan's shard counts */
  readonly shards?: ShardDirectory;
  /** State of stateful stages (windows, joins, process functions); required when the stage keeps state. */
  readonly store?: StateStore;
  /** The tables the stage looks up or keeps (`enrich`, `toTable`); required when it has any. */
  readonly tables?: TableStore;
  readonly now?: () => number;
  /** Largest shuffle pack, in bytes (shuffle-pack.ts). @default Kinesis' 1 MiB record limit */
  readonly maxPackBytes?: number;
  /** The current invocation's X-Ray trace id, written into packs so the next stage's trace names it. */
  readonly traceId?: () => string | undefined;
  /**
   * The format written to shuffle streams, instead of the plan's (`shuffleFormat`): what a stage
   * deployed at another phase of a rollout would write, for tests and benches (docs/shuffle.md).
   * @default the plan's
   */
  readonly shuffleFormat?: ShuffleFormat;
  /**
   * The runner of a stateful stage (window, join, process function), of the kinds this build runs
   * (stateful-runner.ts, statefulRunnerOf). @default every kind with {@link StageRunner}; none with
   * {@link StageRunnerCore}, which then refuses a stateful stage
   */
  readonly stateful?: StatefulRunnerFactory;
}

export interface BatchReport extends BatchCounts {
  /** Input records reported back as failed (their outputs could not be written in time). */
  readonly failedRecords: number;
  /** Kinesis PutRecords calls, and SendMessageBatch calls of a dead-letter queue. */
  readonly writeRequests: number;
  /** Records written per logical stream (watermark records included), and to the dead-letter queue by its name. */
  readonly written: Readonly<Record<string, number>>;
  /**
   * Table writes refused by their version condition, per table (`toDynamoDb`, versioned `toTable`):
   * the table held a newer version (an older record came late) or this very write (a retry's
   * repeat). Not failures: what keeps each key's newest record. Absent when none.
   */
  readonly refusedRows?: Readonly<Record<string, number>>;
  /** The watermark this batch sent downstream, if any. */
  readonly watermark?: number;
  /** Windowed stages: records too late for every window (sent to the late output). */
  readonly late?: number;
  /** Windowed stages: records an earlier attempt had already applied, skipped. */
  readonly duplicates?: number;
  /** X-Ray trace ids of the invocations that wrote this batch's shuffle packs (at most 50). */
  readonly upstreamTraces?: readonly string[];
  /**
   * Watermarks per input channel after the batch, event time in ms: each upstream `<stage>/<shard>`
   * for a stateful stage, the input shard (`<stream>/<shard>`) for a source stage.
   */
  readonly channelWatermarks?: Readonly<Record<string, number>>;
  /** The batch's counts per operator fused in the stage, the input operator first (StageSpec.nodes order). */
  readonly operators?: readonly OperatorCount[];
  /** Windowed stages: DynamoDB requests (reads and writes) the batch made. */
  readonly stateRequests?: number;
  readonly deadLetters: readonly DeadLetterEnvelope[];
}

export interface BatchResult {
  /** Sequence numbers to return as `batchItemFailures`; Lambda resumes from the lowest. */
  readonly failedSequenceNumbers: readonly string[];
  readonly report: BatchReport;
}

/** A stateful batch that must be delivered again as a whole (a function error for Lambda). */
export class StageBatchError extends Error {
  override readonly name: string = 'StageBatchError';
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
 *
 * This class runs the stateful operators it is given (`stateful`) and no other: a Lambda entry point
 * of one stage kind builds on it, so that esbuild leaves the other kinds out of its bundle.
 * {@link StageRunner} runs every kind.
 */
export class StageRunnerCore {
  readonly program: StageProgram;
  readonly #pipeline: Pipeline;
  readonly #deadLetterTo: string;
  readonly #now: () => number;
  readonly #source: SourceNode | undefined;
  readonly #shuffle: ShuffleOutputs;
  readonly #sender: BatchSender;
  /** The runner of a stateful stage (window, join, process function); undefined for a stateless one. */
  readonly #stateful: StatefulRunner | undefined;
  readonly #shards: ShardDirectory;
  readonly #tables: StageTables | undefined;

  constructor(options: StageRunnerOptions) {
    const plan = options.pipeline.plan();
    const stage = plan.stages.find((candidate) => candidate.id === options.stageId);
    if (stage === undefined) {
      const known = plan.stages.map((candidate) => candidate.id).join(', ');
      throw new UnknownStageError(`pipeline '${plan.pipeline}' has no stage '${options.stageId}' (stages: ${known})`);
    }
    this.program = compileStage(options.pipeline.graph, stage);
    const input = options.pipeline.graph.node(stage.nodes[0] ?? '');
    this.#source = input.kind === 'source' ? input : undefined;
    const shards =
      options.shards ?? new UniformShardDirectory(new Map(plan.streams.map((s) => [s.name, s.shardCount])));
    this.#shards = shards;
    this.#shuffle = new ShuffleOutputs(
      plan,
      stage,
      shards,
      new WatermarkEmitter(plan, stage, shards),
      options.maxPackBytes,
      options.traceId,
      options.shuffleFormat ?? plan.shuffleFormat,
    );
    this.#pipeline = options.pipeline;
    this.#tables = stageTables(options.pipeline, stage, options.tables);
    if (plan.deadLetter.kind === 'queue' && options.deadLetters === undefined) {
      throw new Error(
        `pipeline '${plan.pipeline}' sends dead letters to the queue '${plan.deadLetter.name}': give the runner a ` +
          'dead-letter sink (in Lambda, EDDY_DEAD_LETTER_QUEUE_URL names the queue)',
      );
    }
    this.#sender = new BatchSender(
      options.writer,
      options.deadLetters ?? new StreamDeadLetterSink(options.writer),
      plan.deadLetter.name,
      // An output its destination refused for good: dead-lettered against the input it came from.
      (refused, input) => deadLetterOf(this.#context(), stage.id, input, new RecordProcessingError(refused.error)),
    );
    this.#deadLetterTo = plan.deadLetter.name;
    this.#now = options.now ?? Date.now;
    this.#stateful = (options.stateful ?? statelessOnly)({
      pipeline: options.pipeline,
      program: this.program,
      store: options.store,
      shards,
      shuffle: this.#shuffle,
      sender: this.#sender,
      context: this.#context(),
      now: this.#now,
    });
  }

  #context(): BatchContext {
    return { pipeline: this.#pipeline.name, deadLetterStream: this.#deadLetterTo, now: this.#now };
  }

  /** A source's watermark after a batch: the highest event time minus the bound (docs/watermarks.md). */
  #sourceWatermark(processed: ProcessedBatch): number | undefined {
    if (this.#source === undefined) return undefined;
    // Even without event time: the end of a bounded input also closes processing-time windows.
    if (processed.endOfInput) return END_OF_TIME;
    if (this.#source.eventTime === undefined || processed.maxEventTime === undefined) return undefined;
    return processed.maxEventTime - this.#source.maxOutOfOrderness;
  }

  /** @param deadline epoch ms by which the batch must be answered (Lambda's remaining time). */
  async run(records: readonly InputRecord[], deadline: number): Promise<BatchResult> {
    if (this.#stateful !== undefined) return this.#stateful.run(records, deadline);
    const requestsBefore = this.#tables?.store.counter.snapshot().requests;
    const processed = await this.#process(records);
    const watermark = this.#sourceWatermark(processed);
    const last = records.at(-1);
    // A watermark rides at the end of its channel's packs: it never overtakes the data it vouches for.
    const toWrite =
      last === undefined
        ? []
        : await this.#shuffle.prepare(
            processed.outputs,
            last.position.shardId,
            watermark,
            last.position.sequenceNumber,
            true,
          );
    // Dead letters that could not be sent fail their input records as unwritten outputs do.
    const [outcome, rows] = await Promise.all([
      this.#sender.send(toWrite, processed.letters, deadline, records),
      this.#writeRows(processed.rowUpdates),
    ]);
    // Packs that landed in another shard than listed: the list was stale. They are reported failed,
    // so Lambda delivers their records again, packed over a fresh list; their consumer drops them.
    for (const stream of outcome.misrouted) this.#shards.invalidate?.(stream);
    const failedOrigins = new Set([...outcome.failed, ...rows.unwritten].map((record) => record.origin));
    const written = outcome.written;
    const unwritten = new Set(rows.unwritten);
    for (const update of processed.rowUpdates) {
      if (!unwritten.has(update)) written[`table:${update.table}`] = (written[`table:${update.table}`] ?? 0) + 1;
    }
    return {
      failedSequenceNumbers: [...failedOrigins],
      report: {
        ...upstreamTracesOf(processed),
        ...processed.counts,
        operators: processed.operators,
        failedRecords: failedOrigins.size,
        writeRequests: outcome.requests,
        written,
        ...(Object.keys(rows.refused).length > 0 && { refusedRows: rows.refused }),
        deadLetters: processed.failures,
        ...(watermark !== undefined && { watermark }),
        ...(watermark !== undefined &&
          last !== undefined && {
            channelWatermarks: { [`${this.program.stage.input}/${last.position.shardId}`]: watermark },
          }),
        ...(requestsBefore !== undefined && {
          stateRequests: (this.#tables?.store.counter.snapshot().requests ?? 0) - requestsBefore,
        }),
      },
    };
  }

  /**
   * Runs the batch through the operators; with lookups, once more after each round of fetches, until
   * every row it asks for is there: one round per enrichment that depends on another, at most.
   */
  async #process(records: readonly InputRecord[]): Promise<ProcessedBatch> {
    const context = this.#context();
    const tables = this.#tables;
    if (tables === undefined || tables.reads.size === 0) return processBatch(this.program, records, context);
    const lookups = new BatchLookups(tables.reads);
    for (let round = 0; ; round += 1) {
      const processed = processBatch(this.program, records, { ...context, lookups });
      if (!lookups.hasPending) return processed;
      if (round > tables.enrichments) throw new Error(`stage ${this.program.stage.id}: lookups did not settle`);
      await lookups.fetch(tables.store);
    }
  }

  /**
   * Writes the batch's table updates, one per key per table; resolves with the ones not written, and
   * per table the updates refused because the table held a newer (or the same) version.
   */
  async #writeRows(
    updates: readonly TableRowUpdate[],
  ): Promise<{ unwritten: TableRowUpdate[]; refused: Record<string, number> }> {
    const tables = this.#tables;
    const refused: Record<string, number> = {};
    if (updates.length === 0 || tables === undefined) return { unwritten: [], refused };
    const byTable = new Map<string, TableRowUpdate[]>();
    for (const update of updates) {
      const list = byTable.get(update.table);
      if (list === undefined) byTable.set(update.table, [update]);
      else list.push(update);
    }
    const outcomes = await Promise.all(
      [...byTable].map(async ([name, tableUpdates]) => {
        const spec = tables.writes.get(name);
        if (spec === undefined) throw new Error(`table '${name}' is not kept by stage ${this.program.stage.id}`);
        const latest = latestUpdates(tableUpdates);
        const result = await tables.store.putRows(spec, latest);
        if (result.refused > 0) refused[name] = (refused[name] ?? 0) + result.refused;
        const failed = result.failed;
        // A failed update stands for the updates of its key that it superseded: they are retried with it.
        const failedKeys = new Set(failed.map((update) => update.key));
        return tableUpdates.filter((update) => failedKeys.has(update.key));
      }),
    );
    return { unwritten: outcomes.flat(), refused };
  }
}

/** A {@link StageRunnerCore} that runs every stateful kind unless given `stateful`: what tests and the local stack use. */
export class StageRunner extends StageRunnerCore {
  constructor(options: StageRunnerOptions) {
    super({ ...options, stateful: options.stateful ?? statefulRunnerOf(EVERY_STATEFUL_KIND) });
  }
}

/** The stateful runner of a build with no stateful operator: a stage that keeps state is refused at init. */
const statelessOnly: StatefulRunnerFactory = ({ pipeline, program }) => {
  const stateful = statefulNodeOf(pipeline.graph, program.stage);
  if (stateful === undefined) return undefined;
  throw new Error(
    `stage ${program.stage.id} keeps state for its ${stateful.kind} '${stateful.node.name}', and this function was ` +
      'built for stages that keep none (functions/stateless-stage-handler.ts): deploy it with the entry point ' +
      'infra picks for the stage (handlerEntryOf)',
  );
};

/** The tables one stage reads and writes, with the store that holds them. */
interface StageTables {
  readonly store: TableStore;
  readonly reads: Map<string, { readonly spec: TableSpec; readonly definition: TableDefinition }>;
  readonly writes: Map<string, TableSpec>;
  /** Enrichments in the stage: bounds the rounds of lookups a batch can need. */
  readonly enrichments: number;
}

function stageTables(pipeline: Pipeline, stage: StageSpec, store: TableStore | undefined): StageTables | undefined {
  if (stage.tables === undefined) return undefined;
  if (store === undefined) throw new Error(`stage ${stage.id} uses tables: give the runner a table store`);
  const specs = new Map((pipeline.plan().tables ?? []).map((table) => [table.name, table]));
  const specOf = (name: string): TableSpec => {
    const spec = specs.get(name);
    if (spec === undefined) throw new Error(`stage ${stage.id} uses table '${name}', which the plan does not have`);
    return spec;
  };
  return {
    store,
    reads: new Map(
      stage.tables.reads.map((name) => [name, { spec: specOf(name), definition: pipeline.graph.table(name) }]),
    ),
    writes: new Map(stage.tables.writes.map((name) => [name, specOf(name)])),
    enrichments: stage.nodes.filter((name) => pipeline.graph.node(name).kind === 'enrich').length,
  };
}

function upstreamTracesOf(processed: ProcessedBatch): { upstreamTraces?: readonly string[] } {
  return processed.upstreamTraces.length > 0 ? { upstreamTraces: processed.upstreamTraces } : {};
}
