import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import type { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import middy from '@middy/core';
import type { Context, DynamoDBStreamEvent, KinesisStreamBatchResponse, KinesisStreamEvent } from 'aws-lambda';
import type { Pipeline } from '../dsl/pipeline.js';
import {
  environmentSecretLoader,
  loadSecrets,
  type SecretLoader,
  SecretUnavailableError,
  ssmParameterSelector,
  stageSecrets,
} from '../operators/secrets.js';
import { isTumblingWindowEvent, type WindowStateResponse, withWindowState } from './dynamodb-stream-event.js';
import { EVERY_STATEFUL_KIND } from './every-stateful-kind.js';
import type { DeadLetterSink } from './io/dead-letter-sink.js';
import { DestinationWriter, type DestinationWriterOptions, destinationClients } from './io/destination-writer.js';
import type { StageStoresLoader } from './io/dynamodb-stores.js';
import { DynamoDbStreamShards, describeStreamWith, RoutedShardDirectory } from './io/dynamodb-stream-shards.js';
import { KinesisRecordWriter } from './io/kinesis-record-writer.js';
import type { RecordWriter } from './io/record-writer.js';
import { KinesisShardDirectory, type ShardDirectory, UniformShardDirectory } from './io/shard-directory.js';
import { queueDeadLetterSinkFromEnvironment } from './io/sqs-dead-letter-sink.js';
import type { StateStore } from './io/state-store.js';
import type { TableStore } from './io/table-store.js';
import { operatorMetricDocuments } from './operator-metrics.js';
import { dynamoDbStreamArns, inputRecordsOf, readsDynamoDbStream } from './stage-input.js';
import { type BatchReport, StageRunnerCore } from './stage-runner.js';
import { type StatefulRunnerFactory, statefulRunnerOf } from './stateful-runner.js';
import { END_OF_TIME } from './watermark-records.js';

export interface LambdaStageHandlerOptions {
  /** @default process.env.EDDY_STAGE_ID */
  readonly stageId?: string;
  /** @default process.env.EDDY_STREAM_PREFIX ?? '' */
  readonly streamPrefix?: string;
  /** @default a KinesisRecordWriter over a default KinesisClient */
  readonly writer?: RecordWriter;
  /**
   * Where the stage's message sinks (`toSqs`, `toEventBridge`, `toFirehose`) send: each
   * destination's queue URL, bus or delivery stream, and the clients. @default EDDY_DESTINATIONS
   * (a JSON object of targets by destination name) and the SDK's default clients
   */
  readonly destinations?: Pick<DestinationWriterOptions, 'targets' | 'clients'>;
  /**
   * Where dead letters go. @default the writer (the dead-letter stream), or, when the pipeline sends
   * them to a queue, SQS at the URL in EDDY_DEAD_LETTER_QUEUE_URL
   */
  readonly deadLetters?: DeadLetterSink;
  /** @default ListShards through the same client as the writer */
  readonly shards?: ShardDirectory;
  /** State of a windowed stage. @default the DynamoDB table named by EDDY_STATE_TABLE, for stateful stages */
  readonly store?: StateStore;
  readonly logger?: Logger;
  readonly metrics?: Metrics;
  readonly tracer?: Tracer;
  /**
   * Tables of a stage that enriches or keeps them. @default DynamoDB, the physical table names from
   * EDDY_TABLES (JSON, by table name), for stages that have tables
   */
  readonly tables?: TableStore;
  /**
   * Makes the stores of a stage that keeps state or uses tables and is not given `store` or
   * `tables`: `dynamoDbStores` in Lambda. Without it such a stage fails at init, so that an entry
   * point that leaves DynamoDB out of its bundle (functions/stateless-stage-handler.ts) can only run
   * the stages that need none.
   */
  readonly loadStores?: StageStoresLoader;
  /** Called after every batch: the local stack collects its run summary from here. */
  readonly onBatch?: (report: BatchReport) => void;
  /**
   * Writes one embedded-metric-format document (the per-operator metrics, operator-metrics.ts),
   * unless metrics are disabled (POWERTOOLS_METRICS_DISABLED, or POWERTOOLS_DEV). @default a line on stdout, as
   * Powertools writes its own: Lambda sends it to CloudWatch Logs, which extracts the metrics
   */
  readonly emfOutput?: (document: string) => void;
  /**
   * Reads the secrets the stage's operators declare (tokenize's key), once per execution environment,
   * before the first batch.
   * @default SSM Parameter Store (SecureString, decrypted) with GetParameter; the
   * environment (`EDDY_SECRET_<NAME>`) when `EDDY_SECRETS_SOURCE` is `env`, as the local stack sets it
   */
  readonly secrets?: SecretLoader;
  /**
   * The shards of the stage's `dynamoDbStream` source (its channels, and the shard of each batch).
   * @default DescribeStream on the stream ARN in EDDY_DYNAMODB_STREAMS, for a stage that reads one
   */
  readonly dynamoDbStreams?: DynamoDbStreamShards;
  /**
   * The stateful operators this function runs (statefulRunnerOf of stateful-runner.ts): an entry point
   * of one stage kind gives its own, so that its bundle holds no other (functions/).
   * @default every kind with createLambdaStageHandler; none with createStageHandler, which then
   * refuses a stage that keeps state at init
   */
  readonly stateful?: StatefulRunnerFactory;
}

/** EDDY_DESTINATIONS: the construct's JSON object of each destination's queue URL, bus or delivery stream. */
function destinationTargetsFromEnvironment(): Record<string, string> {
  const value = process.env.EDDY_DESTINATIONS;
  if (value === undefined || value === '') {
    throw new Error(
      'EDDY_DESTINATIONS is not set: the stage sends to queues, buses or delivery streams it cannot name',
    );
  }
  return JSON.parse(value) as Record<string, string>;
}

/** A Kinesis event, or a DynamoDB stream event for a stage that reads a `dynamoDbStream` source. */
export type StageEvent = KinesisStreamEvent | DynamoDBStreamEvent;

/** The partial batch response; with `state` too for an event of a mapping with a tumbling window. */
export type StageResponse = KinesisStreamBatchResponse | WindowStateResponse;

export type StageHandler = (event: StageEvent, context: Context) => Promise<StageResponse>;

/**
 * The Lambda handler of one stage: middy with Powertools' logger (one correlation id per record),
 * metrics (EMF, flushed after each invocation) and tracer around the stage runner. The local stack
 * calls this same handler, so what runs locally is what runs in Lambda.
 *
 * @example
 * export const handler = createLambdaStageHandler(pipeline); // EDDY_STAGE_ID picks the stage
 */
export function createLambdaStageHandler(pipeline: Pipeline, options: LambdaStageHandlerOptions = {}): StageHandler {
  return createStageHandler(pipeline, {
    ...options,
    stateful: options.stateful ?? statefulRunnerOf(EVERY_STATEFUL_KIND),
  });
}

/**
 * {@link createLambdaStageHandler} with only the stateful operators of `options.stateful` (none by
 * default): the Lambda entry points of functions/ build on it, each with its stage kind's operators,
 * and esbuild leaves every other kind out of the bundle.
 */
export function createStageHandler(pipeline: Pipeline, options: LambdaStageHandlerOptions = {}): StageHandler {
  const stageId = options.stageId ?? process.env.EDDY_STAGE_ID;
  if (stageId === undefined || stageId === '') {
    throw new Error('EDDY_STAGE_ID is not set: the function does not know which stage of the pipeline it runs');
  }
  const serviceName = pipeline.name;
  const logger = options.logger ?? new Logger({ serviceName });
  const namespace = process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'Eddy';
  const metrics = options.metrics ?? new Metrics({ serviceName, namespace });
  const emfOutput = options.emfOutput ?? ((document: string) => process.stdout.write(`${document}\n`));
  const tracer = options.tracer ?? new Tracer({ serviceName });
  metrics.setDefaultDimensions({ pipeline: pipeline.name, stage: stageId });
  // The pipeline's `operatorMetrics: false` (or `profile: 'cost'`): the stage metrics only.
  const operatorMetrics = pipeline.graph.options.operatorMetrics !== false;
  logger.appendPersistentKeys({ pipeline: pipeline.name, stage: stageId });

  const streamPrefix = options.streamPrefix ?? process.env.EDDY_STREAM_PREFIX ?? '';
  let kinesis: KinesisClient | undefined;
  const client = () => {
    kinesis ??= tracer.captureAWSv3Client(new KinesisClient({}));
    return kinesis;
  };
  const streamWriter = options.writer ?? new KinesisRecordWriter({ client: client(), streamPrefix });
  const kinesisShards =
    options.shards ??
    (options.writer === undefined ? new KinesisShardDirectory({ client: client(), streamPrefix }) : undefined);
  const stage = pipeline.plan().stages.find((candidate) => candidate.id === stageId);
  const dynamoDbStreams =
    options.dynamoDbStreams ??
    (readsDynamoDbStream(pipeline.plan(), stage) ? defaultDynamoDbStreams(pipeline, tracer) : undefined);
  const shards =
    dynamoDbStreams === undefined
      ? kinesisShards
      : new RoutedShardDirectory(dynamoDbStreams, kinesisShards ?? planShardDirectory(pipeline.plan()));
  const destinations = (pipeline.plan().destinations ?? []).filter((d) => stage?.destinations?.includes(d.name));
  // Message sinks' records are routed to their service; the rest goes to Kinesis.
  const writer =
    destinations.length === 0
      ? streamWriter
      : new DestinationWriter(streamWriter, {
          destinations,
          ...(options.destinations ?? {
            targets: destinationTargetsFromEnvironment(),
            clients: destinationClients({ wrap: (c) => tracer.captureAWSv3Client(c) }),
          }),
        });
  const stateful = stage?.stateful === true;
  const table = process.env.EDDY_STATE_TABLE;
  const deadLetters =
    options.deadLetters ?? queueDeadLetterSinkFromEnvironment(pipeline.plan(), (c) => tracer.captureAWSv3Client(c));
  const runnerOptions = {
    pipeline,
    ...(options.stateful !== undefined && { stateful: options.stateful }),
    stageId,
    writer,
    ...(deadLetters !== undefined && { deadLetters }),
    traceId: () => tracer.getRootXrayTraceId(),
    ...(shards !== undefined && { shards }),
    ...(options.store !== undefined && { store: options.store }),
    ...(options.tables !== undefined && { tables: options.tables }),
  };
  const stateTable = options.store === undefined && stateful ? table : undefined;
  const usesTables = options.tables === undefined && stage?.tables !== undefined;
  // The DynamoDB client and stores load only in stages that keep state or use tables (during
  // Lambda's init phase): a stateless stage's cold start does without them.
  const runnerReady: StageRunnerCore | Promise<StageRunnerCore> =
    stateTable !== undefined || usesTables
      ? storesLoader(options, stageId)(tracer, stateTable, usesTables).then(
          (stores) => new StageRunnerCore({ ...runnerOptions, ...stores }),
        )
      : new StageRunnerCore(runnerOptions);
  if (runnerReady instanceof Promise) runnerReady.catch(() => undefined);

  // Secrets are loaded once per execution environment, starting now (Lambda's init phase); a failure
  // fails the invocations until a load succeeds, and no record is processed without them.
  const secretUses = stage === undefined ? [] : stageSecrets(pipeline.graph, stage);
  let secretsLoaded: Promise<void> | undefined;
  const secretsReady = (): Promise<void> => {
    if (secretsLoaded !== undefined) return secretsLoaded;
    const loader =
      options.secrets ?? (process.env.EDDY_SECRETS_SOURCE === 'env' ? environmentSecretLoader() : ssmLoader(tracer));
    const loading = loadSecrets(secretUses, loader).catch((error: unknown) => {
      secretsLoaded = undefined;
      throw error;
    });
    secretsLoaded = loading;
    return loading;
  };
  if (secretUses.length > 0) secretsReady().catch(() => undefined);

  const handle = async (event: StageEvent, context: Context): Promise<StageResponse> => {
    const windowed = isTumblingWindowEvent(event);
    // A window's final invoke may carry no records: nothing to run, but Lambda waits for its `state`.
    if (windowed && (event.Records ?? []).length === 0) return withWindowState({ batchItemFailures: [] });
    const started = Date.now();
    if (secretUses.length > 0) {
      try {
        await secretsReady();
      } catch (error) {
        logger.error('secrets could not be loaded: the batch is not processed, Lambda will retry it', {
          error: error instanceof Error ? error.message : String(error),
        });
        throw error;
      }
    }
    const records = await inputRecordsOf(
      event.Records ?? [],
      stage?.input ?? stageId,
      dynamoDbStreams,
      windowed ? event.shardId : undefined,
    );
    const deadline = started + context.getRemainingTimeInMillis();
    const runner = await runnerReady;
    const { failedSequenceNumbers, report } = await runner.run(records, deadline);

    for (const deadLetter of report.deadLetters) {
      logger.setCorrelationId(deadLetter.correlationId);
      logger.warn('record dead-lettered', {
        reason: deadLetter.error.reason,
        operator: deadLetter.error.operator,
        error: deadLetter.error.message,
        ...(deadLetter.error.issues !== undefined && { issues: deadLetter.error.issues }),
        source: deadLetter.source,
      });
    }
    const first = records[0]?.position;
    if (first !== undefined) logger.setCorrelationId(`${first.stream}/${first.shardId}/${first.sequenceNumber}`);
    // Lambda starts a new trace per invocation of a Kinesis trigger: the segments of one pipeline's
    // stages are found together by these annotations, and a record's by the positions in its metadata.
    tracer.putAnnotation('pipeline', pipeline.name);
    tracer.putAnnotation('stage', stageId);
    if (first !== undefined) tracer.putAnnotation('shard', first.shardId);
    // The traces of the invocations that wrote this batch: the stage before, one hop back.
    if (report.upstreamTraces !== undefined) {
      tracer.putAnnotation('upstreamTrace', report.upstreamTraces[0] ?? '');
      tracer.putMetadata('upstreamTraces', report.upstreamTraces);
    }
    tracer.putMetadata('inputPositions', {
      first: first?.sequenceNumber,
      last: records.at(-1)?.position.sequenceNumber,
      records: records.length,
    });
    if (failedSequenceNumbers.length > 0) {
      logger.error('outputs could not be written; Lambda will deliver these records again', {
        failedSequenceNumbers,
      });
    }
    logger.debug('batch processed', { ...report, deadLetters: report.deadLetters.length });

    metrics.addMetric('RecordsIn', MetricUnit.Count, report.recordsIn);
    metrics.addMetric('RecordsOut', MetricUnit.Count, report.recordsOut);
    metrics.addMetric('RecordsFiltered', MetricUnit.Count, report.filtered);
    metrics.addMetric('RecordsDeadLettered', MetricUnit.Count, report.deadLettered);
    metrics.addMetric('RecordsFailed', MetricUnit.Count, report.failedRecords);
    metrics.addMetric('PutRecordsRequests', MetricUnit.Count, report.writeRequests);
    metrics.addMetric('BatchDuration', MetricUnit.Milliseconds, Date.now() - started);
    if (report.late !== undefined) metrics.addMetric('RecordsLate', MetricUnit.Count, report.late);
    if (report.stateRequests !== undefined) metrics.addMetric('StateRequests', MetricUnit.Count, report.stateRequests);
    const refused = Object.values(report.refusedRows ?? {}).reduce((sum, n) => sum + n, 0);
    if (refused > 0) metrics.addMetric('TableWritesRefused', MetricUnit.Count, refused);
    // Watermark lag: how far event time trails the clock, what a dashboard watches for a stalled stage.
    if (report.watermark !== undefined && report.watermark < END_OF_TIME) {
      metrics.addMetric('WatermarkLag', MetricUnit.Milliseconds, Math.max(0, Date.now() - report.watermark));
    }
    if (report.operators !== undefined && operatorMetrics && !metricsDisabled()) {
      const context = { namespace, pipeline: pipeline.name, stage: stageId, timestamp: Date.now() };
      for (const document of operatorMetricDocuments(report.operators, context)) emfOutput(document);
    }
    options.onBatch?.(report);

    const response = { batchItemFailures: failedSequenceNumbers.map((itemIdentifier) => ({ itemIdentifier })) };
    return windowed ? withWindowState(response) : response;
  };

  return middy(handle)
    .use(captureLambdaHandler(tracer))
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics));
}

/** What the stage runner assumes without a directory: the plan's shard counts. */
function planShardDirectory(plan: ReturnType<Pipeline['plan']>): ShardDirectory {
  return new UniformShardDirectory(new Map(plan.streams.map((s) => [s.name, s.shardCount])));
}

/** DescribeStream through a traced client (loaded on first use), for a stage whose input is a table's stream. */
function defaultDynamoDbStreams(pipeline: Pipeline, tracer: Tracer): DynamoDbStreamShards {
  let client: DynamoDBStreamsClient | undefined;
  return new DynamoDbStreamShards({
    describe: async (arn, start) => {
      if (client === undefined) {
        const { DynamoDBStreamsClient: Client } = await import('@aws-sdk/client-dynamodb-streams');
        client = tracer.captureAWSv3Client(new Client({}));
      }
      return describeStreamWith(() => client as DynamoDBStreamsClient)(arn, start);
    },
    streams: dynamoDbStreamArns(pipeline.plan()),
  });
}

/** Powertools' own switch (its `isDisabled()` is not public): POWERTOOLS_METRICS_DISABLED, else POWERTOOLS_DEV. */
function metricsDisabled(): boolean {
  const flag = process.env.POWERTOOLS_METRICS_DISABLED ?? process.env.POWERTOOLS_DEV;
  return flag !== undefined && ['1', 'true', 'y', 'yes', 'on'].includes(flag.trim().toLowerCase());
}

function storesLoader(options: LambdaStageHandlerOptions, stageId: string): StageStoresLoader {
  if (options.loadStores !== undefined) return options.loadStores;
  throw new Error(
    `stage ${stageId} keeps state or uses tables, and this function was built without DynamoDB ` +
      '(functions/stateless-stage-handler.ts): deploy it with functions/stage-handler.ts',
  );
}

/**
 * Reads SecureString parameters from SSM Parameter Store with GetParameter, decrypted, with a traced
 * client. The SSM client is imported on first use (from the runtime's SDK, a dynamic import), so that
 * a stage without secrets never loads it.
 */
function ssmLoader(tracer: Tracer): SecretLoader {
  let getParameter: Promise<(name: string) => Promise<string | undefined>> | undefined;
  return async (ref) => {
    getParameter ??= import('@aws-sdk/client-ssm').then(({ SSMClient, GetParameterCommand }) => {
      const client = tracer.captureAWSv3Client(new SSMClient({}));
      return async (name) =>
        (await client.send(new GetParameterCommand({ Name: name, WithDecryption: true }))).Parameter?.Value;
    });
    const selector = ssmParameterSelector(ref);
    let value: unknown;
    try {
      // Cached by the caller for the environment's life.
      value = await (await getParameter)(selector);
    } catch (error) {
      const names = [(error as Error).name, ((error as Error).cause as Error | undefined)?.name];
      const missing = names.some(
        (name) => name !== undefined && /ParameterNotFound|ParameterVersionNotFound/.test(name),
      );
      throw new SecretUnavailableError(
        missing
          ? `secret ${ref.id}: SSM parameter '${selector}' was not found; create it as a SecureString in the function's account and region`
          : `secret ${ref.id}: SSM parameter '${selector}' could not be read: ${(error as Error).message}`,
        { cause: error },
      );
    }
    if (typeof value !== 'string') {
      throw new SecretUnavailableError(`secret ${ref.id}: SSM parameter '${selector}' did not hold a string`);
    }
    return value;
  };
}
