import { join, resolve } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { type KinesisClient, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import type { PipelinePlan, StageSpec } from '../../shared/dag/plan-types.js';
import type { Pipeline } from '../../shared/dsl/pipeline.js';
import { assertSecretsInEnvironment } from '../../shared/operators/secrets.js';
import type { DeadLetterEnvelope } from '../../shared/runtime/dead-letter.js';
import { IdlenessCheck } from '../../shared/runtime/idleness.js';
import { DynamoDbStreamShards, describeStreamWith } from '../../shared/runtime/io/dynamodb-stream-shards.js';
import { DynamoDbTableStore } from '../../shared/runtime/io/dynamodb-table-store.js';
import { DynamoDbWindowStore } from '../../shared/runtime/io/dynamodb-window-store.js';
import { KinesisLatestArrival } from '../../shared/runtime/io/kinesis-latest-arrival.js';
import { KinesisRecordWriter } from '../../shared/runtime/io/kinesis-record-writer.js';
import { KinesisShardDirectory } from '../../shared/runtime/io/shard-directory.js';
import { createStateTable } from '../../shared/runtime/io/state-table-schema.js';
import { createLambdaStageHandler } from '../../shared/runtime/lambda-handler.js';
import { CONTROL_PARTITION_KEY, END_OF_INPUT_DATA } from '../../shared/runtime/watermark-records.js';
import { sleep } from '../../shared/util/backoff.js';
import { seededRandom } from '../../shared/util/random.js';
import {
  createDestinationClients,
  createDynamoDbClient,
  createKinesisClient,
  defaultLocalRegion,
} from '../aws-clients.js';
import { DestinationStandIn, type StandInFaults } from '../destinations/destination-stand-in.js';
import { type EmulatorStore, type RunningEmulators, startEmulators } from '../emulators/index.js';
import { type EndpointOptions, externalEndpoints } from '../endpoints.js';
import {
  dynamoDbStreamAsKinesis,
  requireWindowState,
  type TableStreamInput,
  toDynamoDbStreamEvent,
} from '../event-source-mapping/dynamodb-streams-reader.js';
import {
  FileCheckpointStore,
  KinesisEventSourceMapping,
  type MappingStats,
  type StartingPosition,
} from '../event-source-mapping/index.js';
import type { DiscardedBatch } from './discarded-batches.js';
import { type Generation, generationSuffix, generationTable, loadGeneration, saveGeneration } from './generations.js';
import { localLambdaContext } from './lambda-context.js';
import { LocalDeadLetterQueue } from './local-dead-letter-queue.js';
import { ensurePipelineTables, localTableNames, scanTablePages, seedTable } from './pipeline-tables.js';
import { retryTransient } from './runner-retries.js';
import { SandboxPool } from './sandbox-pool.js';
import { SourceTables, type TableChangeLine } from './source-tables.js';
import { StageStats } from './stage-stats.js';
import {
  motionMark,
  type StageMotion,
  StallError,
  StallWatch,
  stallLimitFromEnvironment,
  stallMessage,
} from './stall-watch.js';
import { ensureStream } from './stream-admin.js';
import { readStreamPages, readWholeStream, type StoredRecord } from './stream-reader.js';
import { SandboxExitError, type StageSandbox, WorkerSandbox } from './worker-sandbox.js';

export type LocalLogLevel = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'SILENT';

/**
 * Endpoints (EndpointOptions): what has no running endpoint is started embedded on free ports, with
 * the `engines` chosen, and stopped with the pipeline.
 */
export interface LocalPipelineOptions extends EndpointOptions {
  readonly pipeline: Pipeline;
  /**
   * Where the stage handlers run: `in-process` (handler instances in this process, the default) or
   * `worker`: each execution environment is a child process that imports `pipelineModule`, and can
   * die in the middle of a batch as a Lambda runtime can (docs/reliability.md).
   * @default 'in-process'
   */
  readonly sandboxes?: SandboxMode;
  /** The file that default-exports `pipeline`: worker sandboxes import it by path. */
  readonly pipelineModule?: string;
  /**
   * Fault injection for tests, worker sandboxes only: the share of invocations whose worker sends
   * itself SIGKILL at a random point: after a random number of the invocation's AWS requests (so
   * after some of its writes took effect, with others in flight), or just before answering.
   */
  readonly killWorkers?: KillWorkersOptions;
  /**
   * Keep the local stack's data in this folder: the emulators' streams, records and tables
   * (startEmulators' `dataDir`) and each event source mapping's checkpoints
   * (`event-source-mappings/<function><.g<generation>>.json`), as Lambda keeps them outside the
   * function. A pipeline stopped and started again on the same folder resumes where it stopped.
   * @default in memory: gone when the pipeline stops
   */
  readonly dataDir?: string;
  /**
   * Where the embedded kinesalite and dynalite keep their data when there is no `dataDir`
   * (startEmulators' `store`): a temporary LevelDB folder, removed when the pipeline stops, keeps
   * the emulators' memory bounded as the input grows; `memory` is the older memdown store.
   * `EDDY_EMULATOR_STORE` sets it too. docs/performance.md has both measured.
   * @default 'temporary-disk'
   */
  readonly emulatorStore?: EmulatorStore;
  /**
   * How long a run may go without any record moving before it fails (stall-watch.ts); a run that
   * makes progress never times out. `EDDY_STALL_LIMIT_SECONDS` sets it too. @default 300000
   */
  readonly stallLimitMs?: number;
  /**
   * The state generation to run (generations.ts): its state table (`<table>-g<n>` for n > 0), its
   * mappings' checkpoints and where they start. A replay runs a new one. Recorded in `dataDir`.
   * @default the generation `dataDir` last ran, else 0
   */
  readonly generation?: Generation;
  /** Prepended to every stream name, as `streamNamePrefix` does in the CDK construct. @default '' */
  readonly streamPrefix?: string;
  /**
   * A running DynamoDB Local (with Streams) for the tables of `dynamoDbStream` sources.
   * @default one started for the run, when the pipeline has such a source
   */
  readonly sourceTablesEndpoint?: string;
  /** How often an idle shard is polled. Lambda polls about once a second; locally faster keeps runs short. @default 50 */
  readonly pollIntervalMs?: number;
  /** Log level of the stage handlers' Powertools logger. @default 'ERROR' */
  readonly logLevel?: LocalLogLevel;
  /** The functions' timeout, the time budget each invocation gets. @default 60000 */
  readonly functionTimeoutMs?: number;
  /**
   * Fault injection for tests: the share of invocations that "crash" after the handler finished,
   * its outputs and state written, before Lambda could checkpoint: the mapping delivers the batch
   * again, as Lambda does after a timeout or an out-of-memory kill. @default 0
   */
  readonly crashAfterBatchRate?: number;
  /**
   * The first this many invocations of each stage that may crash do crash (as above), whatever the
   * draw: a test is then sure every stage's retries were exercised. @default 0
   */
  readonly crashFirstBatches?: number;
  /** Seeds the fault injection. @default 1 */
  readonly faultSeed?: number;
  /** The stages whose invocations may crash. @default every stage */
  readonly crashStages?: readonly string[];
  /**
   * How often idle source shards are looked for, when a source has an `idleTimeout` (EventBridge
   * runs the same check every minute in the cloud). @default 1000
   */
  readonly idleCheckIntervalMs?: number;
  /**
   * Called after every invocation of a stage's function with its duration in ms, failed or not (the
   * batch duration histogram of the local Prometheus endpoint, local/observability/).
   */
  readonly onInvocation?: (stageId: string, durationMs: number) => void;
  /**
   * Called when an invocation of a stage's function fails, with the shard of its batch (the
   * console's last errors, local/observability/recent-events.ts).
   */
  readonly onInvocationError?: (stageId: string, error: unknown, shardId: string | undefined) => void;
  /**
   * Fault injection for tests: the share of the message sinks' calls (SendMessageBatch, PutEvents,
   * PutRecordBatch) that the local stand-in throttles, fails in part, or takes and answers 500 to.
   * @default none
   */
  readonly destinationFaults?: StandInFaults;
  /**
   * Where the stages send the message sinks' calls, given the stand-in's endpoint: in tests, a fault
   * proxy in front of it (test/helpers/fault-proxy.ts). @default the stand-in itself
   */
  readonly destinationEndpoint?: (standIn: string) => string | Promise<string>;
}

export type SandboxMode = 'in-process' | 'worker';

export interface KillWorkersOptions {
  /** Share of invocations whose worker is killed, 0 to 1. */
  readonly rate: number;
  /** Seeds which invocations, and at which request. @default 1 */
  readonly seed?: number;
  /** The stages whose workers may be killed. @default every stage */
  readonly stages?: readonly string[];
  /**
   * Until this many workers of a stage were killed, an invocation that follows one without a kill
   * (or `1 / rate` of them, if fewer) is killed whatever the draw: a test that needs N kills in every
   * stage gets them however the batches happen to be cut, in any stage invoked twice or more (the
   * first invocation is left to the draw, so that a crash after the first batch still happens).
   * @default 0
   */
  readonly atLeast?: number;
}

/** A crash the local stack injected on purpose (tests of the delivery guarantee). */
export class InjectedCrashError extends Error {
  override readonly name = 'InjectedCrashError';
}

export interface StageStatus {
  readonly stage: StageSpec;
  readonly stats: StageStats;
  readonly mapping: MappingStats;
  /** Environments started for this stage's function. */
  readonly sandboxes: number;
  /** Environments that died and were replaced (worker sandboxes). */
  readonly sandboxesReplaced: number;
  /** Failed batches the mapping split (BisectBatchOnFunctionError), over the input shards (ShardStats.bisects). */
  readonly bisects: number;
  /** The stage's consumer lag over its input shards (per shard: `mapping.shards[i].lag`). */
  readonly lag: StageLag;
}

/** A stage's consumer lag: the worst of its input shards (see ShardLag). */
export interface StageLag {
  /** Time behind the newest record, ms, the worst of the input shards (ShardLag.lagMs). */
  readonly lagMs: number;
  /** The highest age now, in ms, of a record read and not yet checkpointed, over the shards. */
  readonly iteratorAgeMs: number;
  /** The highest IteratorAge of any invocation so far (what the run summary shows as max lag). */
  readonly maxIteratorAgeMs: number;
  /** Records read and not yet checkpointed, over the shards. */
  readonly pendingRecords: number;
  /** Shards whose mapping stopped reading because it holds a full batch per lane already. */
  readonly backpressuredShards: number;
}

/**
 * A pipeline deployed on a local Kinesis: its streams created, and every stage's Lambda handler
 * driven by a local event source mapping with the stage's settings, as Lambda would in AWS.
 */
export class LocalPipeline {
  readonly plan: PipelinePlan;
  /** Batches discarded by an event source mapping (its on-failure destination), with their stage and last error. */
  readonly failedBatches: DiscardedBatch[] = [];
  readonly #mappings = new Map<string, KinesisEventSourceMapping>();
  readonly #stats = new Map<string, StageStats>();
  readonly #pools = new Map<string, SandboxPool<StageSandbox>>();
  readonly shards: KinesisShardDirectory;
  /** The state store of windowed stages, when the pipeline has any. */
  store: DynamoDbWindowStore | undefined;
  /** The pipeline's tables (`toTable`, `pipeline.table`), when it has any. */
  tables: DynamoDbTableStore | undefined;
  /**
   * The local stand-in for the dead-letter SQS queue, when the pipeline sends dead letters to one
   * (`deadLetter: { queue: true }`): an in-process sink the stages' handlers send to.
   */
  deadLetterQueue: LocalDeadLetterQueue | undefined;
  /**
   * The local stand-in of SQS, EventBridge and Firehose, when the pipeline sends to any of them
   * (`toSqs`, `toEventBridge`, `toFirehose`): what the queues, buses and delivery streams took.
   */
  destinations: DestinationStandIn | undefined;
  /** Each destination's target in its API (the queue's URL, the bus's or the stream's name), by name. */
  destinationTargets: Record<string, string> = {};
  /** Where the stages send the message sinks' calls: the stand-in, or a proxy in front of it. */
  #destinationEndpoint = '';
  /** The state generation this pipeline runs (its table, its mappings). */
  generation: Generation = { generation: 0 };
  /** The tables of `dynamoDbStream` sources, on DynamoDB Local; undefined when the pipeline has none. */
  sourceTables: SourceTables | undefined;
  /** How the stages of `dynamoDbStream` sources read their tables' streams, with the source each reads. */
  readonly #tableStreamInputs: { readonly source: string; readonly input: TableStreamInput }[] = [];
  #idleTimer: NodeJS.Timeout | undefined;
  #idleRun: Promise<void> | undefined;
  #stopped = false;

  private constructor(
    readonly pipeline: Pipeline,
    readonly kinesis: KinesisClient,
    readonly streamPrefix: string,
    readonly endpoint: string,
    readonly emulators: RunningEmulators | undefined,
    readonly dynamodb: DynamoDBClient | undefined,
    /** Where the state table is, for stateful pipelines. */
    readonly dynamodbEndpoint: string | undefined,
    /** See LocalPipelineOptions.stallLimitMs. */
    readonly stallLimitMs: number,
  ) {
    this.plan = pipeline.plan();
    this.shards = new KinesisShardDirectory({ client: kinesis, streamPrefix, cacheMs: 1000 });
  }

  static async start(options: LocalPipelineOptions): Promise<LocalPipeline> {
    // Locally the run summary reports what CloudWatch would show; EMF lines on stdout would bury it.
    process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
    // Locally, the secrets of operators (tokenize's key) come from EDDY_SECRET_<NAME>: all there, or a clear error now.
    process.env.EDDY_SECRETS_SOURCE ??= 'env';
    if (process.env.EDDY_SECRETS_SOURCE === 'env') assertSecretsInEnvironment(options.pipeline.graph);
    const external = externalEndpoints(options);
    // Window and join state, and tables, live in DynamoDB.
    const stateful = options.pipeline.plan().stateTable !== undefined || options.pipeline.plan().tables !== undefined;
    if ((options.sandboxes ?? 'in-process') === 'worker' && !options.pipelineModule) {
      throw new Error("sandboxes: 'worker' needs pipelineModule, the file that default-exports the pipeline");
    }
    const embedded = { kinesis: external.kinesis === undefined, dynamodb: stateful && external.dynamodb === undefined };
    const emulators =
      embedded.kinesis || embedded.dynamodb
        ? await startEmulators({
            ...embedded,
            ...(options.engines !== undefined && { engines: options.engines }),
            ...(options.dataDir !== undefined && { dataDir: options.dataDir }),
            store: options.emulatorStore ?? emulatorStoreFromEnvironment(),
          })
        : undefined;
    const endpoint = external.kinesis ?? emulators?.kinesisEndpoint ?? '';
    const dynamodbEndpoint = external.dynamodb ?? emulators?.dynamodbEndpoint;
    const local = new LocalPipeline(
      options.pipeline,
      createKinesisClient(endpoint),
      options.streamPrefix ?? '',
      endpoint,
      emulators,
      stateful && dynamodbEndpoint !== undefined ? createDynamoDbClient(dynamodbEndpoint) : undefined,
      stateful ? dynamodbEndpoint : undefined,
      options.stallLimitMs ?? stallLimitFromEnvironment(),
    );
    try {
      await local.#deploy(options);
    } catch (error) {
      await local.stop();
      throw error;
    }
    return local;
  }

  physicalName(stream: string): string {
    return `${this.streamPrefix}${stream}`;
  }

  /**
   * Writes items to a `dynamoDbStream` source's table (what `eddy run --input <source>=file` does):
   * each line an item to put, or `{ "$delete": key }`; DynamoDB makes them the source's changes.
   */
  async writeTableChanges(source: string, lines: readonly TableChangeLine[]): Promise<number> {
    if (this.sourceTables === undefined)
      throw new Error(`pipeline '${this.plan.pipeline}' has no dynamoDbStream source`);
    return this.sourceTables.write(source, lines);
  }

  /** The physical DynamoDB table of each of the pipeline's tables, by table name. */
  get tableNames(): Record<string, string> {
    return localTableNames(this.plan, this.streamPrefix);
  }

  /** Puts rows into one of the pipeline's external tables (what `eddy run --table` does). */
  async seedTable(table: string, items: readonly object[]): Promise<void> {
    const spec = this.plan.tables?.find((candidate) => candidate.name === table);
    if (spec?.kind !== 'external' || this.dynamodb === undefined) {
      const external = (this.plan.tables ?? []).filter((t) => t.kind === 'external').map((t) => t.name);
      throw new Error(
        `table '${table}' is not an external table of '${this.plan.pipeline}' (external tables: ${external.join(', ') || 'none'})`,
      );
    }
    await seedTable(this.dynamodb, this.tableNames[table] ?? spec.tableName, items);
  }

  /** The physical name of the state table of the running generation; undefined when stateless. */
  get stateTable(): string | undefined {
    return this.plan.stateTable === undefined
      ? undefined
      : generationTable(this.physicalName(this.plan.stateTable), this.generation.generation);
  }

  async #deploy(options: LocalPipelineOptions): Promise<void> {
    const recordAs = this.physicalName(this.plan.pipeline);
    const recorded = options.dataDir === undefined ? undefined : loadGeneration(options.dataDir, recordAs);
    this.generation = options.generation ?? recorded ?? { generation: 0 };
    if (options.dataDir !== undefined && options.generation !== undefined) {
      saveGeneration(options.dataDir, recordAs, options.generation);
    }
    await Promise.all(
      this.plan.streams
        .filter((s) => s.dynamoDbStream === undefined)
        .map((s) => ensureStream(this.kinesis, this.physicalName(s.name), s.shardCount)),
    );
    if (SourceTables.sourcesOf(this.plan).length > 0) {
      this.sourceTables = await SourceTables.start(this.plan, {
        prefix: this.streamPrefix,
        ...(options.sourceTablesEndpoint !== undefined && { endpoint: options.sourceTablesEndpoint }),
      });
    }
    const sourceTables = this.sourceTables;
    const dynamoDbStreams =
      sourceTables === undefined
        ? undefined
        : new DynamoDbStreamShards({
            describe: describeStreamWith(() => sourceTables.streams),
            streams: sourceTables.streamArns,
            cacheMs: 1000,
          });
    if (this.plan.deadLetter.kind === 'queue') {
      const name = this.physicalName(this.plan.deadLetter.name);
      this.deadLetterQueue = new LocalDeadLetterQueue(
        name,
        options.dataDir === undefined ? undefined : join(options.dataDir, 'dead-letter-queues', `${name}.jsonl`),
      );
    }
    const deadLetters = this.deadLetterQueue;
    let store: DynamoDbWindowStore | undefined;
    if (this.stateTable !== undefined && this.dynamodb !== undefined) {
      const table = this.stateTable;
      await createStateTable(this.dynamodb, table).catch((error: unknown) => {
        // A running endpoint or a data folder may already have it from an earlier run: reuse it.
        // (createStateTable wraps the SDK's error: the name to look at is its cause's.)
        const cause = ((error as Error).cause ?? error) as Error;
        if (cause.name !== 'ResourceInUseException' && !/exist/i.test(cause.message)) throw error;
      });
      store = new DynamoDbWindowStore({ client: this.dynamodb, tableName: table });
      this.store = store;
    }
    let tables: DynamoDbTableStore | undefined;
    if (this.plan.tables !== undefined && this.dynamodb !== undefined) {
      await ensurePipelineTables(this.dynamodb, this.plan, this.tableNames);
      tables = new DynamoDbTableStore({ client: this.dynamodb, tableNames: this.tableNames });
      this.tables = tables;
    }
    if (this.plan.destinations !== undefined) {
      const standIn = await DestinationStandIn.start(
        options.destinationFaults === undefined ? {} : { faults: options.destinationFaults },
      );
      this.destinations = standIn;
      for (const destination of this.plan.destinations) {
        // As the construct names them: a destination it creates gets the prefix, an existing one not.
        const physical = destination.existing === undefined ? this.physicalName(destination.name) : destination.name;
        this.destinationTargets[destination.name] = standIn.create(destination.service, physical);
      }
      this.#destinationEndpoint = (await options.destinationEndpoint?.(standIn.endpoint)) ?? standIn.endpoint;
    }
    const destinations =
      this.destinations === undefined
        ? undefined
        : { targets: this.destinationTargets, clients: createDestinationClients(this.#destinationEndpoint) };
    const region = process.env.AWS_REGION ?? defaultLocalRegion;
    const timeoutMs = options.functionTimeoutMs ?? 60_000;
    const random = seededRandom(options.faultSeed ?? 1);
    const crashes = () => random() < (options.crashAfterBatchRate ?? 0);
    const workers = (options.sandboxes ?? 'in-process') === 'worker';
    const kill = options.killWorkers;
    const killRandom = seededRandom(kill?.seed ?? 1);
    for (const stage of this.plan.stages) {
      const kills = { total: 0, sinceLast: 0 };
      const stats = new StageStats(stage.id);
      const functionName = `${this.plan.pipeline}-${stage.id}`.slice(0, 64);
      const pool = workers
        ? this.#workerPool(stage, stats, options)
        : new SandboxPool<StageSandbox>(() => {
            const handler = createLambdaStageHandler(this.pipeline, {
              stageId: stage.id,
              writer: new KinesisRecordWriter({ client: this.kinesis, streamPrefix: this.streamPrefix }),
              shards: this.shards,
              ...(store !== undefined && { store }),
              ...(tables !== undefined && { tables }),
              ...(destinations !== undefined && { destinations }),
              ...(deadLetters !== undefined && { deadLetters }),
              ...(dynamoDbStreams !== undefined && { dynamoDbStreams }),
              logger: new Logger({ serviceName: this.plan.pipeline, logLevel: options.logLevel ?? 'ERROR' }),
              metrics: new Metrics({ namespace: 'Eddy', serviceName: this.plan.pipeline }),
              onBatch: (report) => stats.add(report),
            });
            return { alive: true, invoke: (event, context) => handler(event, context), stop: async () => {} };
          });
      const killable = workers && kill !== undefined && (kill.stages?.includes(stage.id) ?? true);
      /** Where this invocation's worker dies, if it does: after 1 to (the most requests lately + 1). */
      const killPoint = (): number | undefined => {
        if (!killable || kill === undefined) return undefined;
        kills.sinceLast += 1;
        const owed = kills.total < (kill.atLeast ?? 0) && kills.sinceLast >= Math.min(2, Math.ceil(1 / kill.rate));
        if (killRandom() >= kill.rate && !owed) return undefined;
        kills.total += 1;
        kills.sinceLast = 0;
        const typical = Math.max(0, ...stats.recentRequests);
        return 1 + Math.floor(killRandom() * (typical + 1));
      };
      const settings = stage.eventSource;
      // A table's stream is read through the same mapping: DynamoDB Streams has Kinesis' shards,
      // iterators and rules (dynamodb-streams-reader.ts); the function gets a DynamoDB stream event.
      const tableStream = sourceTables?.streamArns[stage.input];
      const input =
        tableStream === undefined || sourceTables === undefined
          ? {
              kinesis: this.kinesis,
              streamName: this.physicalName(stage.input),
              asEvent: <E>(event: E) => event,
              readResponse: <R>(response: R) => response,
            }
          : {
              kinesis: this.#readTableStream(
                stage.input,
                dynamoDbStreamAsKinesis(sourceTables.streams, tableStream, { awsRegion: region }),
              ),
              streamName: sourceTables.tableNames[stage.input] ?? stage.input,
              asEvent: (event: Parameters<typeof toDynamoDbStreamEvent>[0]) => toDynamoDbStreamEvent(event),
              readResponse: requireWindowState,
            };
      const checkpointFile = `${this.streamPrefix}${functionName}${generationSuffix(this.generation.generation)}.json`;
      const mapping = new KinesisEventSourceMapping({
        ...this.#startingPosition(stage),
        ...(options.dataDir !== undefined && {
          checkpoints: new FileCheckpointStore(join(options.dataDir, 'event-source-mappings', checkpointFile)),
        }),
        kinesis: input.kinesis,
        streamName: input.streamName,
        functionName,
        awsRegion: region,
        batchSize: settings.batchSize,
        maxBatchingWindowSeconds: settings.maxBatchingWindowSeconds,
        parallelizationFactor: settings.parallelizationFactor,
        bisectBatchOnFunctionError: settings.bisectBatchOnFunctionError,
        maximumRetryAttempts: settings.retryAttempts,
        maximumRecordAgeSeconds: settings.maxRecordAgeSeconds,
        reportBatchItemFailures: true,
        pollIntervalMs: options.pollIntervalMs ?? 50,
        shardDiscoveryIntervalMs: 500,
        onFailure: async (record) => {
          // The shard's last error is the failure that used up the retries: the reason to print.
          const shard = mapping.stats().shards.find((s) => s.shardId === record.KinesisBatchInfo.shardId);
          this.failedBatches.push({ ...record, stage: stage.id, lastError: shard?.lastError });
        },
        // An error while the handler is created (Lambda's init phase) is a function error too.
        invoke: async (event) => {
          const started = performance.now();
          stats.invocations += 1;
          // This invocation's place among the stage's, read now: others start while it runs.
          const ordinal = stats.invocations;
          try {
            return await pool.with(async (sandbox) => {
              const killAfter = killPoint();
              try {
                const response = await sandbox.invoke(
                  input.asEvent(event) as typeof event,
                  localLambdaContext(functionName, timeoutMs, region),
                  killAfter,
                );
                const crashable = options.crashStages?.includes(stage.id) ?? true;
                if (crashable && (ordinal <= (options.crashFirstBatches ?? 0) || crashes()))
                  throw new InjectedCrashError('injected crash after the batch was processed');
                return input.readResponse(response);
              } catch (error) {
                if (error instanceof SandboxExitError) {
                  stats.sandboxExits += 1;
                  if (killAfter !== undefined && error.signal === 'SIGKILL') stats.sandboxKills += 1;
                }
                throw error;
              }
            }, shardOfEvent(event));
          } catch (error) {
            stats.functionErrors += 1;
            stats.lastError = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
            options.onInvocationError?.(stage.id, error, shardOfEvent(event));
            throw error;
          } finally {
            const elapsed = performance.now() - started;
            stats.busyMs += elapsed;
            options.onInvocation?.(stage.id, elapsed);
          }
        },
      });
      this.#stats.set(stage.id, stats);
      this.#pools.set(stage.id, pool);
      this.#mappings.set(stage.id, mapping);
    }
    for (const mapping of this.#mappings.values()) mapping.start();
    await Promise.all([...this.#mappings.values()].map((mapping) => mapping.ready()));
    this.#startIdlenessCheck(options.idleCheckIntervalMs ?? 1000);
  }

  /**
   * Where a stage's mapping starts in a shard it has no checkpoint for: the generation's positions
   * (a replay: the source stages from its point in time, the others from the replay's start), else
   * the plan's.
   */
  #startingPosition(stage: StageSpec): { startingPosition: StartingPosition; startingPositionTimestamp?: Date } {
    const readsSource = this.plan.streams.some((s) => s.name === stage.input && s.role === 'source');
    const from = readsSource ? this.generation.sourcesFrom : this.generation.downstreamFrom;
    if (from === undefined) return { startingPosition: stage.eventSource.startingPosition };
    if (from === 'TRIM_HORIZON' || from === 'LATEST') return { startingPosition: from };
    const timestamp = new Date(from);
    if (Number.isNaN(timestamp.getTime()))
      throw new Error(`generation ${this.generation.generation}: bad time ${from}`);
    return { startingPosition: 'AT_TIMESTAMP', startingPositionTimestamp: timestamp };
  }

  /** Execution environments of a stage as child processes (`sandboxes: 'worker'`). */
  #workerPool(stage: StageSpec, stats: StageStats, options: LocalPipelineOptions): SandboxPool<StageSandbox> {
    const config = {
      modulePath: resolve(options.pipelineModule ?? ''),
      pipelineName: this.plan.pipeline,
      stageId: stage.id,
      kinesisEndpoint: this.endpoint,
      dynamodbEndpoint: this.dynamodbEndpoint,
      streamPrefix: this.streamPrefix,
      stateTable: this.store === undefined ? undefined : this.stateTable,
      ...(this.tables !== undefined && { tables: this.tableNames }),
      ...(this.destinations !== undefined && {
        destinations: { endpoint: this.#destinationEndpoint, targets: this.destinationTargets },
      }),
      ...(this.sourceTables !== undefined && {
        dynamoDbStreams: { endpoint: this.sourceTables.endpoint, streamArns: this.sourceTables.streamArns },
      }),
      logLevel: options.logLevel ?? 'ERROR',
      ...(this.deadLetterQueue !== undefined && { deadLetterQueue: true }),
    };
    const queue = this.deadLetterQueue;
    return new SandboxPool<StageSandbox>(
      () =>
        new WorkerSandbox({
          config,
          onBatch: (report) => stats.add(report),
          ...(queue !== undefined && { onDeadLetters: (envelopes) => queue.add(envelopes) }),
          onRequests: (requests) => stats.noteRequests(requests),
        }),
      // One environment started ahead: a killed worker's batch is retried without waiting for a cold start.
      { alive: (sandbox) => sandbox.alive, dispose: (sandbox) => sandbox.stop(), spares: 1 },
    );
  }

  /** The scheduled idleness check of the cloud, on a timer; runs never overlap. */
  #startIdlenessCheck(intervalMs: number): void {
    const check = new IdlenessCheck({
      pipeline: this.pipeline,
      arrivals: new KinesisLatestArrival({ client: this.kinesis, streamPrefix: this.streamPrefix }),
      shards: this.shards,
      writer: new KinesisRecordWriter({ client: this.kinesis, streamPrefix: this.streamPrefix }),
    });
    if (!check.enabled) return;
    const schedule = () => {
      if (this.#stopped) return;
      this.#idleTimer = setTimeout(() => {
        // A failed run is as a failed scheduled invocation: the next one tries again.
        this.#idleRun = check
          .run()
          .then(() => undefined)
          .catch(() => undefined)
          .finally(schedule);
      }, intervalMs);
    };
    schedule();
  }

  status(): StageStatus[] {
    return this.plan.stages.map((stage) => {
      const mapping = this.#mappings.get(stage.id)?.stats() ?? { running: false, shards: [] };
      return {
        stage,
        stats: this.#stats.get(stage.id) ?? new StageStats(stage.id),
        mapping,
        sandboxes: this.#pools.get(stage.id)?.created ?? 0,
        sandboxesReplaced: this.#pools.get(stage.id)?.replaced ?? 0,
        bisects: mapping.shards.reduce((sum, shard) => sum + shard.bisects, 0),
        lag: stageLag(mapping),
      };
    });
  }

  /** Workers killed on purpose (`killWorkers`), over every stage. */
  workerKills(): number {
    return [...this.#stats.values()].reduce((sum, stats) => sum + stats.sandboxKills, 0);
  }

  /**
   * Resolves once every stage has processed everything in its input, downstream stages included:
   * all mappings caught up, and no invocation happened for a few poll intervals (an upstream stage's
   * last writes are seen by the next stage's next poll). There is no limit on how long that takes
   * while records move; it fails with a StallError naming the stages and shards left with work only
   * when nothing moved for `stallLimitMs` (stall-watch.ts).
   */
  async waitUntilDrained(options: { stallLimitMs?: number; quietMs?: number } = {}): Promise<void> {
    const stallLimitMs = options.stallLimitMs ?? this.stallLimitMs;
    const maxWindowMs = Math.max(...this.plan.stages.map((s) => s.eventSource.maxBatchingWindowSeconds * 1000));
    const quietMs = options.quietMs ?? 500 + maxWindowMs;
    const activity = () => this.status().reduce((sum, s) => sum + s.stats.invocations, 0);
    const watch = new StallWatch(stallLimitMs, Date.now());
    let last = activity();
    let quietSince = Date.now();
    for (;;) {
      await sleep(50);
      const now = activity();
      const caughtUp = [...this.#mappings.values()].every((mapping) => mapping.isCaughtUp());
      if (now !== last || !caughtUp) {
        last = now;
        quietSince = Date.now();
      } else if (Date.now() - quietSince >= quietMs) {
        return;
      }
      const motion = this.motion();
      if (watch.stalled(motionMark(motion), Date.now())) {
        throw new StallError(stallMessage(this.plan.pipeline, motion, stallLimitMs));
      }
    }
  }

  /** Every stage's counters and shards, as the stall watch compares them. */
  motion(): StageMotion[] {
    return this.status().map((s) => ({
      stageId: s.stage.id,
      invocations: s.stats.invocations + s.stats.functionErrors + s.stats.recordsIn,
      shards: s.mapping.shards,
    }));
  }

  #readTableStream(source: string, input: TableStreamInput): KinesisClient {
    this.#tableStreamInputs.push({ source, input });
    return input.kinesis;
  }

  /**
   * Marks the end of a bounded input: an end-of-input record on every open shard of the source
   * stream, after its data, so the watermark reaches the end of time and every window fires. For a
   * `dynamoDbStream` source, call it once its table's writes are done: the mapping then reads the
   * mark after each open shard's last change (dynamodb-streams-reader.ts).
   */
  async endInput(stream: string): Promise<void> {
    const tableStreams = this.#tableStreamInputs.filter((reader) => reader.source === stream);
    for (const { input } of tableStreams) input.endInput();
    if (tableStreams.length > 0) return;
    const shards = await retryTransient(`ListShards of ${stream}`, () => this.shards.openShards(stream));
    // Repeating an end-of-input record is harmless (a watermark at the end of time twice).
    const response = await retryTransient(`PutRecords of the end of input on ${stream}`, () =>
      this.kinesis.send(
        new PutRecordsCommand({
          StreamName: this.physicalName(stream),
          Records: shards.map((shard) => ({
            PartitionKey: CONTROL_PARTITION_KEY,
            ExplicitHashKey: shard.startingHashKey,
            Data: Buffer.from(END_OF_INPUT_DATA),
          })),
        }),
      ),
    );
    if (response.FailedRecordCount) throw new Error(`could not mark the end of input on ${stream}`);
  }

  /**
   * Every dead letter so far, from the dead-letter stream or the local dead-letter queue, with when
   * it arrived (epoch ms), in one array: for tests and small runs (deadLetterPages for the rest).
   */
  async readDeadLetters(): Promise<ArrivedDeadLetter[]> {
    const letters: ArrivedDeadLetter[] = [];
    for await (const page of this.deadLetterPages()) letters.push(...page);
    return letters;
  }

  /**
   * Every dead letter so far, one page at a time (a GetRecords page of the dead-letter stream, or a
   * slice of the local queue): a run with many dead letters is summarised without holding them all.
   */
  async *deadLetterPages(): AsyncGenerator<ArrivedDeadLetter[]> {
    if (this.deadLetterQueue !== undefined) {
      const messages = this.deadLetterQueue.messages();
      for (let start = 0; start < messages.length; start += deadLetterQueuePage) {
        const page = messages.slice(start, start + deadLetterQueuePage);
        yield page.map((envelope) => ({ envelope, arrivalTime: envelope.deadLetteredAt }));
      }
      return;
    }
    for await (const page of this.streamPages(this.plan.deadLetter.name)) {
      yield page.map((record) => ({
        envelope: JSON.parse(Buffer.from(record.data).toString('utf8')) as DeadLetterEnvelope,
        arrivalTime: record.arrivalTime,
      }));
    }
  }

  /** A sink table's items now (`toDynamoDb`), page by page: what `--output <table>=<file>` writes. */
  sinkTablePages(table: string): AsyncGenerator<Record<string, unknown>[]> {
    const spec = this.plan.tables?.find((candidate) => candidate.name === table && candidate.kind === 'sink');
    if (spec === undefined || this.dynamodb === undefined) {
      throw new Error(`'${table}' is not a DynamoDB table '${this.plan.pipeline}' writes with toDynamoDb`);
    }
    return scanTablePages(this.dynamodb, this.tableNames[table] ?? spec.tableName);
  }

  /** Every record a stream holds now. */
  readStream(stream: string): Promise<StoredRecord[]> {
    return readWholeStream(this.kinesis, this.physicalName(stream));
  }

  /** Every record a stream holds now, one page at a time (bounded memory: see readStreamPages). */
  streamPages(stream: string): AsyncGenerator<StoredRecord[]> {
    return readStreamPages(this.kinesis, this.physicalName(stream));
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#idleTimer);
    await this.#idleRun;
    await Promise.all([...this.#mappings.values()].map((mapping) => mapping.stop()));
    await Promise.all([...this.#pools.values()].map((pool) => pool.close()));
    await this.sourceTables?.stop();
    this.kinesis.destroy();
    this.dynamodb?.destroy();
    await this.destinations?.stop();
    await this.emulators?.stop();
  }

  /**
   * What a queue, bus or delivery stream took (`--output <name>=<file>`): SQS messages as
   * `{ body, attributes, groupId?, deduplicationId? }`, events as `{ source, detailType, detail }`
   * with the detail parsed, Firehose records parsed from their JSON lines.
   */
  destinationRecords(name: string): unknown[] {
    const spec = this.plan.destinations?.find((candidate) => candidate.name === name);
    if (spec === undefined || this.destinations === undefined) {
      throw new Error(`'${name}' is not a queue, bus or delivery stream '${this.plan.pipeline}' sends to`);
    }
    const physical = spec.existing === undefined ? this.physicalName(name) : name;
    switch (spec.service) {
      case 'sqs':
        return [...this.destinations.messages(physical)];
      case 'eventbridge':
        return this.destinations.events(physical).map((event) => ({ ...event, detail: JSON.parse(event.detail) }));
      case 'firehose':
        return this.destinations.records(physical).map((line) => JSON.parse(line) as unknown);
    }
  }
}

/** A dead letter and when it arrived in its stream or queue (epoch ms). */
export interface ArrivedDeadLetter {
  readonly envelope: DeadLetterEnvelope;
  readonly arrivalTime: number;
}

/** Messages per page of the local dead-letter queue, as a GetRecords page would hold records. */
const deadLetterQueuePage = 1000;

/** EDDY_EMULATOR_STORE, else the default: a temporary folder on disk. */
export function emulatorStoreFromEnvironment(): EmulatorStore {
  const value = process.env.EDDY_EMULATOR_STORE;
  if (value === undefined || value === '') return 'temporary-disk';
  if (value === 'memory' || value === 'temporary-disk') return value;
  throw new Error(`EDDY_EMULATOR_STORE: expected 'memory' or 'temporary-disk', got '${value}'`);
}

function stageLag(mapping: MappingStats): StageLag {
  let lagMs = 0;
  let iteratorAgeMs = 0;
  let maxIteratorAgeMs = 0;
  let pendingRecords = 0;
  let backpressuredShards = 0;
  for (const { lag } of mapping.shards) {
    lagMs = Math.max(lagMs, lag.lagMs);
    iteratorAgeMs = Math.max(iteratorAgeMs, lag.iteratorAgeMs);
    maxIteratorAgeMs = Math.max(maxIteratorAgeMs, lag.maxIteratorAgeMs);
    pendingRecords += lag.pendingRecords;
    if (lag.readAheadFull) backpressuredShards += 1;
  }
  return { lagMs, iteratorAgeMs, maxIteratorAgeMs, pendingRecords, backpressuredShards };
}

/** The shard an event's records come from: an event record's eventID is `<shard id>:<sequence number>`. */
function shardOfEvent(event: { readonly Records: readonly { readonly eventID: string }[] }): string | undefined {
  return event.Records[0]?.eventID.split(':')[0];
}
