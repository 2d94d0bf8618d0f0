import type { SourceNode, TableDefinition } from '../dag/graph.js';
import type { StageSpec, TableSpec } from '../dag/plan-types.js';
import type { Pipeline } from '../dsl/pipeline.js';
import { joinWatermarkHoldBack } from '../joins/join-operator.js';
import { RecordProcessingError } from '../operators/record-errors.js';
import { latestUpdates } from '../tables/table-operator.js';
import { backoffDelay, sleep } from '../util/backoff.js';
import {
  type BatchCounts,
  deadLetterOf,
  type ProcessedBatch,
  processBatch,
  type TableRowUpdate,
} from './batch-processor.js';
import type { ChannelWatermarks } from './channel-watermarks.js';
import type { DeadLetterEnvelope } from './dead-letter.js';
import type { Decoded } from './decode.js';
import { type DeadLetter, type DeadLetterSink, StreamDeadLetterSink } from './io/dead-letter-sink.js';
import type { JoinStore } from './io/join-store.js';
import type { RecordWriter, WriteOutcome } from './io/record-writer.js';
import { type ShardDirectory, UniformShardDirectory } from './io/shard-directory.js';
import { StateConflictError, WatermarkConflictError } from './io/state-errors.js';
import type { StateStore, WindowChange, WindowStore } from './io/state-store.js';
import type { TableStore } from './io/table-store.js';
import { JoinStage, joinSpecOf } from './join-stage.js';
import { type OperatorCount, OperatorTally, Slot } from './operator-counts.js';
import { ProcessStage } from './process-stage.js';
import type { InputRecord, OutputRecord } from './records.js';
import { ShuffleOutputs } from './shuffle-outputs.js';
import type { AppliedPositions } from './shuffle-pack.js';
import { compileChildren, compileStage, type StageProgram } from './stage-program.js';
import type { StatefulBatchSink } from './stateful-batch.js';
import { BatchLookups } from './table-lookups.js';
import { UpstreamTraces } from './upstream-traces.js';
import { WatermarkEmitter } from './watermark-emitter.js';
import { END_OF_TIME } from './watermark-records.js';
import { WindowStage } from './window-stage.js';

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
}

export interface BatchReport extends BatchCounts {
  /** Input records reported back as failed (their outputs could not be written in time). */
  readonly failedRecords: number;
  /** Kinesis PutRecords calls, and SendMessageBatch calls of a dead-letter queue. */
  readonly writeRequests: number;
  /** Records written per logical stream (watermark records included), and to the dead-letter queue by its name. */
  readonly written: Readonly<Record<string, number>>;
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

/** How many times a stateful batch is run again, in the same invocation, after a state conflict. */
const CONFLICT_RETRIES = 3;

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
  readonly #deadLetters: DeadLetterSink;
  readonly #deadLetterTo: string;
  readonly #now: () => number;
  readonly #source: SourceNode | undefined;
  readonly #shuffle: ShuffleOutputs;
  readonly #stateful: StatefulOperator | undefined;
  readonly #store: StateStore | undefined;
  readonly #lateOutput: string = '';
  /** The window, join or process node of a stateful stage. */
  readonly #statefulNode: string | undefined;
  /**
   * How far the watermark a stateful stage forwards trails its input's, so that no result it emits
   * later is late for the stage after it. A window fires when the watermark passes its end plus the
   * allowed lateness, its result at the window's end: held back by that lateness. A join: by
   * joinWatermarkHoldBack. A process function emits at the record's time (a record that is not late
   * is past the watermark) or at a timer's (past the watermark until it fires): not held back.
   */
  #watermarkHoldBack = 0;
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
    );
    this.#pipeline = options.pipeline;
    const window = options.pipeline.graph
      .children(input.name)
      .find((node) => node.kind === 'window' || node.kind === 'process');
    if (stage.stateful && options.store === undefined) {
      throw new Error(`stage ${stage.id} keeps state: give the runner a state store`);
    }
    const store = options.store as StateStore;
    const producers = plan.streams.find((s) => s.name === stage.input)?.producers ?? [];
    if (stage.stateful && window?.kind === 'window') {
      this.#store = store;
      this.#stateful = windowOperator(
        new WindowStage({
          shards,
          stage,
          window,
          store,
          downstream: compileChildren(options.pipeline.graph, window.name, this.program.operators),
          now: options.now ?? Date.now,
          producers,
        }),
        store,
      );
      this.#lateOutput = window.lateOutput;
      this.#watermarkHoldBack = window.allowedLateness;
      this.#statefulNode = window.name;
    } else if (stage.stateful && window?.kind === 'process') {
      this.#store = store;
      this.#statefulNode = window.name;
      this.#stateful = processOperator(
        new ProcessStage({
          stage,
          node: window,
          store,
          downstream: compileChildren(options.pipeline.graph, window.name, this.program.operators),
          now: options.now ?? Date.now,
          producers,
        }),
        store,
      );
    } else if (input.kind === 'join') {
      this.#store = store;
      this.#stateful = joinOperator(
        new JoinStage({
          stage,
          join: input,
          watermarks: store,
          buffers: store,
          downstream: compileChildren(options.pipeline.graph, input.name, this.program.operators),
          producers,
        }),
        store,
        stage.id,
      );
      this.#lateOutput = input.lateOutput;
      this.#watermarkHoldBack = joinWatermarkHoldBack(joinSpecOf(input));
      this.#statefulNode = input.name;
    }
    this.#tables = stageTables(options.pipeline, stage, options.tables);
    this.#writer = options.writer;
    if (plan.deadLetter.kind === 'queue' && options.deadLetters === undefined) {
      throw new Error(
        `pipeline '${plan.pipeline}' sends dead letters to the queue '${plan.deadLetter.name}': give the runner a ` +
          'dead-letter sink (in Lambda, EDDY_DEAD_LETTER_QUEUE_URL names the queue)',
      );
    }
    this.#deadLetters = options.deadLetters ?? new StreamDeadLetterSink(options.writer);
    this.#deadLetterTo = plan.deadLetter.name;
    this.#now = options.now ?? Date.now;
  }

  /** The batch's outputs and its dead letters, each through its own door, at once. */
  async #send(
    outputs: readonly OutputRecord[],
    letters: readonly DeadLetter[],
    deadline: number,
  ): Promise<{
    failed: OutputRecord[];
    requests: number;
    misrouted: readonly string[];
    written: Record<string, number>;
  }> {
    const nothing: WriteOutcome = { failed: [], requests: 0 };
    const [outcome, sent] = await Promise.all([
      outputs.length === 0 ? nothing : this.#writer.write(outputs, deadline),
      this.#deadLetters.send(letters, deadline),
    ]);
    const failed = new Set(outcome.failed);
    const written = countByStream(outputs.filter((record) => !failed.has(record)));
    const delivered = letters.length - sent.failed.length;
    if (delivered > 0) written[this.#deadLetterTo] = (written[this.#deadLetterTo] ?? 0) + delivered;
    return {
      failed: [...outcome.failed, ...sent.failed.map((letter) => letter.output)],
      requests: outcome.requests + sent.requests,
      misrouted: outcome.misrouted ?? [],
      written,
    };
  }

  /**
   * A stateful batch (window, join or process function) is all or nothing: outputs first, then state, then the channel watermarks. Any
   * failure throws, so Lambda delivers the whole batch again, and the fences in the state skip what
   * the failed attempt had already applied; a crash after the outputs repeats results (same ids),
   * never loses them.
   */
  /**
   * Optimistic concurrency with bounded retries: after a version conflict the batch is run again on
   * fresh state (the fences skip what any attempt applied), a few times, then left to Lambda's retry.
   */
  async #runStateful(
    operator: StatefulOperator,
    records: readonly InputRecord[],
    deadline: number,
  ): Promise<BatchResult> {
    for (let attempt = 0; ; attempt += 1) {
      try {
        return await this.#runStatefulOnce(operator, records, deadline);
      } catch (error) {
        const conflict = error instanceof StateConflictError || error instanceof WatermarkConflictError;
        const delay = backoffDelay(attempt, { baseMs: 20, capMs: 500 });
        if (!conflict || attempt + 1 >= CONFLICT_RETRIES || Date.now() + delay >= deadline) throw error;
        await sleep(delay);
      }
    }
  }

  async #runStatefulOnce(
    operator: StatefulOperator,
    records: readonly InputRecord[],
    deadline: number,
  ): Promise<BatchResult> {
    const store = this.#store as StateStore;
    const context = {
      pipeline: this.#pipeline.name,
      deadLetterStream: this.#deadLetterTo,
      now: this.#now,
    };
    const outputs: OutputRecord[] = [];
    const deadLetters: DeadLetterEnvelope[] = [];
    const letters: DeadLetter[] = [];
    const counts = { recordsIn: 0, recordsOut: 0, filtered: 0, deadLettered: 0 };
    const traces = new UpstreamTraces();
    const tally = new OperatorTally(this.program.stage.nodes);
    let undecodable = 0;
    const decoded = records.map((record) => {
      try {
        const items = this.program.decode(record);
        for (const item of items) {
          if (item.kind === 'data' || item.kind === 'invalid') counts.recordsIn += 1;
          if (item.kind === 'invalid') undecodable += 1;
        }
        traces.addAll(items);
        return items;
      } catch (error) {
        if (!(error instanceof RecordProcessingError)) throw error;
        counts.recordsIn += 1;
        undecodable += 1;
        return error;
      }
    });
    const writesBefore = store.counter.snapshot();
    const batch = await operator.process(records, decoded, {
      output: (emitted, origin) => {
        outputs.push({ ...emitted, origin: origin.position.sequenceNumber });
        counts.recordsOut += 1;
      },
      filtered: () => {
        counts.filtered += 1;
      },
      late: (record, late) => {
        outputs.push({
          stream: this.#lateOutput,
          partitionKey: late.key,
          data: JSON.stringify(late),
          origin: record.position.sequenceNumber,
        });
      },
      deadLetter: (record, error, correlationId) => {
        const letter = deadLetterOf(context, this.program.stage.id, record, error, correlationId);
        deadLetters.push(letter.envelope);
        letters.push(letter);
        counts.deadLettered += 1;
      },
      tally,
    });
    const shardId = (records[0] as InputRecord).position.shardId;
    const last = records.at(-1) as InputRecord;
    // The stage's watermark travels in its packs, after the results it vouches for.
    const toWrite = await this.#shuffle.prepare(
      outputs,
      shardId,
      Number.isFinite(batch.watermark) ? forwardedWatermark(batch.watermark, this.#watermarkHoldBack) : undefined,
      last.position.sequenceNumber,
      false,
    );
    const sent = await this.#send(toWrite, letters, deadline);
    const requests = sent.requests;
    for (const stream of sent.misrouted) this.#shards.invalidate?.(stream);
    if (sent.failed.length > 0) {
      throw new StageBatchError(
        `${sent.failed.length} output records or dead letters could not be written; the batch will be retried`,
      );
    }
    await batch.commit();
    const channels = batch.channels.toRecord();
    const channelWatermarks = Object.fromEntries(Object.entries(channels).filter(([name]) => !name.startsWith('#')));
    const positions = batch.positions.toRecord();
    if (Object.keys(channels).length > 0 || Object.keys(positions).length > 0) {
      await store.saveWatermarks(this.program.stage.id, shardId, channels, batch.channelsVersion, positions);
    }
    const written = sent.written;
    const writesAfter = store.counter.snapshot();
    return {
      failedSequenceNumbers: [],
      report: {
        ...traces.report(),
        ...counts,
        failedRecords: 0,
        writeRequests: requests,
        written,
        deadLetters,
        ...(Number.isFinite(batch.watermark) && { watermark: batch.watermark }),
        late: batch.counts.late,
        duplicates: batch.counts.duplicates + batch.counts.repeats,
        channelWatermarks,
        operators: this.#statefulCounts(tally, {
          recordsIn: counts.recordsIn,
          undecodable,
          deadLettered: counts.deadLettered,
          late: batch.counts.late,
        }),
        stateRequests: writesAfter.requests - writesBefore.requests,
      },
    };
  }

  /**
   * A stateful batch's counts per operator. The operators after the window (or join, or process
   * function) counted themselves in the tally; the input and the stateful operator are counted from
   * the batch: what the input decoded, what the stateful operator passed on (what its first operator
   * after took in), its late records, and the dead letters nobody else counted (its own failures).
   */
  #statefulCounts(
    tally: OperatorTally,
    batch: { recordsIn: number; undecodable: number; deadLettered: number; late: number },
  ): OperatorCount[] {
    const { nodes } = this.program.stage;
    const statefulAt = this.#statefulNode === undefined ? -1 : nodes.indexOf(this.#statefulNode);
    tally.add(0, Slot.in, batch.recordsIn);
    tally.add(0, Slot.deadLettered, batch.undecodable);
    if (statefulAt > 0) {
      tally.add(0, Slot.out, batch.recordsIn - batch.undecodable);
      tally.add(statefulAt, Slot.in, batch.recordsIn - batch.undecodable);
    }
    const after = nodes.slice(statefulAt + 1).map((_, offset) => statefulAt + 1 + offset);
    const firstAfter = this.#pipeline.graph.children(nodes[statefulAt] ?? '')[0]?.name;
    const firstAfterAt = firstAfter === undefined ? -1 : nodes.indexOf(firstAfter);
    if (firstAfterAt >= 0) tally.add(statefulAt, Slot.out, tally.get(firstAfterAt, Slot.in));
    const deadAfter = after.reduce((sum, index) => sum + tally.get(index, Slot.deadLettered), 0);
    tally.add(statefulAt, Slot.late, batch.late);
    tally.add(statefulAt, Slot.deadLettered, batch.deadLettered - batch.undecodable - deadAfter);
    return tally.counts();
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
    if (this.#stateful !== undefined) return this.#runStateful(this.#stateful, records, deadline);
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
    const [outcome, unwrittenRows] = await Promise.all([
      this.#send(toWrite, processed.letters, deadline),
      this.#writeRows(processed.rowUpdates),
    ]);
    // Packs that landed in another shard than listed: the list was stale. They are reported failed,
    // so Lambda delivers their records again, packed over a fresh list; their consumer drops them.
    for (const stream of outcome.misrouted) this.#shards.invalidate?.(stream);
    const failedOrigins = new Set([...outcome.failed, ...unwrittenRows].map((record) => record.origin));
    const written = outcome.written;
    const unwritten = new Set(unwrittenRows);
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
    const context = { pipeline: this.#pipeline.name, deadLetterStream: this.#deadLetterTo, now: this.#now };
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

  /** Writes the batch's table updates, one per key per table; resolves with the ones not written. */
  async #writeRows(updates: readonly TableRowUpdate[]): Promise<TableRowUpdate[]> {
    const tables = this.#tables;
    if (updates.length === 0 || tables === undefined) return [];
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
        const { failed } = await tables.store.putRows(spec, latest);
        // A failed update stands for the updates of its key that it superseded: they are retried with it.
        const failedKeys = new Set(failed.map((update) => update.key));
        return tableUpdates.filter((update) => failedKeys.has(update.key));
      }),
    );
    return outcomes.flat();
  }
}

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

/** The end of input stays the end of input: a bounded run closes every window downstream. */
function forwardedWatermark(watermark: number, holdBack: number): number {
  return watermark >= END_OF_TIME ? watermark : watermark - holdBack;
}

/** Records per logical stream. */
function countByStream(records: readonly OutputRecord[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const record of records) counts[record.stream] = (counts[record.stream] ?? 0) + 1;
  return counts;
}

/** What the runner needs of a stateful operator's batch, whatever the operator (window, join, process function). */
interface StatefulOutcome {
  readonly watermark: number;
  readonly channels: ChannelWatermarks;
  readonly positions: AppliedPositions;
  readonly channelsVersion: number;
  readonly counts: { readonly late: number; readonly duplicates: number; readonly repeats: number };
  /** Writes the batch's state, after its outputs; throws StateConflictError on a version conflict. */
  commit(): Promise<void>;
}

interface StatefulOperator {
  process(
    records: readonly InputRecord[],
    decoded: readonly (readonly Decoded[] | RecordProcessingError)[],
    sink: StatefulBatchSink,
  ): Promise<StatefulOutcome>;
}

function windowOperator(stage: WindowStage, store: Pick<WindowStore, 'commitAll'>): StatefulOperator {
  return {
    process: async (records, decoded, sink) => {
      const batch = await stage.process(records, decoded, sink);
      // Puts before deletes: a crash in a session merge leaves a leftover, never a loss.
      return { ...batch, commit: () => commitInOrder(store, [batch.changes, batch.deletes]) };
    },
  };
}

/** A process function's batch: one conditional put per key touched or fired. */
function processOperator(stage: ProcessStage, store: Pick<WindowStore, 'commitAll'>): StatefulOperator {
  return {
    process: async (records, decoded, sink) => {
      const batch = await stage.process(records, decoded, sink);
      return {
        ...batch,
        counts: { ...batch.counts, repeats: batch.repeats },
        commit: () => commitInOrder(store, [batch.changes]),
      };
    },
  };
}

/** Writes groups of conditional changes one group after the other; a version conflict throws. */
async function commitInOrder(store: Pick<WindowStore, 'commitAll'>, groups: readonly WindowChange[][]): Promise<void> {
  for (const changes of groups) {
    if (changes.length === 0) continue;
    const [first, ...others] = (await store.commitAll(changes)).conflicts;
    // Another attempt of this shard's batch wrote the items (after a timeout): run again on fresh state.
    if (first !== undefined) throw new StateConflictError([first, ...others]);
  }
}

function joinOperator(stage: JoinStage, store: Pick<JoinStore, 'writeBuffered'>, stageId: string): StatefulOperator {
  return {
    process: async (records, decoded, sink) => {
      const batch = await stage.process(records, decoded, sink);
      return {
        ...batch,
        counts: { late: batch.counts.late, duplicates: batch.counts.duplicates, repeats: batch.repeats },
        commit: () => store.writeBuffered(stageId, batch.puts, []),
      };
    },
  };
}
