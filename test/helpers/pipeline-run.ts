import pageViewCounts from '../../examples/page-view-counts.js';
import { createDynamoDbClient, createKinesisClient } from '../../local/aws-clients.js';
import type { OnFailureRecord } from '../../local/event-source-mapping/index.js';
import { feedJsonLines } from '../../local/runner/input-feeder.js';
import { LocalPipeline, type LocalPipelineOptions, type StageStatus } from '../../local/runner/local-pipeline.js';
import { scanTablePages } from '../../local/runner/pipeline-tables.js';
import { readWholeStream } from '../../local/runner/stream-reader.js';
import { tumbling } from '../../shared/windows/index.js';
import { reference, views } from '../reference/windows.js';
import { endInputOnOpenShards } from './reshard.js';
import { compareWindows, type WindowComparison, type WindowResult } from './window-check.js';

export interface FaultedRunOptions
  extends Omit<LocalPipelineOptions, 'endpoint' | 'dynamodbEndpoint' | 'streamPrefix'> {
  /** Where the pipeline's stages, mappings and state go: the emulators, or a fault proxy in front of them. */
  readonly endpoint: string;
  readonly dynamodbEndpoint: string;
  /**
   * The Kinesis emulator itself: the test feeds the input, ends it and reads the outputs here, past
   * any fault proxy, so that faults hit the pipeline only (a producer's own duplicates are not the
   * pipeline's to remove).
   */
  readonly directKinesisEndpoint: string;
  /** JSON-lines files, each fed into its source stream. */
  readonly inputs: readonly { readonly stream: string; readonly file: string }[];
  /** Streams to read back once drained. */
  readonly outputs: readonly string[];
  /** Sink tables (`toDynamoDb`) to scan once drained, past any proxy: the DynamoDB emulator itself. */
  readonly tables?: { readonly names: readonly string[]; readonly directDynamoDbEndpoint: string };
  /** Queues, buses and delivery streams (`toSqs`, ...) to read back from the local stand-in once drained. */
  readonly destinations?: readonly string[];
  /** Fail when no record moved for this long (LocalPipeline.waitUntilDrained). @default 60000 */
  readonly stallLimitMs?: number;
}

export interface FaultedRun {
  /** Each output stream's records, parsed as JSON. */
  readonly outputs: ReadonlyMap<string, unknown[]>;
  /** Each sink table's items, when asked for. */
  readonly tables: ReadonlyMap<string, Record<string, unknown>[]>;
  /** What each destination asked for took (LocalPipeline.destinationRecords), and the stand-in's call counts. */
  readonly destinations: ReadonlyMap<string, unknown[]>;
  readonly destinationCalls?: Readonly<Record<string, number>>;
  readonly stages: readonly StageStatus[];
  readonly failedBatches: readonly OnFailureRecord[];
  readonly fed: number;
  readonly elapsedMs: number;
  readonly workerKills: number;
}

let runs = 0;

/**
 * Deploys a pipeline on running emulators under a prefix of its own, feeds each file into its
 * source, marks the end of the input, waits until every stage has drained, and reads the outputs back.
 */
export async function runPipelineWithFaults(options: FaultedRunOptions): Promise<FaultedRun> {
  runs += 1;
  const started = performance.now();
  const {
    endpoint,
    dynamodbEndpoint,
    directKinesisEndpoint,
    inputs,
    outputs,
    stallLimitMs,
    tables,
    destinations,
    ...rest
  } = options;
  const direct = createKinesisClient(directKinesisEndpoint);
  const local = await LocalPipeline.start({
    ...rest,
    endpoint,
    dynamodbEndpoint,
    streamPrefix: `run${process.pid}-${runs}-`,
  });
  try {
    let fed = 0;
    for (const input of inputs) {
      const stream = local.physicalName(input.stream);
      fed += (await feedJsonLines(direct, stream, input.file)).records;
      // End of input on every shard of the source, after its data (LocalPipeline.endInput, past the proxy).
      await endInputOnOpenShards(direct, stream);
    }
    await local.waitUntilDrained({ stallLimitMs: stallLimitMs ?? 60_000 });
    const read = new Map<string, unknown[]>();
    for (const output of outputs) {
      const records = await readWholeStream(direct, local.physicalName(output));
      read.set(
        output,
        records.map((record) => JSON.parse(Buffer.from(record.data).toString('utf8')) as unknown),
      );
    }
    const items = new Map<string, Record<string, unknown>[]>();
    if (tables !== undefined) {
      const dynamodb = createDynamoDbClient(tables.directDynamoDbEndpoint);
      try {
        for (const name of tables.names) {
          const all: Record<string, unknown>[] = [];
          for await (const page of scanTablePages(dynamodb, local.tableNames[name] ?? name)) all.push(...page);
          items.set(name, all);
        }
      } finally {
        dynamodb.destroy();
      }
    }
    return {
      outputs: read,
      tables: items,
      destinations: new Map((destinations ?? []).map((name) => [name, local.destinationRecords(name)])),
      ...(local.destinations !== undefined && { destinationCalls: { ...local.destinations.calls } }),
      stages: local.status(),
      failedBatches: local.failedBatches,
      fed,
      elapsedMs: performance.now() - started,
      workerKills: local.workerKills(),
    };
  } finally {
    direct.destroy();
    await local.stop();
  }
}

/** One line per stage: invocations, function errors, kills, environments, for the test log. */
export function describeStages(stages: readonly StageStatus[]): string {
  return stages
    .map(
      (s) =>
        `${s.stage.id}: ${s.stats.invocations} invocations, ${s.stats.functionErrors} function errors, ` +
        `${s.stats.sandboxKills} workers killed, ${s.sandboxes} environments started` +
        (s.stats.lastError === undefined ? '' : ` (last error: ${s.stats.lastError})`),
    )
    .join('\n');
}

/**
 * examples/page-view-counts.ts run with faults over a clicks file, and its windows compared with the
 * batch computation over the same file.
 */
export async function runPageViewCounts(
  options: Omit<FaultedRunOptions, 'pipeline' | 'inputs' | 'outputs'> & { readonly input: string },
): Promise<{ run: FaultedRun; comparison: WindowComparison }> {
  const { input, ...rest } = options;
  const run = await runPipelineWithFaults({
    ...rest,
    pipeline: pageViewCounts,
    inputs: [{ stream: 'clicks', file: input }],
    outputs: [PAGE_VIEW_COUNTS_SINK, PAGE_VIEW_COUNTS_LATE],
  });
  const expected = pageViewCountsOf(options.input);
  return { run, comparison: compareWindows(run.outputs.get(PAGE_VIEW_COUNTS_SINK) as WindowResult[], expected) };
}

/** The batch computation of examples/page-view-counts.ts over a clicks file: views per page per minute. */
export function pageViewCountsOf(input: string): Map<string, number> {
  return reference(
    views(input),
    (c) => c.page,
    tumbling('1m'),
    () => 1,
  );
}

export const PAGE_VIEW_COUNTS_SINK = 'page-view-counts';
export const PAGE_VIEW_COUNTS_LATE = 'late-clicks';
