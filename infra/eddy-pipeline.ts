import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { CfnOutput, Duration, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as kinesis from 'aws-cdk-lib/aws-kinesis';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { PipelineGraph } from '../shared/dag/pipeline-graph.js';
import type { StageSpec } from '../shared/dag/plan-types.js';
import { tracesByDefault } from '../shared/dag/profile.js';
import { statefulNodeOf } from '../shared/dag/stage-kind.js';
import type { Pipeline, PipelinePlan, StreamRole } from '../shared/index.js';
import { stageSecrets } from '../shared/operators/secrets.js';
import { processingTimeInputs } from '../shared/runtime/idleness.js';
import { DEAD_LETTER_QUEUE_URL_ENV } from '../shared/runtime/io/sqs-dead-letter-sink.js';
import { TABLE_NAMES_ENV } from '../shared/runtime/io/table-store.js';
import { dynamoDbStreamsVariable } from '../shared/runtime/stage-input.js';
import { DEFAULT_STAGE_MEMORY_MB } from '../shared/util/lambda-memory.js';
import { grantQueueSend, grantStreamWrite, PRODUCER_ACTIONS } from './grants.js';
import { IdlenessFunction } from './idleness-function.js';
import { acceptDeadLetterQueueWithoutDlq, acceptFailureQueueWithoutDlq } from './nag.js';
import { deploymentName, physicalNamePrefix } from './names.js';
import { DEFAULT_ITERATOR_AGE_THRESHOLD, PipelineObservability, validateAlarmOptions } from './observability.js';
import {
  DEFAULT_HANDLER_ENTRY,
  STATEFUL_HANDLER_ENTRIES,
  STATELESS_HANDLER_ENTRY,
  TABLE_HANDLER_ENTRY,
} from './paths.js';
import { DESTINATIONS_ENV, PipelineDestinations } from './pipeline-destinations.js';
import { PipelineTables } from './pipeline-tables.js';
import { SourceTables } from './source-tables.js';
import { type AwsSdkSource, StageFunction } from './stage-function.js';
import { PipelineStateTable, validateStateTableKey, validateStateTableName } from './state-table.js';
import {
  PipelineStreams,
  resolveStreamModes,
  type StreamCapacityMode,
  validateRetentionPeriod,
  validateShardOverrides,
  validateStreamNamePrefix,
} from './streams.js';

/** Lambda's memory range in MB (CreateFunction). */
const MIN_MEMORY_MB = 128;
const MAX_MEMORY_MB = 10_240;
/** Lambda's timeout range in seconds (CreateFunction). */
const MIN_TIMEOUT_SECONDS = 1;
const MAX_TIMEOUT_SECONDS = 900;
/** SQS keeps messages at most 14 days: the longest time an operator has to look at a failed batch. */
const FAILURE_QUEUE_RETENTION = Duration.days(14);
/** Standard SQS queue names: 1-80 characters of letters, digits, `_` and `-`. */
const QUEUE_NAME = /^[a-zA-Z0-9_-]{1,80}$/;

export interface EddyPipelineProps {
  /** The pipeline to deploy. */
  readonly pipeline: Pipeline;
  /**
   * Path of the module that default-exports `pipeline` (absolute, or relative to the working
   * directory). It is bundled into every stage function.
   */
  readonly pipelineEntry: string;
  /**
   * Prepended to every stream name of the plan to get the physical Kinesis stream name, and to the
   * plan's state, materialized and dead-letter names, so that several pipelines, and copies of one
   * pipeline, run in one account and region. Letters, digits, `_`, `.`, `-`. Pass `''` for the plan's
   * names as they are (only one such pipeline per account and region). Excludes `stage`.
   * @default `physicalNamePrefix(pipeline.name, stage)`: `<pipeline>-`, or `<stage>_<pipeline>-`
   */
  readonly streamNamePrefix?: string;
  /**
   * The deployment stage (`dev`, `prod`): physical names start with `<stage>_<pipeline>-`, so that one
   * pipeline deploys once per stage into one account and region. Letters, digits and `-`.
   * Excludes `streamNamePrefix`.
   * @default none: physical names start with `<pipeline>-`
   */
  readonly stage?: string;
  /**
   * Shard counts by stream name (the pipeline's names, without prefix) that replace the plan's.
   * @default the plan's shard counts
   */
  readonly shards?: Readonly<Record<string, number>>;
  /**
   * Kinesis capacity mode of the streams: one mode for every stream, or modes by stream name (the
   * others provisioned). A provisioned stream costs $0.015 a shard-hour and $0.014 per million PUT
   * payload units (25 KB); an on-demand one $0.04 a stream-hour, $0.08 per GB in and $0.04 per GB
   * read by each stage, each record rounded up to 1 KB, and starts with 4 shards that follow the
   * traffic (us-east-1). Provisioned is cheaper for steady traffic at any rate, on demand for a
   * stream provisioned for peaks it rarely reaches (docs/cost.md, "On demand or provisioned").
   * An on-demand stream takes no `shards` override.
   * @default 'provisioned' for every stream
   */
  readonly streamMode?: StreamCapacityMode | Readonly<Record<string, StreamCapacityMode>>;
  /**
   * Customer managed KMS key for the streams, the failure queue and the state table. With a state
   * table (a windowed pipeline) the stack needs an explicit region: CDK renders the table's key per
   * region.
   * @default the AWS managed keys: `alias/aws/kinesis` for streams, SQS-managed encryption for the
   * queue, `alias/aws/dynamodb` for the state table
   */
  readonly encryptionKey?: kms.IKey;
  /**
   * How long the streams keep records: from 24 hours to 365 days. It bounds how far a new stage can
   * replay and how long a failing shard can wait.
   * @default Duration.hours(24)
   */
  readonly retentionPeriod?: Duration;
  /**
   * Memory of every stage function, in MB, from 128 to 10,240 (CPU grows with it).
   * @default 1024
   */
  readonly memorySize?: number;
  /**
   * Timeout of every stage function, from 1 second to 15 minutes.
   * @default Duration.seconds(60)
   */
  readonly timeout?: Duration;
  /**
   * Retention of each stage function's log group.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * What happens to the streams, the failure queue, the state table and the log groups when they
   * leave the stack; RETAIN also turns on the state table's deletion protection. The streams and the
   * table have fixed names: while a retained one exists, the stack cannot be deployed again with the
   * same prefix. Use DESTROY for development copies.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * The Lambda entry point of every stage. One that runs stages with state or tables passes
   * `loadStores: dynamoDbStores` to `createLambdaStageHandler`, as functions/stage-handler.ts does.
   * @default functions/stage-handler.ts of the Eddy package for the stages that keep state or use
   * tables, functions/stateless-stage-handler.ts (the same, without DynamoDB) for the others
   */
  readonly handlerEntry?: string;
  /**
   * How far behind its input stream a stage may fall (Lambda's IteratorAge, the age of the last record
   * of a batch when the function got it) for three minutes in a row before its alarm fires. At least
   * a second, less than `retentionPeriod`.
   * @default Duration.minutes(5)
   */
  readonly iteratorAgeAlarmThreshold?: Duration;
  /**
   * The topic every alarm of the pipeline notifies. If it is encrypted with a customer managed key,
   * that key's policy must admit `cloudwatch.amazonaws.com` (kms:Decrypt, kms:GenerateDataKey*).
   * Excludes `alarmEmail`.
   * @default no notification (unless `alarmEmail` is set); the alarms still change state
   */
  readonly alarmTopic?: sns.ITopic;
  /**
   * An address to notify of every alarm: Eddy creates a topic for it (TLS only; encrypted with
   * `encryptionKey` when there is one, whose key policy then admits CloudWatch for this pipeline's
   * alarms). The address must confirm the subscription. Excludes `alarmTopic`.
   * @default no notification (unless `alarmTopic` is set)
   */
  readonly alarmEmail?: string;
  /**
   * The state generation to run (docs/reliability.md, "Replay"). Generation n > 0 keeps the windows
   * in a new, empty table, `<table>-g<n>`, and triggers every stage through new event source
   * mappings (their logical ids carry the generation, so CloudFormation creates them, without
   * checkpoints, and deletes the previous ones): the pipeline runs again from `startingPosition`
   * into fresh state. Disable the previous generation's mappings before deploying a new one, so
   * that two generations never write at once. Needs `replayStartedAt`.
   * @default 0: the table `<table>`, the mappings at the plan's starting positions
   */
  readonly stateGeneration?: number;
  /**
   * Where the mappings of the stages that read source streams start: TRIM_HORIZON (everything the
   * streams keep), LATEST, or AT_TIMESTAMP with `startingPositionTimestamp`. A mapping starts there
   * once, when it is created; change `stateGeneration` to start again.
   * @default the plan's starting position (TRIM_HORIZON unless the pipeline says otherwise)
   */
  readonly startingPosition?: 'TRIM_HORIZON' | 'LATEST' | 'AT_TIMESTAMP';
  /** With `startingPosition: 'AT_TIMESTAMP'`: the time the source stages start from (whole seconds). */
  readonly startingPositionTimestamp?: Date;
  /**
   * With `stateGeneration` > 0: the stages that read shuffle streams start there AT_TIMESTAMP this
   * time, so that they read what this generation writes, not what the previous one wrote. A time
   * after the previous generation's mappings stopped and before this deployment.
   */
  readonly replayStartedAt?: Date;
  /**
   * Stages that read their input stream through an enhanced fan-out consumer of their own (a
   * registered stream consumer: records pushed over HTTP/2 within about 70 ms, and 2 MB/s per shard
   * for the stage alone) instead of polling it with GetRecords, which shares 2 MB/s and 5 calls/s
   * per shard among every reader of the stream and takes about 200 ms or more. `true` for every
   * stage, or the ids of the stages. It costs a consumer-shard hour per shard of each such input,
   * plus every GB it reads (docs/operations.md, "Enhanced fan-out"; docs/cost.md).
   * @default false: every stage polls its input
   */
  readonly enhancedFanOut?: boolean | readonly string[];
  /**
   * Where the functions' AWS SDK comes from: `'bundle-core'` bundles what every function uses and
   * takes the SSM and SQS clients and unused credential providers from the Lambda runtime when
   * needed; `'bundle'` bundles all of it (every version pinned by package-lock.json); `'runtime'`
   * bundles none of it (the smallest bundle, the slowest module init measured). infra/stage-function.ts,
   * AwsSdkSource; docs/operations.md, "Bundles and cold starts".
   * @default 'bundle-core'
   */
  readonly awsSdk?: AwsSdkSource;
  /**
   * Stack traces in the functions' logs mapped to the TypeScript sources (`NODE_OPTIONS=
   * --enable-source-maps`). Node then parses each bundle's source map when it loads the bundle: about
   * 10 ms more module init per cold start, measured (docs/operations.md, "Bundles and cold starts").
   * Off, the maps still ship beside the bundles, to map a minified stack trace by hand.
   * @default false
   */
  readonly sourceMapStackTraces?: boolean;
  /**
   * Active X-Ray tracing of the functions, with Powertools' tracer in the stage functions (the
   * segments and annotations of docs/operations.md, "Logs and traces across stages"). Off, Lambda's tracing mode is its
   * default (pass-through), the roles have no X-Ray actions, and the stage bundles leave out the
   * X-Ray SDK: about 110 KB less per function and a faster module init (docs/operations.md,
   * "Bundles and cold starts").
   * @default true; false when the pipeline's `profile` is `'cost'`
   */
  readonly tracing?: boolean;
}

/**
 * Deploys a pipeline: one Kinesis stream per stream of its plan, and per stage one Lambda function
 * triggered by its input stream, allowed to read that stream and write its output streams only.
 * Batches that fail all their retries are reported to one encrypted SQS queue; dead letters go to the
 * dead-letter stream, or to a second encrypted queue (`deadLetter: { queue: true }`). When the pipeline has
 * stateful (windowed) stages, one DynamoDB table holds their state; only those stages may use it.
 * A CloudWatch dashboard shows every stage's throughput, lag and errors, and alarms watch lag, dead
 * letters, failed batches and function errors (docs/operations.md).
 *
 * @example
 * import clicks from './pipelines/clicks.js';
 * new EddyPipeline(this, 'Clicks', { pipeline: clicks, pipelineEntry: 'pipelines/clicks.ts' });
 */
export class EddyPipeline extends Construct {
  /** The physical plan that was deployed. */
  readonly plan: PipelinePlan;
  /** The prefix of every physical name (streams, tables, queues); '' when none was asked for. */
  readonly streamNamePrefix: string;
  /** Streams by the pipeline's (logical) stream name. */
  readonly streams: ReadonlyMap<string, kinesis.IStream>;
  /** Stage functions by stage id. */
  readonly functions: ReadonlyMap<string, lambda.IFunction>;
  /** Receives the metadata (shard, sequence numbers) of batches that a stage gave up on. */
  readonly failureQueue: sqs.IQueue;
  /**
   * Receives the dead letters (envelopes with the error and source position), when the pipeline
   * sends them to a queue (`deadLetter: { queue: true }`); undefined when they go to a stream.
   */
  readonly deadLetterQueue?: sqs.IQueue;
  /** The state table of the stateful stages; undefined when every stage is stateless. */
  readonly stateTable?: dynamodb.ITableV2;
  /** The DynamoDB table of each of the pipeline's tables (`toTable`, `pipeline.table`), by table name. */
  readonly tables?: ReadonlyMap<string, dynamodb.ITableV2>;
  /** The tables of `dynamoDbStream` sources (created with their stream, or the user's), by source name. */
  readonly sourceTables?: ReadonlyMap<string, dynamodb.ITable>;
  /** The scheduled idle-shard check and clock, when a source has an `idleTimeout` or a window runs on processing time. */
  readonly idleness?: IdlenessFunction;
  /** The pipeline's CloudWatch dashboard and alarms (docs/operations.md). */
  readonly observability: PipelineObservability;
  /** The dashboard: a row for the pipeline, a row per stage. */
  readonly dashboard: cloudwatch.Dashboard;
  /** The topic the alarms notify: `alarmTopic`, or the one created for `alarmEmail`. */
  readonly alarmTopic?: sns.ITopic;

  readonly #streams: PipelineStreams;
  /** Stage constructs by stage id: resources added per stage (state tables) grant to their functions. */
  readonly #stages: ReadonlyMap<string, StageFunction>;

  constructor(scope: Construct, id: string, props: EddyPipelineProps) {
    super(scope, id);
    const settings = resolveSettings(this, props);
    this.plan = settings.plan;
    this.streamNamePrefix = settings.streamNamePrefix;

    this.#streams = new PipelineStreams(this, 'Streams', {
      plan: this.plan,
      streamNamePrefix: settings.streamNamePrefix,
      shards: settings.shards,
      modes: settings.streamModes,
      ...(props.encryptionKey !== undefined && { encryptionKey: props.encryptionKey }),
      retentionPeriod: settings.retentionPeriod,
      removalPolicy: settings.removalPolicy,
    });
    this.streams = this.#streams.streams;

    this.failureQueue = new sqs.Queue(this, 'FailedBatches', {
      retentionPeriod: FAILURE_QUEUE_RETENTION,
      enforceSSL: true,
      removalPolicy: settings.removalPolicy,
      ...(props.encryptionKey === undefined
        ? { encryption: sqs.QueueEncryption.SQS_MANAGED }
        : { encryption: sqs.QueueEncryption.KMS, encryptionMasterKey: props.encryptionKey }),
    });
    acceptFailureQueueWithoutDlq(this.failureQueue);

    // Dead letters to a queue: encrypted as the failure queue is, TLS only, 14 days; the stages may
    // only SendMessage to it (SendMessageBatch included), and learn its URL from their environment.
    const deadLetterQueue =
      settings.deadLetterQueueName === undefined
        ? undefined
        : new sqs.Queue(this, 'DeadLetters', {
            queueName: settings.deadLetterQueueName,
            retentionPeriod: FAILURE_QUEUE_RETENTION,
            enforceSSL: true,
            removalPolicy: settings.removalPolicy,
            ...(props.encryptionKey === undefined
              ? { encryption: sqs.QueueEncryption.SQS_MANAGED }
              : { encryption: sqs.QueueEncryption.KMS, encryptionMasterKey: props.encryptionKey }),
          });
    if (deadLetterQueue !== undefined) {
      acceptDeadLetterQueueWithoutDlq(deadLetterQueue);
      this.deadLetterQueue = deadLetterQueue;
    }

    const stateTable =
      settings.stateTableName === undefined
        ? undefined
        : new PipelineStateTable(this, 'State', {
            tableName: settings.stateTableName,
            ...(props.encryptionKey !== undefined && { encryptionKey: props.encryptionKey }),
            removalPolicy: settings.removalPolicy,
          });
    this.stateTable = stateTable?.table;

    const tables =
      this.plan.tables === undefined
        ? undefined
        : new PipelineTables(this, 'Tables', {
            plan: this.plan,
            namePrefix: settings.streamNamePrefix,
            ...(props.encryptionKey !== undefined && { encryptionKey: props.encryptionKey }),
            removalPolicy: settings.removalPolicy,
          });
    if (tables !== undefined) this.tables = tables.tables;
    const destinations =
      this.plan.destinations === undefined
        ? undefined
        : new PipelineDestinations(this, 'Destinations', {
            plan: this.plan,
            namePrefix: settings.streamNamePrefix,
            ...(props.encryptionKey !== undefined && { encryptionKey: props.encryptionKey }),
            removalPolicy: settings.removalPolicy,
          });

    const sourceTables = this.plan.streams.some((s) => s.dynamoDbStream !== undefined)
      ? new SourceTables(this, 'SourceTables', {
          plan: this.plan,
          namePrefix: settings.streamNamePrefix,
          ...(props.encryptionKey !== undefined && { encryptionKey: props.encryptionKey }),
          removalPolicy: settings.removalPolicy,
        })
      : undefined;
    if (sourceTables !== undefined) this.sourceTables = sourceTables.tables;

    const stagesScope = new Construct(this, 'Stages');
    const stages = new Map<string, StageFunction>();
    for (const stage of this.plan.stages) {
      // Only stateful stages learn the table's name and may use it.
      const state = stage.stateful ? stateTable : undefined;
      // Only the stages that enrich with or keep a table learn its name and may use it.
      const tableNames = tables?.namesFor(stage);
      // Only the stages that send to a queue, bus or delivery stream learn its target and may send to it.
      const targets = destinations?.targetsFor(stage);
      // Only the stages whose operators use a secret may read it (a plan-only stand-in has no operators).
      const graph = props.pipeline.graph as Pipeline['graph'] | undefined;
      const secrets = graph === undefined ? [] : stageSecrets(graph, stage).map((use) => use.secret);
      const inputTable = sourceTables?.of(stage.input);
      const stageFunction = new StageFunction(stagesScope, stage.id, {
        stage,
        pipelineName: this.plan.pipeline,
        pipelineEntry: settings.pipelineEntry,
        handlerEntry: settings.handlerEntry ?? handlerEntryOf(graph, stage),
        streamNamePrefix: settings.streamNamePrefix,
        ...(inputTable === undefined ? { inputStream: this.#streams.get(stage.input) } : { inputTable }),
        outputStreams: stage.outputs.map((name) => this.#streams.get(name)),
        failureQueue: this.failureQueue,
        memorySize: settings.memorySize,
        timeout: settings.timeout,
        logRetention: settings.logRetention,
        removalPolicy: settings.removalPolicy,
        ...((state !== undefined ||
          deadLetterQueue !== undefined ||
          tableNames !== undefined ||
          inputTable !== undefined ||
          targets !== undefined) && {
          environment: {
            ...(inputTable !== undefined && {
              [dynamoDbStreamsVariable]: Stack.of(this).toJsonString({ [stage.input]: inputTable.tableStreamArn }),
            }),
            ...(state !== undefined && { EDDY_STATE_TABLE: state.table.tableName }),
            ...(deadLetterQueue !== undefined && { [DEAD_LETTER_QUEUE_URL_ENV]: deadLetterQueue.queueUrl }),
            ...(tableNames !== undefined && { [TABLE_NAMES_ENV]: JSON.stringify(tableNames) }),
            ...(targets !== undefined && { [DESTINATIONS_ENV]: Stack.of(this).toJsonString(targets) }),
          },
        }),
        ...startingPositionOf(stage, this.plan, settings),
        generation: settings.stateGeneration,
        enhancedFanOut: settings.enhancedFanOut.has(stage.id),
        awsSdk: settings.awsSdk,
        sourceMapStackTraces: settings.sourceMapStackTraces,
        tracing: settings.tracing,
        ...(secrets.length > 0 && { secrets }),
      });
      state?.grantStateAccess(stageFunction.function);
      tables?.grantStageAccess(stageFunction.function, stage);
      destinations?.grantStageAccess(stageFunction.function, stage);
      if (deadLetterQueue !== undefined) grantQueueSend(deadLetterQueue, stageFunction.function);
      stages.set(stage.id, stageFunction);
    }
    this.#stages = stages;
    this.functions = new Map([...stages].map(([stageId, stage]) => [stageId, stage.function]));

    // Sources that may go idle need the scheduled check that marks their shards idle downstream, and
    // processing-time windows its clock ticks, to fire when no record comes.
    const idleStages = this.plan.stages.filter((stage) => stage.idleTimeout !== undefined);
    const ticked = processingTimeInputs(props.pipeline);
    if (idleStages.length > 0 || ticked.length > 0) {
      const shuffles = new Set(this.plan.streams.filter((s) => s.role === 'shuffle').map((s) => s.name));
      const marked = idleStages.flatMap((stage) => stage.outputs.filter((o) => shuffles.has(o)));
      this.idleness = new IdlenessFunction(this, 'IdleShards', {
        pipelineName: this.plan.pipeline,
        pipelineEntry: settings.pipelineEntry,
        streamNamePrefix: settings.streamNamePrefix,
        sources: idleStages.map((stage) => this.#streams.get(stage.input)),
        targets: [...new Set([...marked, ...ticked])].map((name) => this.#streams.get(name)),
        logRetention: settings.logRetention,
        removalPolicy: settings.removalPolicy,
        awsSdk: settings.awsSdk,
        sourceMapStackTraces: settings.sourceMapStackTraces,
        tracing: settings.tracing,
      });
    }

    this.observability = new PipelineObservability(this, 'Observability', {
      plan: this.plan,
      name: deploymentName(this.plan.pipeline, settings.streamNamePrefix),
      streams: this.streams,
      functions: this.functions,
      failureQueue: this.failureQueue,
      ...(deadLetterQueue !== undefined && { deadLetterQueue }),
      ...(this.idleness !== undefined && { idlenessFunction: this.idleness.function }),
      iteratorAgeAlarmThreshold: settings.iteratorAgeAlarmThreshold,
      ...(props.alarmTopic !== undefined && { alarmTopic: props.alarmTopic }),
      ...(props.alarmEmail !== undefined && { alarmEmail: props.alarmEmail }),
      ...(props.encryptionKey !== undefined && { encryptionKey: props.encryptionKey }),
    });
    this.dashboard = this.observability.dashboard;
    if (this.observability.alarmTopic !== undefined) this.alarmTopic = this.observability.alarmTopic;

    this.#addOutputs();
  }

  /**
   * Lets a producer outside the pipeline write to one of its source streams (and use the
   * stream's key, when it has one).
   */
  grantWriteToSource(sourceName: string, grantee: iam.IGrantable): iam.Grant {
    return grantStreamWrite(
      this.#streamOfRole(sourceName, ['source'], 'grantWriteToSource'),
      grantee,
      PRODUCER_ACTIONS,
    );
  }

  /**
   * Lets a consumer outside the pipeline read one of its sink streams, a window's late output
   * (side-output) stream, or its dead-letter stream.
   */
  grantReadFromSink(sinkName: string, grantee: iam.IGrantable): iam.Grant {
    return this.#streamOfRole(sinkName, ['sink', 'side-output', 'dead-letter'], 'grantReadFromSink').grantRead(grantee);
  }

  /**
   * Lets an operator's tool read the dead letters: the dead-letter stream's records, or the
   * dead-letter queue's messages (receive, delete, and decrypt with a customer managed key).
   */
  grantReadDeadLetters(grantee: iam.IGrantable): iam.Grant {
    if (this.deadLetterQueue !== undefined) return this.deadLetterQueue.grantConsumeMessages(grantee);
    return this.grantReadFromSink(this.plan.deadLetter.name, grantee);
  }

  #streamOfRole(name: string, roles: readonly StreamRole[], method: string): kinesis.IStream {
    const spec = this.#streams.specs.get(name);
    if (spec === undefined || !roles.includes(spec.role)) {
      const allowed = this.plan.streams.filter((s) => roles.includes(s.role)).map((s) => s.name);
      const what = spec === undefined ? 'no stream' : `a ${spec.role} stream`;
      throw new Error(
        `${method}: '${name}' is ${what} of pipeline '${this.plan.pipeline}'; expected one of: ${allowed.join(', ')}`,
      );
    }
    return this.#streams.get(name);
  }

  /**
   * Stack outputs for what outside code talks to: the source, sink, side-output and dead-letter
   * streams, the failure queue and the state table.
   */
  #addOutputs(): void {
    for (const spec of this.plan.streams) {
      if (spec.role === 'shuffle' || spec.dynamoDbStream !== undefined) continue;
      const stream = this.#streams.get(spec.name);
      const what = `${spec.role} stream '${spec.name}' of pipeline '${this.plan.pipeline}'`;
      new CfnOutput(stream, 'NameOutput', { value: stream.streamName, description: `Name of the ${what}` });
      new CfnOutput(stream, 'ArnOutput', { value: stream.streamArn, description: `ARN of the ${what}` });
    }
    if (this.deadLetterQueue !== undefined) {
      new CfnOutput(this, 'DeadLetterQueueUrl', {
        value: this.deadLetterQueue.queueUrl,
        description: `Queue of the dead letters of pipeline '${this.plan.pipeline}'`,
      });
    }
    new CfnOutput(this, 'FailedBatchesQueueUrl', {
      value: this.failureQueue.queueUrl,
      description: `Queue of batches pipeline '${this.plan.pipeline}' gave up on`,
    });
    if (this.stateTable !== undefined) {
      new CfnOutput(this, 'StateTableName', {
        value: this.stateTable.tableName,
        description: `State table of the windowed stages of pipeline '${this.plan.pipeline}'`,
      });
    }
  }
}

interface ResolvedSettings {
  readonly plan: PipelinePlan;
  readonly pipelineEntry: string;
  /** The user's entry point for every stage; undefined for Eddy's own, chosen per stage. */
  readonly handlerEntry: string | undefined;
  readonly streamNamePrefix: string;
  /** Physical name of the state table; undefined when the plan has none. */
  readonly stateTableName: string | undefined;
  /** Physical name of the dead-letter queue; undefined when dead letters go to a stream. */
  readonly deadLetterQueueName: string | undefined;
  readonly shards: Readonly<Record<string, number>>;
  readonly streamModes: ReadonlyMap<string, StreamCapacityMode>;
  readonly retentionPeriod: Duration;
  readonly memorySize: number;
  readonly timeout: Duration;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
  readonly iteratorAgeAlarmThreshold: Duration;
  readonly stateGeneration: number;
  readonly startingPosition: 'TRIM_HORIZON' | 'LATEST' | 'AT_TIMESTAMP' | undefined;
  readonly startingPositionTimestamp: Date | undefined;
  readonly replayStartedAt: Date | undefined;
  /** Ids of the stages that read through an enhanced fan-out consumer. */
  readonly enhancedFanOut: ReadonlySet<string>;
  readonly awsSdk: AwsSdkSource;
  readonly sourceMapStackTraces: boolean;
  readonly tracing: boolean;
}

/** Applies the defaults and validates every prop before any resource is created. */
function resolveSettings(scope: Construct, props: EddyPipelineProps): ResolvedSettings {
  const plan = props.pipeline.plan();
  if (props.streamNamePrefix !== undefined && props.stage !== undefined) {
    throw new Error('give either stage or streamNamePrefix, not both: the prefix is made from the stage');
  }
  const streamNamePrefix = props.streamNamePrefix ?? physicalNamePrefix(plan.pipeline, props.stage);
  validateStreamNamePrefix(streamNamePrefix, plan);
  const stateGeneration = validateReplayOptions(props);
  const stateTableName =
    plan.stateTable === undefined
      ? undefined
      : streamNamePrefix + plan.stateTable + (stateGeneration > 0 ? `-g${stateGeneration}` : '');
  if (stateTableName !== undefined) {
    validateStateTableName(stateTableName);
    validateStateTableKey(scope, props.encryptionKey);
  }
  const deadLetterQueueName = plan.deadLetter.kind === 'queue' ? streamNamePrefix + plan.deadLetter.name : undefined;
  if (deadLetterQueueName !== undefined && !QUEUE_NAME.test(deadLetterQueueName)) {
    throw new Error(
      `the dead-letter queue's name '${deadLetterQueueName}' (streamNamePrefix + deadLetter.name) is not a valid ` +
        "SQS queue name: use 1-80 characters of letters, digits, '_' and '-' (no '.') in streamNamePrefix and deadLetter.name",
    );
  }
  const orphan = plan.stages.find((stage) => stage.stateful && stateTableName === undefined);
  if (orphan !== undefined) {
    throw new Error(`stage ${orphan.id} of pipeline '${plan.pipeline}' is stateful, but the plan names no state table`);
  }
  const shards = props.shards ?? {};
  validateShardOverrides(shards, plan);
  const streamModes = resolveStreamModes(props.streamMode, shards, plan);
  const retentionPeriod = props.retentionPeriod ?? Duration.hours(24);
  validateRetentionPeriod(retentionPeriod);

  const memorySize = props.memorySize ?? DEFAULT_STAGE_MEMORY_MB;
  if (!Token.isUnresolved(memorySize)) {
    if (!Number.isInteger(memorySize) || memorySize < MIN_MEMORY_MB || memorySize > MAX_MEMORY_MB) {
      throw new Error(`memorySize must be an integer from ${MIN_MEMORY_MB} to ${MAX_MEMORY_MB} MB, got ${memorySize}`);
    }
  }
  const timeout = props.timeout ?? Duration.seconds(60);
  const timeoutSeconds = timeout.toSeconds({ integral: false });
  if (
    !Number.isInteger(timeoutSeconds) ||
    timeoutSeconds < MIN_TIMEOUT_SECONDS ||
    timeoutSeconds > MAX_TIMEOUT_SECONDS
  ) {
    throw new Error(
      `timeout must be a whole number of seconds from ${MIN_TIMEOUT_SECONDS} to ${MAX_TIMEOUT_SECONDS}, got ${timeoutSeconds} seconds`,
    );
  }

  const iteratorAgeAlarmThreshold = props.iteratorAgeAlarmThreshold ?? DEFAULT_ITERATOR_AGE_THRESHOLD;
  validateAlarmOptions({
    iteratorAgeAlarmThreshold,
    retentionPeriod,
    ...(props.alarmTopic !== undefined && { alarmTopic: props.alarmTopic }),
    ...(props.alarmEmail !== undefined && { alarmEmail: props.alarmEmail }),
  });

  return {
    plan,
    pipelineEntry: existingFile(props.pipelineEntry, 'pipelineEntry'),
    handlerEntry: props.handlerEntry === undefined ? undefined : existingFile(props.handlerEntry, 'handlerEntry'),
    streamNamePrefix,
    stateTableName,
    deadLetterQueueName,
    shards,
    streamModes,
    retentionPeriod,
    memorySize,
    timeout,
    logRetention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
    removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    iteratorAgeAlarmThreshold,
    stateGeneration,
    startingPosition: props.startingPosition,
    startingPositionTimestamp: props.startingPositionTimestamp,
    replayStartedAt: props.replayStartedAt,
    enhancedFanOut: enhancedFanOutStages(plan, props.enhancedFanOut),
    awsSdk: props.awsSdk ?? 'bundle-core',
    sourceMapStackTraces: props.sourceMapStackTraces ?? false,
    tracing: props.tracing ?? tracesByDefault(plan),
  };
}

/** The stages `enhancedFanOut` names (all for `true`); an id that is no stage of the plan is an error. */
function enhancedFanOutStages(plan: PipelinePlan, option: boolean | readonly string[] | undefined): Set<string> {
  const ids = plan.stages.map((stage) => stage.id);
  if (option === undefined || option === false) return new Set();
  if (option === true) return new Set(ids);
  const unknown = option.filter((id) => !ids.includes(id));
  if (unknown.length > 0) {
    throw new Error(
      `enhancedFanOut: ${unknown.map((id) => `'${id}'`).join(', ')} ${unknown.length === 1 ? 'is no stage' : 'are no stages'} ` +
        `of pipeline '${plan.pipeline}'; its stages are: ${ids.join(', ')}`,
    );
  }
  return new Set(option);
}

/** Checks the generation and starting position props together; returns the generation. */
function validateReplayOptions(props: EddyPipelineProps): number {
  const generation = props.stateGeneration ?? 0;
  if (!Number.isInteger(generation) || generation < 0) {
    throw new Error(`stateGeneration must be a whole number from 0, got ${generation}`);
  }
  for (const [name, time] of [
    ['startingPositionTimestamp', props.startingPositionTimestamp],
    ['replayStartedAt', props.replayStartedAt],
  ] as const) {
    if (time !== undefined && Number.isNaN(time.getTime())) throw new Error(`${name} is not a valid date`);
  }
  if ((props.startingPosition === 'AT_TIMESTAMP') !== (props.startingPositionTimestamp !== undefined)) {
    throw new Error("startingPositionTimestamp goes with startingPosition: 'AT_TIMESTAMP', and only with it");
  }
  if (generation > 0 && props.replayStartedAt === undefined) {
    throw new Error(
      `stateGeneration ${generation} needs replayStartedAt: the stages after the sources must skip what the ` +
        'previous generation wrote to the shuffle streams',
    );
  }
  if (generation === 0 && props.replayStartedAt !== undefined) {
    throw new Error('replayStartedAt goes with a stateGeneration above 0');
  }
  return generation;
}

/**
 * Where a stage's mapping starts: the stages that read source streams at `startingPosition`, the
 * others of a generation above 0 at `replayStartedAt`; else the plan's.
 */
function startingPositionOf(
  stage: PipelinePlan['stages'][number],
  plan: PipelinePlan,
  settings: ResolvedSettings,
): { startingPosition?: 'TRIM_HORIZON' | 'LATEST' | 'AT_TIMESTAMP'; startingPositionTimestamp?: Date } {
  const readsSource = plan.streams.some((s) => s.name === stage.input && s.role === 'source');
  if (readsSource) {
    return {
      ...(settings.startingPosition !== undefined && { startingPosition: settings.startingPosition }),
      ...(settings.startingPositionTimestamp !== undefined && {
        startingPositionTimestamp: settings.startingPositionTimestamp,
      }),
    };
  }
  return settings.replayStartedAt === undefined
    ? {}
    : { startingPosition: 'AT_TIMESTAMP', startingPositionTimestamp: settings.replayStartedAt };
}

/**
 * Eddy's entry point for a stage, by its kind: a bundle holds DynamoDB only for a stage that keeps
 * state or uses tables, and the stateful operator of its own kind only (docs/operations.md, "Bundles
 * and cold starts").
 */
export function handlerEntryOf(graph: PipelineGraph | undefined, stage: StageSpec): string {
  // A plan-only stand-in has no graph to tell the kind: the entry that runs every kind.
  const stateful = graph === undefined ? undefined : statefulNodeOf(graph, stage);
  if (stateful !== undefined) return STATEFUL_HANDLER_ENTRIES[stateful.kind];
  if (stage.stateful) return DEFAULT_HANDLER_ENTRY;
  return stage.tables !== undefined ? TABLE_HANDLER_ENTRY : STATELESS_HANDLER_ENTRY;
}

/** The absolute path of a file that must exist: esbuild would otherwise fail later, less clearly. */
function existingFile(path: string, prop: string): string {
  const absolute = isAbsolute(path) ? path : resolve(path);
  if (!existsSync(absolute)) {
    throw new Error(`${prop}: no file at '${path}' (resolved to '${absolute}')`);
  }
  return absolute;
}
