import { readdirSync, statSync } from 'node:fs';
import type { Pipeline } from '../../shared/dsl/pipeline.js';
import { createDynamoDbClient } from '../aws-clients.js';
import { type EndpointOptions, endpointOptions, externalEndpoints } from '../endpoints.js';
import { sampleDeadLetters } from './dead-letter-summary.js';
import { type Generation, loadGeneration, nextGeneration } from './generations.js';
import { type LocalLogLevel, LocalPipeline, type SandboxMode } from './local-pipeline.js';
import { countRecords, filterPages, writeRecordPages } from './output-file.js';
import { RunOptionsError, type RunProgress, type RunSummary, type StreamFile } from './run-files.js';
import type { StoredRecord } from './stream-reader.js';

/** Or running endpoints (LocalStack: `endpoint`) whose streams are replayed. */
export interface ReplayOptions extends EndpointOptions {
  readonly pipeline: Pipeline;
  /** Where the source stages start: the trim horizon (every record the streams keep) or a time. */
  readonly from: 'TRIM_HORIZON' | Date;
  /** Streams to write to files: only what the replay wrote to them. */
  readonly outputs: readonly StreamFile[];
  /** The folder of an earlier `eddy run --data-dir`: its streams are replayed. */
  readonly dataDir?: string;
  readonly streamPrefix?: string;
  readonly logLevel?: LocalLogLevel;
  readonly sandboxes?: SandboxMode;
  readonly pipelineModule?: string;
  /** The generation to create. @default one more than any the data folder or the endpoint knows */
  readonly generation?: number;
  /** See LocalPipelineOptions.stallLimitMs (`--stall-limit`). */
  readonly stallLimitMs?: number;
  readonly onProgress?: (progress: RunProgress) => void;
}

export interface ReplaySummary extends RunSummary {
  /** The state generation the replay created, and its state table (stateful pipelines). */
  readonly generation: Generation;
  readonly stateTable: string | undefined;
  /** Records that arrived from this time on in the pipeline's streams are the replay's. */
  readonly startedAt: Date;
}

/**
 * `eddy replay`: runs a pipeline again over what its source streams hold, from the trim horizon or
 * a point in time, into fresh state: a new state generation (a new state table `<table>-g<n>`, new
 * event source mappings without checkpoints). The stages that read source streams start at `from`;
 * the others read only what this replay writes to the shuffle streams (AT_TIMESTAMP, the replay's
 * start). Every stage writes its outputs again: sinks receive the results a second time, with the
 * same deterministic ids (docs/reliability.md, "Replay"). The new generation becomes the data
 * folder's current one: a later `eddy run --data-dir` continues it.
 */
export async function replayPipeline(options: ReplayOptions): Promise<ReplaySummary> {
  const plan = options.pipeline.plan();
  const external = externalEndpoints(options);
  if (options.dataDir === undefined && external.kinesis === undefined) {
    throw new RunOptionsError(
      'replay reads the streams of an earlier run: give the --data-dir of an `eddy run --data-dir`, or an --endpoint',
    );
  }
  // Before anything is created: a replay of nothing would still make a new state generation.
  if (options.dataDir !== undefined) assertRunDataDir(options.dataDir);
  assertNotInFuture(options.from);
  const streamNames = new Set(plan.streams.map((s) => s.name));
  for (const output of options.outputs) {
    if (!streamNames.has(output.stream)) {
      throw new RunOptionsError(
        `--output ${output.stream}: no such stream in '${plan.pipeline}' (streams: ${[...streamNames].join(', ')})`,
      );
    }
  }
  const prefix = options.streamPrefix ?? '';
  const recorded =
    options.dataDir === undefined ? undefined : loadGeneration(options.dataDir, `${prefix}${plan.pipeline}`);
  let generation = options.generation;
  if (generation === undefined) {
    // Tables of earlier generations on an external endpoint count too: a new generation is a new table.
    const stateEndpoint = external.dynamodb;
    const dynamodb =
      plan.stateTable !== undefined && stateEndpoint !== undefined ? createDynamoDbClient(stateEndpoint) : undefined;
    try {
      generation = await nextGeneration({
        dynamodb,
        table: plan.stateTable === undefined ? undefined : `${prefix}${plan.stateTable}`,
        recorded,
      });
    } finally {
      dynamodb?.destroy();
    }
  }
  if (!Number.isInteger(generation) || generation < 1) {
    throw new RunOptionsError(`--generation must be a whole number from 1, got ${generation}`);
  }

  const started = performance.now();
  // Everything the pipeline's streams receive from now on is the replay's: its stages are the only writers.
  const startedAt = new Date();
  const replay: Generation = {
    generation,
    sourcesFrom: options.from === 'TRIM_HORIZON' ? 'TRIM_HORIZON' : options.from.toISOString(),
    downstreamFrom: startedAt.toISOString(),
  };
  const local = await LocalPipeline.start({
    pipeline: options.pipeline,
    generation: replay,
    ...(options.dataDir !== undefined && { dataDir: options.dataDir }),
    ...endpointOptions(options),
    ...(options.streamPrefix !== undefined && { streamPrefix: options.streamPrefix }),
    ...(options.logLevel !== undefined && { logLevel: options.logLevel }),
    ...(options.sandboxes !== undefined && { sandboxes: options.sandboxes }),
    ...(options.pipelineModule !== undefined && { pipelineModule: options.pipelineModule }),
    ...(options.stallLimitMs !== undefined && { stallLimitMs: options.stallLimitMs }),
  });
  const sources = new Set(plan.streams.filter((s) => s.role === 'source').map((s) => s.name));
  const taken = () =>
    local
      .status()
      .filter((s) => sources.has(s.stage.input))
      .reduce((sum, s) => sum + s.stats.recordsIn, 0);
  const ticker =
    options.onProgress === undefined
      ? undefined
      : setInterval(() => {
          const stages = local.status();
          options.onProgress?.({ inputRecords: taken(), fed: taken(), sourceRecordsProcessed: taken(), stages });
        }, 200);
  try {
    await local.waitUntilDrained();
    const outputs = [];
    const replayed = (record: StoredRecord) => record.arrivalTime >= startedAt.getTime();
    for (const output of options.outputs) {
      const records = await writeRecordPages(output.file, filterPages(local.streamPages(output.stream), replayed));
      outputs.push({ stream: output.stream, file: output.file, records });
    }
    const sinkRecords: Record<string, number> = {};
    for (const stream of plan.streams.filter((s) => s.role === 'sink')) {
      sinkRecords[stream.name] = await countRecords(filterPages(local.streamPages(stream.name), replayed));
    }
    const { deadLetters, deadLetterCount, lateDeadLetterCount } = await sampleDeadLetters(
      local.deadLetterPages(),
      undefined,
      (letter) => letter.arrivalTime >= startedAt.getTime(),
    );
    return {
      pipeline: plan.pipeline,
      inputRecords: taken(),
      elapsedMs: performance.now() - started,
      stages: local.status(),
      outputs,
      sinkRecords,
      deadLetters,
      deadLetterCount,
      lateDeadLetterCount,
      deadLetter: plan.deadLetter,
      failedBatches: local.failedBatches,
      generation: replay,
      stateTable: local.stateTable,
      startedAt,
    };
  } finally {
    if (ticker !== undefined) clearInterval(ticker);
    await local.stop();
  }
}

/** Refuses a data folder that does not exist or holds nothing: no earlier run's streams are there. */
export function assertRunDataDir(dataDir: string): void {
  let entries: string[];
  try {
    if (!statSync(dataDir).isDirectory()) throw new RunOptionsError(`--data-dir ${dataDir}: not a folder`);
    entries = readdirSync(dataDir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    throw new RunOptionsError(
      `--data-dir ${dataDir}: no such folder; replay reads the streams an earlier \`eddy run --data-dir\` kept there`,
    );
  }
  if (entries.length === 0) {
    throw new RunOptionsError(
      `--data-dir ${dataDir}: the folder is empty; replay reads the streams an earlier \`eddy run --data-dir\` kept there`,
    );
  }
}

/** Refuses a start after now: no record has arrived after it, so the replay would process nothing. */
export function assertNotInFuture(from: 'TRIM_HORIZON' | Date, now = new Date()): void {
  if (from === 'TRIM_HORIZON' || from.getTime() <= now.getTime()) return;
  throw new RunOptionsError(
    `--from ${from.toISOString()}: in the future (now is ${now.toISOString()}); a replay starts at a time records already arrived`,
  );
}
