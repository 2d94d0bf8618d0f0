/**
 * Runs a pipeline in memory, step by step, through the stage runners Lambda runs (StageRunner: the
 * same decoding, operators, shuffle packs, watermarks, window and join state), with memory stores
 * and no emulator: Kafka Streams' TopologyTestDriver and Flink's operator test harnesses for Eddy.
 *
 * What a step is: the test pipes records into a source, moves a source's watermark, advances the
 * processing-time clock or ends the input; the driver then runs every stage that has records
 * waiting, in plan order, again until no stage has any, and returns what reached the outputs.
 *
 * Every stream has one shard, as TopologyTestDriver runs one partition: records are processed in
 * the order they were piped, and every stage's watermark is its one channel's. Behaviour across
 * shards (the minimum over channels, resharding) is the local stack's to test (`eddy run`).
 */

import type { PipelinePlan, StageSpec } from '../shared/dag/plan-types.js';
import type { Pipeline } from '../shared/dsl/pipeline.js';
import { loadSecrets, type SecretLoader, SecretUnavailableError, stageSecrets } from '../shared/operators/secrets.js';
import type { DeadLetterEnvelope } from '../shared/runtime/dead-letter.js';
import { IdlenessCheck, type LatestArrival } from '../shared/runtime/idleness.js';
import type { DeadLetter, DeadLetterOutcome, DeadLetterSink } from '../shared/runtime/io/dead-letter-sink.js';
import { MemoryTableStore } from '../shared/runtime/io/memory-table-store.js';
import { MemoryWindowStore } from '../shared/runtime/io/memory-window-store.js';
import type { RecordWriter, WriteOutcome } from '../shared/runtime/io/record-writer.js';
import { UniformShardDirectory } from '../shared/runtime/io/shard-directory.js';
import type { InputRecord, OutputRecord } from '../shared/runtime/records.js';
import { StageRunner } from '../shared/runtime/stage-runner.js';
import { WatermarkEmitter } from '../shared/runtime/watermark-emitter.js';
import {
  CONTROL_PARTITION_KEY,
  channelId,
  END_OF_INPUT_DATA,
  type WatermarkRecord,
} from '../shared/runtime/watermark-records.js';
import { parseDuration } from '../shared/windows/duration.js';
import type { Duration } from '../shared/windows/types.js';
import type { LateRecord } from '../shared/windows/window-operator.js';
import { TestOutput } from './test-output.js';

/** The one shard of every stream in the driver. */
const SHARD_ID = 'shardId-000000000000';

export interface PipelineTestDriverOptions {
  /**
   * The processing-time clock at the start, epoch ms: what processing-time windows, arrival times,
   * idle timeouts and state expiry read. It moves only with {@link PipelineTestDriver.advanceClock}.
   * @default 0
   */
  readonly startTime?: number;
  /** Values of the secrets the pipeline's operators declare (`secret(name)`), by parameter name. */
  readonly secrets?: Readonly<Record<string, string>>;
  /** The largest batch a stage takes. @default each stage's `eventSource.batchSize` */
  readonly batchSize?: number;
}

/** What one step wrote to the outputs: the results that fired, the late records, the dead letters. */
export interface DriverStep {
  /** Values written in this step, by output stream (sinks and late outputs); streams with none are left out. */
  readonly outputs: Readonly<Record<string, readonly unknown[]>>;
  /** Dead letters of this step, with their reason in `error.reason`. */
  readonly deadLetters: readonly DeadLetterEnvelope[];
}

export interface PipeOptions {
  /** The Kinesis partition key the producer would give. @default 'driver' */
  readonly partitionKey?: string;
}

/** Records into one source stream, in arrival order: Kafka Streams' TestInputTopic. */
export class TestInput<T> {
  constructor(
    readonly stream: string,
    private readonly driver: PipelineTestDriver,
  ) {}

  /** Puts one record into the source and runs the pipeline on it. Its event time is what the source's `eventTime` reads. */
  pipe(value: T, options: PipeOptions = {}): Promise<DriverStep> {
    return this.pipeAll([value], options);
  }

  /** Puts the records into the source in this order, as one arrival (batches of the stage's size), and runs the pipeline. */
  pipeAll(values: readonly T[], options: PipeOptions = {}): Promise<DriverStep> {
    return this.pipeRaw(
      values.map((value) => JSON.stringify(value)),
      options,
    );
  }

  /** Puts payloads as they are (malformed JSON, records the schema refuses), to test dead letters. */
  pipeRaw(payloads: readonly string[], options: PipeOptions = {}): Promise<DriverStep> {
    return this.driver.step(() => {
      for (const data of payloads) this.driver.arrive(this.stream, data, options.partitionKey ?? 'driver');
    });
  }
}

/**
 * A pipeline under test, run in memory through the stages Lambda runs.
 *
 * @example
 * const driver = new PipelineTestDriver(pipeline);
 * const clicks = driver.input<Click>('clicks');
 * const counts = driver.output<WindowResult>('page-view-counts');
 * await clicks.pipe({ user: 'u1', page: '/a', kind: 'view', ts: 1_000 });
 * await driver.advanceWatermark('clicks', 60_000);
 * expect(counts.readValue()).toMatchObject({ key: '/a', value: 1 });
 */
export class PipelineTestDriver {
  readonly plan: PipelinePlan;
  readonly #pipeline: Pipeline;
  readonly #options: PipelineTestDriverOptions;
  readonly #shards: UniformShardDirectory;
  readonly #store: MemoryWindowStore;
  readonly #tables = new MemoryTableStore();
  readonly #runners = new Map<string, Promise<StageRunner>>();
  /** Records waiting for the stage that reads their stream, by stream. */
  readonly #waiting = new Map<string, InputRecord[]>();
  readonly #outputs = new Map<string, TestOutput<unknown>>();
  readonly #deadLetters: TestOutput<DeadLetterEnvelope>;
  readonly #watermarks = new Map<string, number>();
  /** The clock time of each source's latest record: the idleness check's arrivals. */
  readonly #latestArrival = new Map<string, number>();
  readonly #idleness: IdlenessCheck;
  #now: number;
  #sequence = 49_000_000_000_000_000_000_000_000n;
  #step: { outputs: Record<string, unknown[]>; deadLetters: DeadLetterEnvelope[] } | undefined;

  constructor(pipeline: Pipeline, options: PipelineTestDriverOptions = {}) {
    this.#pipeline = pipeline;
    this.#options = options;
    this.plan = pipeline.plan();
    this.#now = options.startTime ?? 0;
    this.#shards = new UniformShardDirectory(new Map(this.plan.streams.map((s) => [s.name, 1])));
    this.#store = new MemoryWindowStore({ now: () => this.#now });
    const read = new Set(this.plan.stages.map((stage) => stage.input));
    for (const stream of this.plan.streams) {
      if (!read.has(stream.name)) this.#outputs.set(stream.name, new TestOutput(stream.name));
    }
    this.#deadLetters = new TestOutput(this.plan.deadLetter.name);
    const arrivals: LatestArrival = {
      latestArrival: async (stream, _shard, since) => (this.#latestArrival.get(stream) ?? -Infinity) >= since.getTime(),
    };
    this.#idleness = new IdlenessCheck({ pipeline, arrivals, shards: this.#shards, writer: this.#writer });
  }

  /** The processing-time clock, epoch ms. */
  get now(): number {
    return this.#now;
  }

  /** A source stream of the pipeline, to pipe records into. */
  input<T>(source: string): TestInput<T> {
    const sources = this.plan.streams.filter((s) => s.role === 'source').map((s) => s.name);
    if (!sources.includes(source)) {
      throw new Error(`pipeline '${this.plan.pipeline}' has no source '${source}' (sources: ${sources.join(', ')})`);
    }
    return new TestInput<T>(source, this);
  }

  /** A sink or another stream no stage reads, to read what was written to it. */
  output<T>(stream: string): TestOutput<T> {
    const output = this.#outputs.get(stream);
    if (output === undefined) {
      const known = [...this.#outputs.keys()].filter((name) => name !== this.plan.deadLetter.name);
      throw new Error(`pipeline '${this.plan.pipeline}' has no output '${stream}' (outputs: ${known.join(', ')})`);
    }
    return output as TestOutput<T>;
  }

  /** A window's or a join's late output: the records too late for it, with their windows and the watermark. */
  lateOutput<T>(stream: string): TestOutput<LateRecord<T>> {
    return this.output<LateRecord<T>>(stream);
  }

  /** Every dead letter, with its reason, stage, operator and source position, whether the pipeline sends them to a stream or a queue. */
  deadLetters(): TestOutput<DeadLetterEnvelope> {
    return this.#deadLetters;
  }

  /** An external table's items (`table(name, { external })`), keyed by its partition key, for `enrich` to look up. */
  seedTable(name: string, items: readonly Record<string, unknown>[]): void {
    const spec = this.plan.tables?.find((table) => table.name === name);
    if (spec === undefined) {
      const known = (this.plan.tables ?? []).map((table) => table.name).join(', ');
      throw new Error(`pipeline '${this.plan.pipeline}' has no table '${name}' (tables: ${known || 'none'})`);
    }
    this.#tables.seed(spec, items);
  }

  /**
   * The highest watermark a stage has sent downstream (epoch ms), or a source stage was moved to
   * with {@link advanceWatermark}; undefined until there is one.
   */
  watermarkOf(stageId: string): number | undefined {
    return this.#watermarks.get(stageId);
  }

  /**
   * Moves a source's watermark to `time` without a record, as a record with a later event time
   * would (Flink's processWatermark): the stages after it fire the windows and joins it closes.
   * A watermark never goes back: a lower time changes nothing.
   */
  advanceWatermark(source: string, time: number): Promise<DriverStep> {
    const stage = this.#sourceStage(source);
    const emitter = new WatermarkEmitter(this.plan, stage, this.#shards);
    const mark: WatermarkRecord = { ch: channelId(stage.id, SHARD_ID), n: 1, wm: time };
    return this.step(() => {
      this.#raiseWatermark(stage.id, time);
      for (const stream of emitter.targets) this.#enqueue(stream, CONTROL_PARTITION_KEY, JSON.stringify(mark));
    });
  }

  /**
   * Moves the processing-time clock forward, then runs what the pipeline's scheduled check runs in
   * the cloud (shared/runtime/idleness.ts): a tick to every processing-time window stage, so that
   * its due windows fire, and idle marks for sources idle longer than their `idleTimeout`.
   */
  advanceClock(by: Duration): Promise<DriverStep> {
    const ms = parseDuration(by, 'advanceClock');
    return this.step(async () => {
      this.#now += ms;
      await this.#idleness.run(new Date(this.#now));
    });
  }

  /** Ends the input of every source (or of one), as `eddy run` does at the end of its files: every window and join fires. */
  endInput(source?: string): Promise<DriverStep> {
    const sources =
      source === undefined ? this.plan.streams.filter((s) => s.role === 'source').map((s) => s.name) : [source];
    for (const name of sources) this.#sourceStage(name);
    return this.step(() => {
      for (const name of sources) this.#enqueue(name, CONTROL_PARTITION_KEY, END_OF_INPUT_DATA);
    });
  }

  /** @internal Runs `put`, then every stage until none has records waiting; returns what reached the outputs. */
  async step(put: () => void | Promise<void>): Promise<DriverStep> {
    if (this.#step !== undefined)
      throw new Error('the driver runs one step at a time: await each call before the next');
    const step = { outputs: {} as Record<string, unknown[]>, deadLetters: [] as DeadLetterEnvelope[] };
    this.#step = step;
    try {
      await put();
      await this.#drain();
    } finally {
      this.#step = undefined;
    }
    return step;
  }

  /** @internal A record from a producer, at the clock's time. */
  arrive(stream: string, data: string, partitionKey: string): void {
    if (partitionKey === CONTROL_PARTITION_KEY) {
      throw new Error(`partition key '${CONTROL_PARTITION_KEY}' is Eddy's own; give the record another one`);
    }
    this.#latestArrival.set(stream, this.#now);
    this.#enqueue(stream, partitionKey, data);
  }

  #sourceStage(source: string): StageSpec {
    this.input(source);
    const stage = this.plan.stages.find((candidate) => candidate.input === source);
    if (stage === undefined) throw new Error(`no stage reads source '${source}'`);
    return stage;
  }

  #enqueue(stream: string, partitionKey: string, data: string): void {
    this.#sequence += 1n;
    const record: InputRecord = {
      position: {
        stream,
        shardId: SHARD_ID,
        sequenceNumber: this.#sequence.toString(),
        partitionKey,
        arrivalTime: this.#now,
      },
      data: Buffer.from(data),
    };
    const waiting = this.#waiting.get(stream);
    if (waiting === undefined) this.#waiting.set(stream, [record]);
    else waiting.push(record);
  }

  /** Writes of the stages: to the stream's waiting records when a stage reads it, else to its output. */
  readonly #writer: RecordWriter = {
    write: async (records: readonly OutputRecord[]): Promise<WriteOutcome> => {
      for (const record of records) {
        const output = this.#outputs.get(record.stream);
        if (output === undefined) {
          this.#enqueue(record.stream, record.partitionKey, record.data);
          continue;
        }
        const value: unknown = JSON.parse(record.data);
        if (record.stream === this.plan.deadLetter.name) {
          this.#letter(value as DeadLetterEnvelope);
          continue;
        }
        output.push(value);
        if (this.#step !== undefined) {
          const list = this.#step.outputs[record.stream];
          if (list === undefined) this.#step.outputs[record.stream] = [value];
          else list.push(value);
        }
      }
      return { failed: [], requests: 1 };
    },
  };

  /** Dead letters, from the stream or the queue the pipeline sends them to. */
  readonly #letters: DeadLetterSink = {
    send: async (letters: readonly DeadLetter[]): Promise<DeadLetterOutcome> => {
      for (const letter of letters) this.#letter(letter.envelope);
      return { failed: [], requests: letters.length === 0 ? 0 : 1 };
    },
  };

  #letter(envelope: DeadLetterEnvelope): void {
    this.#deadLetters.push(envelope);
    this.#step?.deadLetters.push(envelope);
  }

  async #drain(): Promise<void> {
    for (let moved = true; moved; ) {
      moved = false;
      for (const stage of this.plan.stages) {
        const records = this.#waiting.get(stage.input);
        if (records === undefined || records.length === 0) continue;
        this.#waiting.delete(stage.input);
        moved = true;
        await this.#runStage(stage, records);
      }
    }
  }

  #raiseWatermark(stageId: string, time: number): void {
    this.#watermarks.set(stageId, Math.max(time, this.#watermarks.get(stageId) ?? Number.NEGATIVE_INFINITY));
  }

  async #runStage(stage: StageSpec, records: readonly InputRecord[]): Promise<void> {
    const runner = await this.#runner(stage);
    const size = this.#options.batchSize ?? stage.eventSource.batchSize;
    for (let from = 0; from < records.length; from += size) {
      // The driver's writers never fail, so neither does a batch unless the stage itself is broken.
      const { failedSequenceNumbers, report } = await runner.run(
        records.slice(from, from + size),
        Date.now() + 900_000,
      );
      if (failedSequenceNumbers.length > 0) {
        throw new Error(
          `stage ${stage.id}: ${failedSequenceNumbers.length} records failed and would be delivered again`,
        );
      }
      if (report.watermark !== undefined) this.#raiseWatermark(stage.id, report.watermark);
    }
  }

  /** One runner per stage for the driver's life, as one warm execution environment per shard; secrets loaded first. */
  #runner(stage: StageSpec): Promise<StageRunner> {
    let runner = this.#runners.get(stage.id);
    if (runner === undefined) {
      runner = loadSecrets(stageSecrets(this.#pipeline.graph, stage), this.#secretLoader()).then(
        () =>
          new StageRunner({
            pipeline: this.#pipeline,
            stageId: stage.id,
            writer: this.#writer,
            deadLetters: this.#letters,
            shards: this.#shards,
            now: () => this.#now,
            ...(stage.stateful && { store: this.#store }),
            ...(stage.tables !== undefined && { tables: this.#tables }),
          }),
      );
      this.#runners.set(stage.id, runner);
    }
    return runner;
  }

  #secretLoader(): SecretLoader {
    return async (ref) => {
      const value = this.#options.secrets?.[ref.name];
      if (value === undefined) {
        throw new SecretUnavailableError(
          `secret ${ref.id}: give its value in the driver's options, secrets: { '${ref.name}': '...' }`,
        );
      }
      return value;
    };
  }
}
