import { type StatefulKind, type StatefulNodeOf, statefulNodeOf } from '../dag/stage-kind.js';
import type { Pipeline } from '../dsl/pipeline.js';
import type { RecordProcessingError } from '../operators/record-errors.js';
import { backoffDelay, sleep } from '../util/backoff.js';
import type { AppliedPositions } from './applied-positions.js';
import { BatchCollector, type BatchContext } from './batch-collector.js';
import type { BatchSender } from './batch-sender.js';
import type { ChannelWatermarks } from './channel-watermarks.js';
import type { Decoded } from './decode.js';
import type { ShardDirectory } from './io/shard-directory.js';
import { StateConflictError, WatermarkConflictError } from './io/state-errors.js';
import type { StateStore, WindowChange, WindowStore } from './io/state-store.js';
import { lateRecordError } from './late-dead-letter.js';
import { type OperatorCount, Slot } from './operator-counts.js';
import type { InputRecord } from './records.js';
import type { ShuffleOutputs } from './shuffle-outputs.js';
import type { StageProgram } from './stage-program.js';
import type { BatchResult } from './stage-runner.js';
import { StageBatchError } from './stage-runner.js';
import type { StatefulBatchSink } from './stateful-batch.js';
import { END_OF_TIME } from './watermark-records.js';

/** How many times a stateful batch is run again, in the same invocation, after a state conflict. */
const CONFLICT_RETRIES = 3;

/** What the runner needs of a stateful operator's batch, whatever the operator (window, join, process function). */
export interface StatefulOutcome {
  readonly watermark: number;
  readonly channels: ChannelWatermarks;
  readonly positions: AppliedPositions;
  readonly channelsVersion: number;
  readonly counts: { readonly late: number; readonly duplicates: number; readonly repeats: number };
  /** Writes the batch's state, after its outputs; throws StateConflictError on a version conflict. */
  commit(): Promise<void>;
  /** The channel watermarks were saved (at `version`) after the state: the batch is applied whole. */
  committed?(version: number): void;
  /** The batch failed somewhere, maybe with part of its state written. */
  abandoned?(): void;
}

/** The one interface the stateful runner drives: a window, a join or a process function. */
export interface StatefulOperator {
  process(
    records: readonly InputRecord[],
    decoded: readonly (readonly Decoded[] | RecordProcessingError)[],
    sink: StatefulBatchSink,
  ): Promise<StatefulOutcome>;
}

/** A stateful stage's operator, and what the runner needs to know about it. */
export interface StatefulStageOperator {
  readonly operator: StatefulOperator;
  /** The window, join or process node. */
  readonly node: string;
  /**
   * Where its late records go: a stream, or undefined for the dead-letter destination (a window or
   * join without a late stream; a process function never calls its records late).
   */
  readonly lateOutput: string | undefined;
  /**
   * How far the watermark the stage forwards trails its input's, so that no result it emits later
   * is late for the stage after it. A window fires when the watermark passes its end plus the
   * allowed lateness, its result at the window's end: held back by that lateness. A join: by
   * joinWatermarkHoldBack. A process function emits at the record's time (a record that is not late
   * is past the watermark) or at a timer's (past the watermark until it fires): not held back.
   */
  readonly watermarkHoldBack: number;
}

/** What a stateful kind's factory gets: the runner's options, with the state store it needs and the input's producers. */
export interface StatefulOperatorOptions extends StatefulRunnerOptions {
  readonly state: StateStore;
  readonly producers: readonly string[];
}

/** Makes the operator of one stateful kind (stateful-window.ts, stateful-process.ts, stateful-join.ts). */
export type StatefulOperatorFactory<K extends StatefulKind> = (
  options: StatefulOperatorOptions,
  node: Extract<StatefulNodeOf, { kind: K }>['node'],
) => StatefulStageOperator;

/** The stateful operators a build can run, by kind: each one it leaves out stays out of its bundle. */
export type StatefulKinds = { readonly [K in StatefulKind]?: StatefulOperatorFactory<K> };

/** How a stage runner gets the runner of its stateful stage: undefined for a stateless one. */
export type StatefulRunnerFactory = (options: StatefulRunnerOptions) => StatefulRunner | undefined;

/** The {@link StatefulRunnerFactory} of the given kinds. */
export function statefulRunnerOf(kinds: StatefulKinds): StatefulRunnerFactory {
  return (options) => StatefulRunner.of(options, kinds);
}

export interface StatefulRunnerOptions {
  readonly pipeline: Pipeline;
  readonly program: StageProgram;
  readonly store: StateStore | undefined;
  readonly shards: ShardDirectory;
  readonly shuffle: ShuffleOutputs;
  readonly sender: BatchSender;
  readonly context: BatchContext;
  readonly now: () => number;
}

/**
 * Runs the batches of a stateful stage (a window, a join or a process function and the operators
 * fused after it). A batch is all or nothing: outputs first, then state, then the channel
 * watermarks. Any failure throws, so Lambda delivers the whole batch again, and the fences in the
 * state skip what the failed attempt had already applied; a crash after the outputs repeats results
 * (same ids), never loses them.
 */
export class StatefulRunner {
  readonly #options: StatefulRunnerOptions;
  readonly #stateful: StatefulStageOperator;
  readonly #store: StateStore;

  /**
   * Undefined when the stage keeps no state. `kinds` are the stateful operators this build can run:
   * an entry point bundles only its own (functions/), and refuses, at init, a stage of another kind.
   */
  static of(options: StatefulRunnerOptions, kinds: StatefulKinds): StatefulRunner | undefined {
    const stateful = statefulOperatorOf(options, kinds);
    return stateful === undefined ? undefined : new StatefulRunner(options, stateful);
  }

  private constructor(options: StatefulRunnerOptions, stateful: StatefulStageOperator) {
    this.#options = options;
    this.#stateful = stateful;
    this.#store = options.store as StateStore;
  }

  /**
   * Optimistic concurrency with bounded retries: after a version conflict the batch is run again on
   * fresh state (the fences skip what any attempt applied), a few times, then left to Lambda's retry.
   */
  async run(records: readonly InputRecord[], deadline: number): Promise<BatchResult> {
    for (let attempt = 0; ; attempt += 1) {
      try {
        return await this.#runOnce(records, deadline);
      } catch (error) {
        const conflict = error instanceof StateConflictError || error instanceof WatermarkConflictError;
        const delay = backoffDelay(attempt, { baseMs: 20, capMs: 500 });
        if (!conflict || attempt + 1 >= CONFLICT_RETRIES || Date.now() + delay >= deadline) throw error;
        await sleep(delay);
      }
    }
  }

  async #runOnce(records: readonly InputRecord[], deadline: number): Promise<BatchResult> {
    const attempt: { batch?: StatefulOutcome } = {};
    try {
      return await this.#runBatch(records, deadline, attempt);
    } catch (error) {
      attempt.batch?.abandoned?.();
      throw error;
    }
  }

  async #runBatch(
    records: readonly InputRecord[],
    deadline: number,
    attempt: { batch?: StatefulOutcome },
  ): Promise<BatchResult> {
    const { program, shuffle, sender, shards } = this.#options;
    const store = this.#store;
    const collected = new BatchCollector(program, this.#options.context);
    const decoded = records.map((record) => collected.decode(record));
    const requestsBefore = store.counter.snapshot().requests;
    const batch = await this.#stateful.operator.process(records, decoded, {
      output: (emitted, origin) => collected.output({ ...emitted, origin: origin.position.sequenceNumber }),
      filtered: () => collected.filtered(),
      late: (record, late) => {
        const stream = this.#stateful.lateOutput;
        if (stream === undefined) {
          collected.lateLetter(record, lateRecordError(this.#options.pipeline.graph.node(this.#stateful.node), late));
          return;
        }
        collected.aside({
          stream,
          partitionKey: late.key,
          data: JSON.stringify(late),
          origin: record.position.sequenceNumber,
        });
      },
      deadLetter: (record, error, correlationId) => collected.deadLetter(record, error, correlationId),
      tally: collected.tally,
    });
    attempt.batch = batch;
    const shardId = (records[0] as InputRecord).position.shardId;
    const last = records.at(-1) as InputRecord;
    // The stage's watermark travels in its packs, after the results it vouches for.
    const toWrite = await shuffle.prepare(
      collected.outputs,
      shardId,
      Number.isFinite(batch.watermark)
        ? forwardedWatermark(batch.watermark, this.#stateful.watermarkHoldBack)
        : undefined,
      last.position.sequenceNumber,
      false,
    );
    const sent = await sender.send(toWrite, collected.letters, deadline, records);
    for (const stream of sent.misrouted) shards.invalidate?.(stream);
    if (sent.failed.length > 0) {
      throw new StageBatchError(
        `${sent.failed.length} output records or dead letters could not be written; the batch will be retried`,
      );
    }
    await batch.commit();
    const channels = batch.channels.toRecord();
    const channelWatermarks = Object.fromEntries(Object.entries(channels).filter(([name]) => !name.startsWith('#')));
    const positions = batch.positions.toRecord();
    let version = batch.channelsVersion;
    if (Object.keys(channels).length > 0 || Object.keys(positions).length > 0) {
      ({ version } = await store.saveWatermarks(program.stage.id, shardId, channels, batch.channelsVersion, positions));
    }
    batch.committed?.(version);
    return {
      failedSequenceNumbers: [],
      report: {
        ...collected.traces.report(),
        ...collected.counts,
        failedRecords: 0,
        writeRequests: sent.requests,
        written: sent.written,
        deadLetters: collected.envelopes(),
        ...(Number.isFinite(batch.watermark) && { watermark: batch.watermark }),
        late: batch.counts.late,
        duplicates: batch.counts.duplicates + batch.counts.repeats,
        channelWatermarks,
        operators: this.#counts(collected, batch.counts.late),
        stateRequests: store.counter.snapshot().requests - requestsBefore,
      },
    };
  }

  /**
   * A stateful batch's counts per operator. The input counted itself as the batch was decoded
   * ({@link BatchCollector.decode}); the operators after the window (or join, or process function)
   * counted themselves in the tally; the stateful operator is counted from the batch: what the input
   * passed on, what it passed on (what its first operator after took in), its late records, and the
   * dead letters nobody else counted (its own failures).
   */
  #counts(collected: BatchCollector, late: number): OperatorCount[] {
    const { tally, counts, undecodable } = collected;
    const { nodes } = this.#options.program.stage;
    const statefulAt = nodes.indexOf(this.#stateful.node);
    if (statefulAt > 0) {
      tally.add(0, Slot.out, counts.recordsIn - undecodable);
      tally.add(statefulAt, Slot.in, counts.recordsIn - undecodable);
    }
    const after = nodes.slice(statefulAt + 1).map((_, offset) => statefulAt + 1 + offset);
    const firstAfter = this.#options.pipeline.graph.children(nodes[statefulAt] ?? '')[0]?.name;
    const firstAfterAt = firstAfter === undefined ? -1 : nodes.indexOf(firstAfter);
    if (firstAfterAt >= 0) tally.add(statefulAt, Slot.out, tally.get(firstAfterAt, Slot.in));
    const deadAfter = after.reduce((sum, index) => sum + tally.get(index, Slot.deadLettered), 0);
    tally.add(statefulAt, Slot.late, late);
    tally.add(statefulAt, Slot.deadLettered, counts.deadLettered - undecodable - deadAfter);
    return tally.counts();
  }
}

/** The window, process function or join a stage keeps state for, as the one stateful interface. */
function statefulOperatorOf(options: StatefulRunnerOptions, kinds: StatefulKinds): StatefulStageOperator | undefined {
  const { pipeline, program, store } = options;
  const stage = program.stage;
  const input = pipeline.graph.node(stage.nodes[0] ?? '');
  if (!stage.stateful && input.kind !== 'join') return undefined;
  if (stage.stateful && store === undefined) {
    throw new Error(`stage ${stage.id} keeps state: give the runner a state store`);
  }
  const stateful = statefulNodeOf(pipeline.graph, stage);
  if (stateful === undefined) return undefined;
  const producers = pipeline.plan().streams.find((s) => s.name === stage.input)?.producers ?? [];
  const operatorOptions: StatefulOperatorOptions = { ...options, state: store as StateStore, producers };
  const unbundled = () =>
    new Error(
      `stage ${stage.id} runs a ${stateful.kind === 'process' ? 'process function' : stateful.kind} ('${stateful.node.name}'), ` +
        `and this function was built without it (its entry point bundles ${Object.keys(kinds).join(', ') || 'no stateful operator'}): ` +
        'deploy it with the entry point infra picks for the stage (handlerEntryOf), or functions/stage-handler.ts',
    );
  switch (stateful.kind) {
    case 'window':
      if (kinds.window === undefined) throw unbundled();
      return kinds.window(operatorOptions, stateful.node);
    case 'process':
      if (kinds.process === undefined) throw unbundled();
      return kinds.process(operatorOptions, stateful.node);
    case 'join':
      if (kinds.join === undefined) throw unbundled();
      return kinds.join(operatorOptions, stateful.node);
  }
}

/** The end of input stays the end of input: a bounded run closes every window downstream. */
function forwardedWatermark(watermark: number, holdBack: number): number {
  return watermark >= END_OF_TIME ? watermark : watermark - holdBack;
}

/** Writes groups of conditional changes one group after the other; a version conflict throws. */
export async function commitInOrder(
  store: Pick<WindowStore, 'commitAll'>,
  groups: readonly WindowChange[][],
): Promise<void> {
  for (const changes of groups) {
    if (changes.length === 0) continue;
    const [first, ...others] = (await store.commitAll(changes)).conflicts;
    // Another attempt of this shard's batch wrote the items (after a timeout): run again on fresh state.
    if (first !== undefined) throw new StateConflictError([first, ...others]);
  }
}
