import { Duration, type RemovalPolicy } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { grantStreamWrite } from './grants.js';
import { acceptRuntime, acceptTracingWildcard } from './nag.js';
import { IDLENESS_HANDLER_ENTRY, PACKAGE_LOCK_FILE, PACKAGE_ROOT } from './paths.js';
import { type AwsSdkSource, pipelineBundling, sourceMapOptions, tracingMode } from './stage-function.js';

export interface IdlenessFunctionProps {
  readonly pipelineName: string;
  readonly pipelineEntry: string;
  readonly streamNamePrefix: string;
  /** Source streams whose shards may go idle: read to see whether a record arrived lately. */
  readonly sources: readonly kinesis.IStream[];
  /** Shuffle streams that receive the idle marks, and the clock ticks of processing-time windows. */
  readonly targets: readonly kinesis.IStream[];
  /**
   * How often the check runs; EventBridge schedules go down to one minute.
   * @default Duration.minutes(1)
   */
  readonly schedule?: Duration;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
  /** Where the function's AWS SDK comes from (AwsSdkSource). @default 'bundle-core' */
  readonly awsSdk?: AwsSdkSource;
  /** Source-mapped stack traces (EddyPipelineProps.sourceMapStackTraces). @default false */
  readonly sourceMapStackTraces?: boolean;
  /** Active X-Ray tracing (EddyPipelineProps.tracing). @default true */
  readonly tracing?: boolean;
}

/**
 * The scheduled function that marks idle source shards (Flink's withIdleness, docs/watermarks.md),
 * so that a shard with no records does not hold back every window downstream, and ticks the shards
 * that feed processing-time windows, so that they fire when no record comes.
 */
export class IdlenessFunction extends Construct {
  readonly function: nodejs.NodejsFunction;
  /** The function's execution role: read the sources, write the idle marks, log, trace. */
  readonly role: iam.Role;
  readonly rule: events.Rule;

  constructor(scope: Construct, id: string, props: IdlenessFunctionProps) {
    super(scope, id);
    const logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });
    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Eddy idle-shard check of pipeline ${props.pipelineName}`,
    });
    logGroup.grantWrite(role);
    this.role = role;
    this.function = new nodejs.NodejsFunction(this, 'Function', {
      entry: IDLENESS_HANDLER_ENTRY,
      handler: 'handler',
      projectRoot: PACKAGE_ROOT,
      depsLockFilePath: PACKAGE_LOCK_FILE,
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 256,
      // One GetShardIterator and one GetRecords per source shard: seconds, well within a minute.
      timeout: Duration.seconds(50),
      role,
      logGroup,
      tracing: tracingMode(props.tracing),
      description: `Eddy pipeline ${props.pipelineName}: marks idle source shards for the watermark`,
      environment: {
        EDDY_STREAM_PREFIX: props.streamNamePrefix,
        POWERTOOLS_SERVICE_NAME: props.pipelineName,
        POWERTOOLS_LOG_LEVEL: 'INFO',
        ...sourceMapOptions(props.sourceMapStackTraces),
      },
      bundling: pipelineBundling(props.pipelineEntry, { awsSdk: props.awsSdk ?? 'bundle-core' }),
    });
    for (const source of props.sources) source.grantRead(this.function);
    for (const target of props.targets) grantStreamWrite(target, this.function);
    this.rule = new events.Rule(this, 'Schedule', {
      description: `Eddy pipeline ${props.pipelineName}: idle-shard check`,
      schedule: events.Schedule.rate(props.schedule ?? Duration.minutes(1)),
      targets: [new targets.LambdaFunction(this.function, { retryAttempts: 0 })],
    });
    acceptRuntime(this.function);
    if (props.tracing !== false) acceptTracingWildcard(role);
  }
}
