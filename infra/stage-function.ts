import { createHash } from 'node:crypto';
import { Duration, type RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import {
  DynamoEventSource,
  KinesisConsumerEventSource,
  KinesisEventSource,
  type KinesisEventSourceProps,
} from 'aws-cdk-lib/aws-lambda-event-sources';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { SecretRef, StageSpec } from '../shared/index.js';
import { TABLE_STREAM_TUMBLING_WINDOW_SECONDS } from '../shared/runtime/dynamodb-stream-event.js';
import { FailureQueueDestination, grantSecretRead, grantStreamWrite } from './grants.js';
import { EMF_NAMESPACE } from './metrics.js';
import { acceptRuntime, acceptTracingWildcard, NagReasons } from './nag.js';
import { PACKAGE_LOCK_FILE, PACKAGE_ROOT, UNTRACED_TRACER_MODULE } from './paths.js';

/**
 * ESM bundles of CommonJS dependencies (the AWS SDK, the X-Ray SDK) call `require` for Node built-ins;
 * an ES module has none, so the bundle defines one. The import is renamed so it cannot clash with
 * a `createRequire` in the bundled code.
 */
const CREATE_REQUIRE_BANNER =
  "import { createRequire as eddyCreateRequire } from 'node:module'; const require = eddyCreateRequire(import.meta.url);";

/** The module specifier `functions/stage-handler.ts` imports the user's pipeline from. */
const USER_PIPELINE_SPECIFIER = '@eddy/user-pipeline';

/**
 * The AWS SDK modules a function loads only on demand, left out of the bundle by the default
 * `awsSdk: 'bundle-core'` and imported from the Lambda runtime's SDK (nodejs22.x ships SDK v3 in
 * /var/runtime/node_modules, importable from ES modules) if ever needed: the SSM client (a stage
 * with secrets, at its first read), the DynamoDB Streams client (a stage reading a table's stream, at
 * its first batch), the SQS client (dead letters to a queue, and `toSqs`), the EventBridge and Firehose
 * clients (`toEventBridge`, `toFirehose`, at their first send), and the credential
 * providers other than the environment's, which the SDK tries only when the environment holds no
 * credentials: never in Lambda, which sets them there. The bundle imports each of them dynamically
 * only (test/infra/bundling.test.ts checks it): a function that does not use one never loads it.
 */
export const ON_DEMAND_SDK_MODULES: readonly string[] = [
  '@aws-sdk/client-dynamodb-streams',
  '@aws-sdk/client-eventbridge',
  '@aws-sdk/client-firehose',
  '@aws-sdk/client-ssm',
  '@aws-sdk/client-sqs',
  '@aws-sdk/credential-provider-http',
  '@aws-sdk/credential-provider-ini',
  '@aws-sdk/credential-provider-login',
  '@aws-sdk/credential-provider-process',
  '@aws-sdk/credential-provider-sso',
  '@aws-sdk/credential-provider-web-identity',
  '@aws-sdk/nested-clients',
  '@aws-sdk/token-providers',
  '@smithy/credential-provider-imds',
];

/** All of the AWS SDK for JavaScript v3 and the Smithy packages it is built on. */
export const ALL_SDK_MODULES: readonly string[] = ['@aws-sdk/*', '@smithy/*'];

/**
 * Where a function's AWS SDK comes from.
 *
 * - `'bundle-core'`: what every function uses (the SDK core, the Kinesis and DynamoDB clients, the
 *   environment's credentials) is bundled, at the versions of package-lock.json; the
 *   {@link ON_DEMAND_SDK_MODULES} come from the runtime when needed. The fastest module init
 *   measured (one minified file, nothing parsed that is not used).
 * - `'bundle'`: everything bundled, the SSM and SQS clients too: every module at package-lock.json's
 *   version, whatever the runtime ships, in about 400 KB more per function.
 * - `'runtime'`: nothing bundled: the smallest bundle (about 640 KB less than `'bundle'`), but Node
 *   then loads the SDK's hundreds of files at init, measured slower than either bundle; the versions
 *   are the runtime's, updated by Lambda (pin them with the function's runtime management
 *   configuration).
 *
 * docs/operations.md, "Bundles and cold starts", has the measurements (bench/cold-start.ts).
 */
export type AwsSdkSource = 'bundle-core' | 'bundle' | 'runtime';

export interface PipelineBundlingOptions {
  /** @default 'bundle-core' */
  readonly awsSdk?: AwsSdkSource;
  /**
   * Whether the function sends X-Ray traces. Off, Powertools' tracer is replaced in the bundle by
   * functions/untraced-tracer.ts, so that the X-Ray SDK is neither bundled nor loaded.
   * @default true
   */
  readonly tracing?: boolean;
}

/** The packages aliased to functions/untraced-tracer.ts when tracing is off. */
const TRACER_MODULES = ['@aws-lambda-powertools/tracer', '@aws-lambda-powertools/tracer/middleware'];

/**
 * How every Eddy function is bundled: ESM for node22, minified with source maps, the AWS SDK as
 * `awsSdk` says, and the user's pipeline module aliased in, so one handler source serves every pipeline.
 */
export function pipelineBundling(pipelineEntry: string, options: PipelineBundlingOptions = {}): nodejs.BundlingOptions {
  const awsSdk = options.awsSdk ?? 'bundle-core';
  return {
    format: nodejs.OutputFormat.ESM,
    target: 'node22',
    minify: true,
    sourceMap: true,
    // Mapped stack traces need names and lines, not the sources: this keeps the asset small.
    sourcesContent: false,
    // Prefer the ESM builds of dependencies that ship both.
    mainFields: ['module', 'main'],
    banner: CREATE_REQUIRE_BANNER,
    externalModules:
      awsSdk === 'bundle' ? [] : awsSdk === 'runtime' ? [...ALL_SDK_MODULES] : [...ON_DEMAND_SDK_MODULES],
    esbuildArgs: {
      [`--alias:${USER_PIPELINE_SPECIFIER}`]: pipelineEntry,
      ...(options.tracing === false &&
        Object.fromEntries(TRACER_MODULES.map((module) => [`--alias:${module}`, UNTRACED_TRACER_MODULE]))),
    },
  };
}

/** Lambda's tracing mode for EddyPipelineProps.tracing: active, or Lambda's default (pass-through) when off. */
export function tracingMode(tracing: boolean | undefined): lambda.Tracing {
  return tracing === false ? lambda.Tracing.DISABLED : lambda.Tracing.ACTIVE;
}

export interface StageFunctionProps {
  /** The stage this function runs. */
  readonly stage: StageSpec;
  /** Name of the pipeline: the Powertools service name. */
  readonly pipelineName: string;
  /** Absolute path of the module that default-exports the pipeline. */
  readonly pipelineEntry: string;
  /** Absolute path of the Lambda entry point. */
  readonly handlerEntry: string;
  /** Prefix of physical stream names, passed to the runtime. */
  readonly streamNamePrefix: string;
  /** The stream that triggers the stage (unless `inputTable` does). */
  readonly inputStream?: kinesis.IStream;
  /**
   * The table whose stream triggers the stage (a `dynamoDbStream` source): a DynamoEventSource with
   * the same settings, which grants the stream's reads (DescribeStream, GetRecords, GetShardIterator
   * on that stream, ListStreams, which takes no resource).
   */
  readonly inputTable?: dynamodb.ITable;
  /** The streams the stage writes to, the dead-letter stream included (unless dead letters go to a queue). */
  readonly outputStreams: readonly kinesis.IStream[];
  /** Receives the metadata of batches that ran out of retries. */
  readonly failureQueue: sqs.IQueue;
  readonly memorySize: number;
  readonly timeout: Duration;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
  /**
   * Variables added to the runtime contract's (state table names, for instance).
   * @default none
   */
  readonly environment?: Readonly<Record<string, string>>;
  /** Where the mapping starts, instead of the stage's setting (a replay: EddyPipelineProps.stateGeneration). */
  readonly startingPosition?: 'TRIM_HORIZON' | 'LATEST' | 'AT_TIMESTAMP';
  /** With `startingPosition: 'AT_TIMESTAMP'`. */
  readonly startingPositionTimestamp?: Date;
  /**
   * The state generation: above 0, the mapping's logical id carries it, so that a new generation
   * gets a new mapping (no checkpoints) rather than an update of the old one. @default 0
   */
  readonly generation?: number;
  /**
   * SSM parameters the stage's operators read (tokenize's key): the function may GetParameter them,
   * and nothing else of SSM.
   * @default none
   */
  readonly secrets?: readonly SecretRef[];
  /** Where the function's AWS SDK comes from ({@link AwsSdkSource}). @default 'bundle-core' */
  readonly awsSdk?: AwsSdkSource;
  /** Source-mapped stack traces (EddyPipelineProps.sourceMapStackTraces). @default false */
  readonly sourceMapStackTraces?: boolean;
  /** Active X-Ray tracing and the tracer in the bundle (EddyPipelineProps.tracing). @default true */
  readonly tracing?: boolean;
  /**
   * Read the input stream through a consumer of its own with enhanced fan-out (a registered stream
   * consumer, `SubscribeToShard` push, 2 MB/s per shard for this stage alone) instead of sharing the
   * stream's 2 MB/s and 5 GetRecords/s per shard with every other reader. docs/operations.md,
   * "Enhanced fan-out", says when it pays off.
   * @default false
   */
  readonly enhancedFanOut?: boolean;
}

/** The environment that maps stack traces to the sources: Node then parses the source map at load. */
export function sourceMapOptions(enabled: boolean | undefined): { NODE_OPTIONS?: string } {
  return enabled === true ? { NODE_OPTIONS: '--enable-source-maps' } : {};
}

/** Kinesis stream consumer names: 1-128 characters of letters, digits, `_`, `.` and `-`. */
const MAX_CONSUMER_NAME_LENGTH = 128;

/**
 * What Lambda's poller needs of an enhanced fan-out consumer, on the consumer's ARN only: it describes
 * the consumer and subscribes to each shard with its ARN (the actions of CDK's StreamConsumer.grantRead).
 * On the stream itself it needs what a shared reader needs (ListShards, GetShardIterator, ...).
 */
export const CONSUMER_READ_ACTIONS: readonly string[] = ['kinesis:DescribeStreamConsumer', 'kinesis:SubscribeToShard'];

/**
 * The Lambda function of one stage, its log group, its role and the Kinesis event source mapping that
 * triggers it. The role starts empty: it gets write access to its own log group (instead of the
 * managed `AWSLambdaBasicExecutionRole`, which allows every log group), read access to the input
 * stream, PutRecords and ListShards on the output streams, SendMessage on the failure queue, X-Ray's
 * two tracing calls, and nothing else (with a customer managed key: Decrypt and GenerateDataKey on
 * it); resources added later (state tables) grant to {@link StageFunction.function} themselves.
 */
export class StageFunction extends Construct {
  /** The function: grant it access to whatever else the stage uses. */
  readonly function: nodejs.NodejsFunction;
  /** The function's execution role, the principal of every grant. */
  readonly role: iam.Role;
  /** Where the function logs, with the pipeline's retention. */
  readonly logGroup: logs.LogGroup;
  /** The Kinesis event source mapping that triggers the function. */
  readonly eventSource: KinesisEventSource | KinesisConsumerEventSource | DynamoEventSource;
  /** The stage's own consumer of its input stream, with `enhancedFanOut`. */
  readonly consumer?: kinesis.StreamConsumer;

  constructor(scope: Construct, id: string, props: StageFunctionProps) {
    super(scope, id);
    const { stage } = props;

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Eddy stage ${stage.id} of pipeline ${props.pipelineName}`,
    });
    this.logGroup.grantWrite(this.role);

    this.function = new nodejs.NodejsFunction(this, 'Function', {
      entry: props.handlerEntry,
      handler: 'handler',
      projectRoot: PACKAGE_ROOT,
      depsLockFilePath: PACKAGE_LOCK_FILE,
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize,
      timeout: props.timeout,
      role: this.role,
      logGroup: this.logGroup,
      tracing: tracingMode(props.tracing),
      description: `Eddy pipeline ${props.pipelineName}, stage ${stage.id}: ${stage.nodes.join(' > ')}`.slice(0, 256),
      environment: {
        ...props.environment,
        EDDY_STAGE_ID: stage.id,
        EDDY_STREAM_PREFIX: props.streamNamePrefix,
        POWERTOOLS_SERVICE_NAME: props.pipelineName,
        POWERTOOLS_METRICS_NAMESPACE: EMF_NAMESPACE,
        POWERTOOLS_LOG_LEVEL: 'INFO',
        ...sourceMapOptions(props.sourceMapStackTraces),
      },
      bundling: pipelineBundling(props.pipelineEntry, {
        awsSdk: props.awsSdk ?? 'bundle-core',
        ...(props.tracing !== undefined && { tracing: props.tracing }),
      }),
    });

    const settings = stage.eventSource;
    const startingPosition = props.startingPosition ?? settings.startingPosition;
    const generation = props.generation ?? 0;
    const mappingProps: KinesisEventSourceProps = {
      startingPosition: lambda.StartingPosition[startingPosition],
      ...(props.startingPositionTimestamp !== undefined && {
        // Unix time in seconds, as CloudFormation takes it.
        startingPositionTimestamp: Math.floor(props.startingPositionTimestamp.getTime() / 1000),
      }),
      batchSize: settings.batchSize,
      maxBatchingWindow: Duration.seconds(settings.maxBatchingWindowSeconds),
      parallelizationFactor: settings.parallelizationFactor,
      bisectBatchOnError: settings.bisectBatchOnFunctionError,
      retryAttempts: settings.retryAttempts,
      // -1 is Lambda's "no limit", which CloudFormation expresses by leaving the property out.
      ...(settings.maxRecordAgeSeconds !== -1 && { maxRecordAge: Duration.seconds(settings.maxRecordAgeSeconds) }),
      reportBatchItemFailures: true,
      onFailure: new FailureQueueDestination(props.failureQueue),
    };
    const inputStream = props.inputStream;
    if (props.inputTable !== undefined) {
      if (props.enhancedFanOut === true)
        throw new Error(`stage ${stage.id}: enhancedFanOut is for Kinesis inputs, not a table's stream`);
      const { startingPositionTimestamp: _atTimestamp, ...tableMapping } = mappingProps;
      if (startingPosition === 'AT_TIMESTAMP') {
        throw new Error(
          `stage ${stage.id}: a table's stream has no AT_TIMESTAMP starting position (TRIM_HORIZON or LATEST)`,
        );
      }
      // The tumbling window is what makes Lambda name the batch's shard (`shardId`): its channel.
      this.eventSource = new DynamoEventSource(props.inputTable, {
        ...tableMapping,
        tumblingWindow: Duration.seconds(TABLE_STREAM_TUMBLING_WINDOW_SECONDS),
      });
    } else if (inputStream === undefined) {
      throw new Error(`stage ${stage.id}: no input stream or table`);
    } else if (props.enhancedFanOut === true) {
      // One consumer per stage and generation: a consumer serves one subscription per shard at a time,
      // and a replay's new mapping must not wait for the old one to let go of it.
      const suffix = generation > 0 ? `-g${generation}` : '';
      this.consumer = new kinesis.StreamConsumer(this, `Consumer${suffix}`, {
        stream: inputStream,
        streamConsumerName: consumerName(`${props.streamNamePrefix}${props.pipelineName}-${stage.id}`, suffix),
      });
      this.eventSource = new KinesisConsumerEventSource(this.consumer, mappingProps);
    } else {
      this.eventSource = new KinesisEventSource(inputStream, mappingProps);
    }
    if (generation > 0) this.eventSource.bind(mappingOfGeneration(this.function, generation));
    else this.function.addEventSource(this.eventSource);

    // The event source grants the input's read access as well; granting it here keeps the least
    // privilege of the function explicit and independent of how the mapping is built.
    props.inputStream?.grantRead(this.function);
    if (this.consumer !== undefined) {
      iam.Grant.addToPrincipal({
        grantee: this.function,
        actions: [...CONSUMER_READ_ACTIONS],
        resourceArns: [this.consumer.streamConsumerArn],
      });
    }
    for (const output of props.outputStreams) grantStreamWrite(output, this.function);
    grantSecretRead(this, this.function, props.secrets ?? []);

    acceptRuntime(this.function);
    // CDK grants an imported table's ListStreams on '*' (a created TableV2's on its stream).
    const listsStreams = props.inputTable !== undefined && !(props.inputTable instanceof dynamodb.TableV2);
    // Untraced, the role has no X-Ray actions, and no wildcard unless ListStreams is in it.
    if (props.tracing !== false || listsStreams) {
      acceptTracingWildcard(
        this.role,
        listsStreams ? NagReasons.tracingAndListStreamsWildcard : NagReasons.tracingWildcard,
      );
    }
  }
}

/**
 * A consumer name of at most 128 characters: the name, cut short and made unique by a hash of the
 * whole when it is too long, then the suffix.
 */
function consumerName(name: string, suffix: string): string {
  if (name.length + suffix.length <= MAX_CONSUMER_NAME_LENGTH) return name + suffix;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 8);
  return `${name.slice(0, MAX_CONSUMER_NAME_LENGTH - suffix.length - 9)}-${hash}${suffix}`;
}

/**
 * The function, as the event source binds to it, with the mapping's construct id suffixed by the
 * generation: CloudFormation then creates a new mapping (without checkpoints, at its starting
 * position) and deletes the previous one, where an unchanged id would update it in place and keep
 * its checkpoints when the starting position did not change.
 */
function mappingOfGeneration(fn: lambda.IFunction, generation: number): lambda.IFunction {
  return new Proxy(fn, {
    get(target, property) {
      if (property === 'addEventSourceMapping') {
        return (id: string, options: lambda.EventSourceMappingOptions) =>
          target.addEventSourceMapping(`${id}:g${generation}`, options);
      }
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
