import { readFile } from 'node:fs/promises';
import type { DeadLetterDestination, PipelinePlan } from '../../shared/dag/plan-types.js';
import type { Pipeline } from '../../shared/dsl/pipeline.js';
import type { DeadLetterEnvelope } from '../../shared/runtime/dead-letter.js';
import { createKinesisClient } from '../aws-clients.js';
import type { ObservedServer } from '../console/observed-pipeline.js';
import { type EndpointOptions, endpointOptions } from '../endpoints.js';
import { originOf } from './dead-letter-origins.js';
import { envelopeRecords, sampleDeadLetters } from './dead-letter-summary.js';
import type { DiscardedBatch } from './discarded-batches.js';
import { resumePoint } from './fed-lines.js';
import { type FeederDeadLetterDestination, oversizedLineLetter, sendFeederDeadLetter } from './feeder-dead-letters.js';
import { type FeedOptions, type FeedResult, feedJsonLines, type LineOrigin } from './input-feeder.js';
import { InputProgress } from './input-progress.js';
import {
  type KillWorkersOptions,
  type LocalLogLevel,
  LocalPipeline,
  type SandboxMode,
  type StageStatus,
} from './local-pipeline.js';
import { countRecords, writeRecordPages } from './output-file.js';

/** The JSON values of a JSON-lines file (blank lines skipped). */
export async function readJsonLines(file: string): Promise<object[]> {
  const text = await readFile(file, 'utf8');
  return text.split('\n').flatMap((line, index) => {
    if (line.trim() === '') return [];
    try {
      return [JSON.parse(line) as object];
    } catch (error) {
      throw new RunOptionsError(`${file}:${index + 1}: not JSON: ${(error as Error).message}`);
    }
  });
}

/** `eddy run --ui`'s port (Flink's web UI has 8081). */
export const DEFAULT_UI_PORT = 8081;

export interface StreamFile {
  readonly stream: string;
  readonly file: string;
}

/** Endpoints: see EndpointOptions. */
export interface RunFilesOptions extends EndpointOptions {
  readonly pipeline: Pipeline;
  readonly inputs: readonly StreamFile[];
  readonly outputs: readonly StreamFile[];
  readonly streamPrefix?: string;
  /** A running DynamoDB Local for the tables of `dynamoDbStream` sources (LocalPipelineOptions). */
  readonly sourceTablesEndpoint?: string;
  readonly logLevel?: LocalLogLevel;
  /**
   * See LocalPipelineOptions.dataDir. The folder also records how far each input file was fed: a run
   * stopped in the middle and started again on it feeds only the rest of its files.
   */
  readonly dataDir?: string;
  /** See LocalPipelineOptions.sandboxes; `worker` needs `pipelineModule`. */
  readonly sandboxes?: SandboxMode;
  /** The file that default-exports `pipeline` (the CLI's `<pipeline>` argument). */
  readonly pipelineModule?: string;
  /** See LocalPipelineOptions.killWorkers (tests only). */
  readonly killWorkers?: KillWorkersOptions;
  /** See LocalPipelineOptions.crashAfterBatchRate (tests only). */
  readonly crashAfterBatchRate?: number;
  readonly crashFirstBatches?: number;
  readonly faultSeed?: number;
  readonly crashStages?: readonly string[];
  /** Rows to put into external tables before the run (`--table <table>=<file>`; `stream` names the table). */
  readonly tables?: readonly StreamFile[];
  /** See LocalPipelineOptions.stallLimitMs (`--stall-limit`). */
  readonly stallLimitMs?: number;
  /** Called about every 200 ms while the run goes on. */
  readonly onProgress?: (progress: RunProgress) => void;
  /**
   * Serve the web console, `/metrics` and `/status` on 127.0.0.1 while the run goes on (`eddy run
   * --ui`); `onReady` gets its URL. @default none
   */
  readonly ui?: { readonly port?: number; readonly onReady?: (url: string) => void };
}

export interface RunProgress {
  readonly inputRecords: number;
  readonly fed: number;
  /** Records the source stages have taken in. */
  readonly sourceRecordsProcessed: number;
  readonly stages: readonly StageStatus[];
}

export interface DeadLetterReport {
  readonly envelope: DeadLetterEnvelope;
  /** The input line, when the record came from a file of this run. */
  readonly origin?: LineOrigin;
}

export interface RunSummary {
  readonly pipeline: string;
  readonly inputRecords: number;
  readonly elapsedMs: number;
  readonly stages: readonly StageStatus[];
  readonly outputs: readonly { readonly stream: string; readonly file: string; readonly records: number }[];
  readonly sinkRecords: Readonly<Record<string, number>>;
  /**
   * The first dead letters (up to deadLetterSampleSize, dead-letter-summary.ts, in the order the dead-letter stream or
   * queue returns them), each with its input line: a sample to print, not all of them.
   */
  readonly deadLetters: readonly DeadLetterReport[];
  /** Every dead letter of the run, counted page by page. */
  readonly deadLetterCount: number;
  /** Those of them that are late records (`lateRecords: 'dead-letter'`) rather than bad ones. */
  readonly lateDeadLetterCount: number;
  /**
   * Where the dead letters went: the dead-letter stream, or the dead-letter queue, whose local
   * stand-in is an in-process sink (LocalDeadLetterQueue).
   */
  readonly deadLetter?: DeadLetterDestination;
  /** Batches a stage's mapping gave up on: their records were lost, not dead-lettered. */
  readonly failedBatches: readonly DiscardedBatch[];
}

/** Raised for a command line that names streams the pipeline does not have. */
export class RunOptionsError extends Error {
  override readonly name = 'RunOptionsError';
}

/** Throws, naming the sources there are, when an `--input` names no source stream of the plan. */
export function checkInputs(plan: PipelinePlan, inputs: readonly StreamFile[]): void {
  for (const input of inputs) {
    const spec = plan.streams.find((s) => s.name === input.stream);
    if (spec?.role !== 'source') {
      const sources = plan.streams.filter((s) => s.role === 'source').map((s) => s.name);
      throw new RunOptionsError(
        `--input ${input.stream}: not a source of '${plan.pipeline}' (sources: ${sources.join(', ')})`,
      );
    }
  }
}

/**
 * Throws, naming the streams there are, when an `--output` names no stream, dead-letter queue or
 * sink table (`toDynamoDb`) of the plan.
 */
export function checkOutputs(plan: PipelinePlan, outputs: readonly StreamFile[]): void {
  const streamNames = new Set(plan.streams.map((s) => s.name));
  // A dead-letter queue is written like a stream: `--output <queue name>=<file>`; a sink table too.
  const queue = plan.deadLetter.kind === 'queue' ? plan.deadLetter.name : undefined;
  const tables = sinkTables(plan);
  const destinations = (plan.destinations ?? []).map((destination) => destination.name);
  for (const output of outputs) {
    const isKnown = (name: string) => streamNames.has(name) || tables.includes(name) || destinations.includes(name);
    if (!isKnown(output.stream) && output.stream !== queue) {
      const known = [
        ...streamNames,
        ...(queue === undefined ? [] : [`${queue} (dead-letter queue)`]),
        ...tables.map((table) => `${table} (DynamoDB table)`),
        ...(plan.destinations ?? []).map((d) => `${d.name} (${destinationKinds[d.service]})`),
      ];
      throw new RunOptionsError(
        `--output ${output.stream}: no such stream in '${plan.pipeline}' (streams: ${known.join(', ')})`,
      );
    }
  }
}

const destinationKinds = { sqs: 'SQS queue', eventbridge: 'EventBridge bus', firehose: 'Firehose delivery stream' };

function sinkTables(plan: PipelinePlan): string[] {
  return (plan.tables ?? []).filter((table) => table.kind === 'sink').map((table) => table.name);
}

/** A sink table's items as lines: each item's JSON, tombstones and version attributes included, after the drain. */
async function* itemRecords(pages: AsyncIterable<readonly Record<string, unknown>[]>) {
  for await (const page of pages) yield page.map((item) => ({ data: Buffer.from(JSON.stringify(item)) }));
}

/**
 * What a queue, bus or delivery stream took on the local stand-in, one JSON line each (an SQS
 * message with its attributes and group, an event with its source and detail type, a Firehose record).
 */
async function* oneLinePerRecord(records: readonly unknown[]) {
  yield records as Record<string, unknown>[];
}

/** Writes each `--output` stream, or the local dead-letter queue, to its file; returns how many records each got. */
export async function writeOutputs(
  local: LocalPipeline,
  outputs: readonly StreamFile[],
): Promise<{ stream: string; file: string; records: number }[]> {
  const queue = local.plan.deadLetter.kind === 'queue' ? local.plan.deadLetter.name : undefined;
  const written = [];
  for (const output of outputs) {
    // Page by page: a run's outputs are not held whole (bench/run-memory.ts). The local
    // dead-letter queue's messages are the envelopes, one JSON line each, as the stream's records.
    const pages =
      output.stream === queue
        ? envelopeRecords(local.deadLetterPages())
        : sinkTables(local.plan).includes(output.stream)
          ? itemRecords(local.sinkTablePages(output.stream))
          : local.plan.destinations?.some((destination) => destination.name === output.stream)
            ? itemRecords(oneLinePerRecord(local.destinationRecords(output.stream)))
            : local.streamPages(output.stream);
    const records = await writeRecordPages(output.file, pages);
    written.push({ stream: output.stream, file: output.file, records });
  }
  return written;
}

/**
 * `eddy run`: deploys the pipeline on the local stack, feeds each input file into its source
 * stream, waits until every stage has processed everything, and writes the named streams to files.
 */
export async function runPipelineOnFiles(options: RunFilesOptions): Promise<RunSummary> {
  const plan = options.pipeline.plan();
  checkInputs(plan, options.inputs);
  checkOutputs(plan, options.outputs);

  const started = performance.now();
  // Loaded only for --ui: a plain run needs neither prom-client nor the drawing's layout.
  const observed = options.ui === undefined ? undefined : await import('../console/observed-pipeline.js');
  const observers = observed?.pipelineObservers(options.pipeline);
  const local = await LocalPipeline.start({
    pipeline: options.pipeline,
    ...observers?.hooks,
    ...endpointOptions(options),
    ...(options.sandboxes !== undefined && { sandboxes: options.sandboxes }),
    ...(options.pipelineModule !== undefined && { pipelineModule: options.pipelineModule }),
    ...(options.killWorkers !== undefined && { killWorkers: options.killWorkers }),
    ...(options.streamPrefix !== undefined && { streamPrefix: options.streamPrefix }),
    ...(options.sourceTablesEndpoint !== undefined && { sourceTablesEndpoint: options.sourceTablesEndpoint }),
    ...(options.logLevel !== undefined && { logLevel: options.logLevel }),
    ...(options.dataDir !== undefined && { dataDir: options.dataDir }),
    ...(options.stallLimitMs !== undefined && { stallLimitMs: options.stallLimitMs }),
    ...(options.crashAfterBatchRate !== undefined && { crashAfterBatchRate: options.crashAfterBatchRate }),
    ...(options.crashFirstBatches !== undefined && { crashFirstBatches: options.crashFirstBatches }),
    ...(options.faultSeed !== undefined && { faultSeed: options.faultSeed }),
    ...(options.crashStages !== undefined && { crashStages: options.crashStages }),
  });
  let ui: ObservedServer | undefined;
  if (observed !== undefined && observers !== undefined) {
    try {
      ui = await observed.serveObservedPipeline(local, observers, { port: options.ui?.port ?? DEFAULT_UI_PORT });
    } catch (error) {
      await local.stop();
      throw error;
    }
    options.ui?.onReady?.(ui.url);
  }
  const fedPerInput = options.inputs.map(() => 0);
  const sourceStages = new Set(
    plan.stages.filter((stage) => options.inputs.some((i) => i.stream === stage.input)).map((s) => s.id),
  );
  const progress = (): RunProgress => {
    const stages = local.status();
    return {
      inputRecords: fedPerInput.reduce((a, b) => a + b, 0),
      fed: fedPerInput.reduce((a, b) => a + b, 0),
      sourceRecordsProcessed: stages
        .filter((s) => sourceStages.has(s.stage.id))
        .reduce((sum, s) => sum + s.stats.recordsIn, 0),
      stages,
    };
  };
  const ticker =
    options.onProgress === undefined ? undefined : setInterval(() => options.onProgress?.(progress()), 200);
  try {
    const fedBefore =
      options.dataDir === undefined ? undefined : new InputProgress(options.dataDir, local.physicalName(plan.pipeline));
    for (const seed of options.tables ?? []) await local.seedTable(seed.stream, await readJsonLines(seed.file));
    const deadLetterTo: FeederDeadLetterDestination =
      local.deadLetterQueue === undefined
        ? { kind: 'stream', client: local.kinesis, stream: local.physicalName(plan.deadLetter.name) }
        : { kind: 'queue', queue: local.deadLetterQueue };
    // One attempt per call: the feeder retries itself, after taking out the lines a call of unknown
    // outcome got in; the SDK's own retry would put them twice.
    const feeder = createKinesisClient(local.endpoint, { maxAttempts: 1 });
    const tableSources = new Set(plan.streams.filter((s) => s.dynamoDbStream !== undefined).map((s) => s.name));
    const feed = async (input: StreamFile, index: number): Promise<FeedResult> => {
      if (tableSources.has(input.stream)) {
        // A table's changes come from writing the table: each line a put, or a `$delete` of a key.
        const records = await local.writeTableChanges(input.stream, (await readJsonLines(input.file)) as never);
        fedPerInput[index] = records;
        return { records, tooLarge: 0 };
      }
      const stream = local.physicalName(input.stream);
      const resume =
        fedBefore === undefined
          ? undefined
          : await resumePoint(local.kinesis, fedBefore, {
              stream: input.stream,
              physicalStream: stream,
              file: input.file,
            });
      const feedOptions: FeedOptions = {
        ...resume,
        onTooLarge: (line) =>
          sendFeederDeadLetter(
            deadLetterTo,
            oversizedLineLetter(plan.pipeline, input.stream, stream, line, Date.now()),
          ),
        ...(fedBefore !== undefined && {
          onCommitted: (line, shards) => fedBefore.record(input.stream, input.file, line, shards),
        }),
      };
      const onProgress = (records: number) => {
        fedPerInput[index] = records;
      };
      return feedJsonLines(feeder, stream, input.file, onProgress, feedOptions);
    };
    // Tables first: the inputs that keep tables are fed and processed before the others, so that
    // each enriched record sees its table complete, as a batch lookup would (docs/tables.md).
    const keepsTables = (input: StreamFile) =>
      plan.stages.some((stage) => stage.input === input.stream && (stage.tables?.writes.length ?? 0) > 0);
    const phases = [options.inputs.filter(keepsTables), options.inputs.filter((input) => !keepsTables(input))];
    const fed = [];
    for (const phase of phases.filter((inputs) => inputs.length > 0)) {
      fed.push(...(await Promise.all(phase.map((input) => feed(input, options.inputs.indexOf(input))))));
      // Files are bounded: say so in-band, after their data (docs/watermarks.md); a table's stream
      // gets the mark after its last change, once the file's writes are done.
      for (const input of phase) await local.endInput(input.stream);
      await local.waitUntilDrained();
    }
    feeder.destroy();
    options.onProgress?.(progress());

    const outputs = await writeOutputs(local, options.outputs);
    const sinkRecords: Record<string, number> = {};
    for (const stream of plan.streams.filter((s) => s.role === 'sink')) {
      sinkRecords[stream.name] = await countRecords(local.streamPages(stream.name));
    }
    const fedInputs = options.inputs
      .filter((input) => !tableSources.has(input.stream))
      .map((input) => ({ stream: local.physicalName(input.stream), file: input.file }));
    const { deadLetters, deadLetterCount, lateDeadLetterCount } = await sampleDeadLetters(
      local.deadLetterPages(),
      (envelope) => originOf(local.kinesis, fedInputs, envelope),
    );
    return {
      pipeline: plan.pipeline,
      inputRecords: fed.reduce((sum, result) => sum + result.records, 0),
      elapsedMs: performance.now() - started,
      stages: local.status(),
      outputs,
      sinkRecords,
      deadLetters,
      deadLetterCount,
      lateDeadLetterCount,
      deadLetter: plan.deadLetter,
      failedBatches: local.failedBatches,
    };
  } finally {
    if (ticker !== undefined) clearInterval(ticker);
    await ui?.close();
    await local.stop();
  }
}
