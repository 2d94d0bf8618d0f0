import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import pageViews from '../../examples/page-views.js';
import { EddyPipeline, type EddyPipelineProps } from '../../infra/eddy-pipeline.js';
import { EddyPipelineStack } from '../../infra/pipeline-stack.js';
import { expectLeastPrivilege } from './least-privilege.js';
import {
  allowedPairs,
  type CfnTemplate,
  functionOfStage,
  PAGE_VIEWS_ENTRY,
  referencedId,
  resourcesOfType,
  type Synthesized,
  sorted,
  streamsByLogicalId,
  synthesize,
  testApp,
} from './support.js';

const plan = pageViews.plan();
const STREAMS = ['clicks', 'page-views-keyBy-1', 'page-views-by-page', 'page-views-dead-letters'];
const STAGES = ['from-clicks', 'from-page-views-keyBy-1'];

function queueId(json: CfnTemplate): string {
  const queues = resourcesOfType(json, 'AWS::SQS::Queue');
  expect(queues).toHaveLength(1);
  return (queues[0] as [string, unknown])[0];
}

describe('EddyPipeline with the page-views example and default props', () => {
  // The default prefix is the pipeline's name, so that two pipelines with a stream `clicks` deploy side by side.
  const PREFIX = 'page-views-';
  let synthesized: Synthesized;
  let json: CfnTemplate;
  let stack: EddyPipelineStack;
  let dispose: () => void;

  beforeAll(() => {
    const test = testApp();
    dispose = test.dispose;
    stack = new EddyPipelineStack(test.app, 'Eddy-page-views', {
      pipeline: pageViews,
      pipelineEntry: PAGE_VIEWS_ENTRY,
    });
    // Outside principals: a producer of the source and a consumer of the sink.
    const producer = new iam.Role(stack, 'Producer', { assumedBy: new iam.AccountRootPrincipal() });
    const consumer = new iam.Role(stack, 'Consumer', { assumedBy: new iam.AccountRootPrincipal() });
    stack.pipeline.grantWriteToSource('clicks', producer);
    stack.pipeline.grantReadFromSink('page-views-by-page', consumer);
    synthesized = synthesize(test.app, stack);
    json = synthesized.json;
  });
  afterAll(() => dispose());

  it('creates one stream per stream of the plan, with its name, shards, managed encryption and 24 h retention', () => {
    synthesized.template.resourceCountIs('AWS::Kinesis::Stream', 4);
    expect(sorted(streamsByLogicalId(json, PREFIX).values())).toEqual(sorted(STREAMS));
    for (const name of STREAMS) {
      synthesized.template.hasResourceProperties('AWS::Kinesis::Stream', {
        Name: PREFIX + name,
        ShardCount: 1,
        RetentionPeriodHours: 24,
        StreamModeDetails: { StreamMode: 'PROVISIONED' },
        StreamEncryption: { EncryptionType: 'KMS', KeyId: 'alias/aws/kinesis' },
      });
    }
    // Streams hold the data: they stay when removed from the stack unless the props say otherwise.
    for (const [, stream] of resourcesOfType(json, 'AWS::Kinesis::Stream')) {
      expect(stream).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    }
  });

  it('exposes the streams and functions by name', () => {
    expect(sorted(stack.pipeline.streams.keys())).toEqual(sorted(STREAMS));
    expect(sorted(stack.pipeline.functions.keys())).toEqual(sorted(STAGES));
    expect(stack.pipeline.streamNamePrefix).toBe(PREFIX);
  });

  it('creates no state table when every stage is stateless', () => {
    expect(plan.stateTable).toBeUndefined();
    expect(stack.pipeline.stateTable).toBeUndefined();
    synthesized.template.resourceCountIs('AWS::DynamoDB::GlobalTable', 0);
    synthesized.template.resourceCountIs('AWS::DynamoDB::Table', 0);
  });

  it('creates one function per stage: Node.js 22 on arm64, traced, with the runtime environment', () => {
    synthesized.template.resourceCountIs('AWS::Lambda::Function', 2);
    for (const stageId of STAGES) {
      const [, fn] = functionOfStage(json, stageId);
      expect(fn.Properties).toMatchObject({
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
        MemorySize: 1024,
        Timeout: 60,
        TracingConfig: { Mode: 'Active' },
      });
      expect((fn.Properties.Environment as { Variables: unknown }).Variables).toEqual({
        EDDY_STAGE_ID: stageId,
        EDDY_STREAM_PREFIX: PREFIX,
        POWERTOOLS_SERVICE_NAME: 'page-views',
        POWERTOOLS_METRICS_NAMESPACE: 'Eddy',
        POWERTOOLS_LOG_LEVEL: 'INFO',
      });
      const logGroup = json.Resources[referencedId((fn.Properties.LoggingConfig as { LogGroup: unknown }).LogGroup)];
      expect(logGroup).toMatchObject({ Type: 'AWS::Logs::LogGroup', Properties: { RetentionInDays: 30 } });
    }
  });

  it('bundles the user pipeline into an ESM asset that defines require', () => {
    const [, fn] = functionOfStage(json, 'from-clicks');
    // The asset folder is named after the hash the S3 key carries.
    const s3Key = (fn.Properties.Code as { S3Key: string }).S3Key;
    const assetDir = join(synthesized.assembly.directory, `asset.${s3Key.replace(/\.zip$/, '')}`);
    const code = readFileSync(join(assetDir, 'index.mjs'), 'utf8');
    expect(code.startsWith("import { createRequire as eddyCreateRequire } from 'node:module';")).toBe(true);
    // The alias resolved: the pipeline's stream names are in the bundle.
    expect(code).toContain('page-views-by-page');
    expect(code).not.toContain('@eddy/user-pipeline');
    expect(readFileSync(join(assetDir, 'index.mjs.map'), 'utf8')).toContain('"mappings"');
  });

  it('triggers each stage from its input stream with every event source setting of the plan', () => {
    synthesized.template.resourceCountIs('AWS::Lambda::EventSourceMapping', 2);
    const streams = streamsByLogicalId(json, PREFIX);
    const queue = queueId(json);
    for (const stage of plan.stages) {
      const [functionId] = functionOfStage(json, stage.id);
      const mappings = resourcesOfType(json, 'AWS::Lambda::EventSourceMapping').filter(
        ([, mapping]) => referencedId(mapping.Properties.FunctionName) === functionId,
      );
      expect(mappings).toHaveLength(1);
      const properties = (mappings[0] as [string, { Properties: Record<string, unknown> }])[1].Properties;
      expect(streams.get(referencedId(properties.EventSourceArn))).toBe(stage.input);
      expect(properties).toEqual({
        EventSourceArn: expect.anything(),
        FunctionName: expect.anything(),
        BatchSize: 500,
        MaximumBatchingWindowInSeconds: 1,
        ParallelizationFactor: 1,
        BisectBatchOnFunctionError: true,
        MaximumRetryAttempts: 10,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        StartingPosition: 'TRIM_HORIZON',
        DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [queue, 'Arn'] } } },
      });
    }
  });

  it('gives each function read access to its input stream and write access to its outputs only', () => {
    expectLeastPrivilege(json, { plan, queueId: queueId(json), prefix: PREFIX });
  });

  it('creates the function before its policy can be missing (the mapping checks the role on creation)', () => {
    for (const stageId of STAGES) {
      const [, fn] = functionOfStage(json, stageId);
      const roleId = referencedId(fn.Properties.Role);
      const policies = resourcesOfType(json, 'AWS::IAM::Policy')
        .filter(([, policy]) => (policy.Properties.Roles as unknown[]).map(referencedId).includes(roleId))
        .map(([id]) => id);
      expect(fn.DependsOn).toEqual(expect.arrayContaining(policies));
    }
  });

  it('reports failed batches to an SQS-encrypted queue that keeps them 14 days and denies plain HTTP', () => {
    synthesized.template.resourceCountIs('AWS::SQS::Queue', 1);
    synthesized.template.hasResourceProperties('AWS::SQS::Queue', {
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 14 * 24 * 3600,
    });
    synthesized.template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: queueId(json) }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 'sqs:*',
            Principal: { AWS: '*' },
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
  });

  it('outputs the names and ARNs of the source, sink and dead-letter streams', () => {
    const outputs = Object.values(json.Outputs ?? {});
    const streams = streamsByLogicalId(json, PREFIX);
    const named = (value: unknown) => streams.get(referencedId(value));
    const nameOutputs = outputs
      .filter((o) => (o.Value as { Ref?: string }).Ref !== undefined)
      .map((o) => named(o.Value));
    const arnOutputs = outputs.filter((o) => (o.Value as { 'Fn::GetAtt'?: unknown })['Fn::GetAtt'] !== undefined);
    expect(sorted(nameOutputs.filter((name) => name !== undefined))).toEqual(
      sorted(['clicks', 'page-views-by-page', 'page-views-dead-letters']),
    );
    expect(sorted(arnOutputs.map((o) => named(o.Value) as string))).toEqual(
      sorted(['clicks', 'page-views-by-page', 'page-views-dead-letters']),
    );
  });

  it('grants producers write access to a source and consumers read access to a sink', () => {
    const streams = streamsByLogicalId(json, PREFIX);
    const [producerId] = Object.entries(json.Resources).find(([id]) => id.startsWith('Producer')) ?? [''];
    const [consumerId] = Object.entries(json.Resources).find(([id]) => id.startsWith('Consumer')) ?? [''];
    const producer = allowedPairs(json, producerId);
    const consumer = allowedPairs(json, consumerId);
    expect(sorted(producer.keys())).toEqual(['kinesis:ListShards', 'kinesis:PutRecord', 'kinesis:PutRecords']);
    for (const resources of producer.values()) expect([...resources].map((id) => streams.get(id))).toEqual(['clicks']);
    expect(consumer.has('kinesis:GetRecords')).toBe(true);
    expect(consumer.has('kinesis:PutRecords')).toBe(false);
    for (const resources of consumer.values()) {
      expect([...resources].map((id) => streams.get(id))).toEqual(['page-views-by-page']);
    }
  });

  it('refuses grants on streams of the wrong role, naming the allowed ones', () => {
    const grantee = new iam.Role(new Stack(), 'Other', { assumedBy: new iam.AccountRootPrincipal() });
    expect(() => stack.pipeline.grantWriteToSource('page-views-by-page', grantee)).toThrow(
      "grantWriteToSource: 'page-views-by-page' is a sink stream of pipeline 'page-views'; expected one of: clicks",
    );
    expect(() => stack.pipeline.grantReadFromSink('nope', grantee)).toThrow(
      "grantReadFromSink: 'nope' is no stream of pipeline 'page-views'; expected one of: page-views-by-page, page-views-dead-letters",
    );
  });
});

describe('EddyPipeline with a prefix, a customer key and every optional prop', () => {
  const PREFIX = 'dev.alice-';
  let synthesized: Synthesized;
  let json: CfnTemplate;
  let keyId: string;
  let dispose: () => void;

  beforeAll(() => {
    // No bundling: nothing here looks at the functions' code.
    const test = testApp({ 'aws:cdk:bundling-stacks': [] });
    dispose = test.dispose;
    const stack = new Stack(test.app, 'Custom');
    const key = new kms.Key(stack, 'Key');
    keyId = stack.getLogicalId(key.node.defaultChild as kms.CfnKey);
    new EddyPipeline(stack, 'Pipeline', {
      pipeline: pageViews,
      pipelineEntry: PAGE_VIEWS_ENTRY,
      streamNamePrefix: PREFIX,
      encryptionKey: key,
      shards: { clicks: 4, 'page-views-keyBy-1': 2 },
      retentionPeriod: Duration.days(7),
      memorySize: 512,
      timeout: Duration.seconds(30),
      logRetention: logs.RetentionDays.ONE_WEEK,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    synthesized = synthesize(test.app, stack);
    json = synthesized.json;
  });
  afterAll(() => dispose());

  it('prefixes the physical stream names and tells the functions the prefix', () => {
    expect(sorted(resourcesOfType(json, 'AWS::Kinesis::Stream').map(([, s]) => s.Properties.Name as string))).toEqual(
      sorted(STREAMS.map((name) => PREFIX + name)),
    );
    for (const stageId of STAGES) {
      const [, fn] = functionOfStage(json, stageId);
      expect((fn.Properties.Environment as { Variables: Record<string, string> }).Variables.EDDY_STREAM_PREFIX).toBe(
        PREFIX,
      );
    }
  });

  it('encrypts the streams and the queue with the customer key', () => {
    for (const [, stream] of resourcesOfType(json, 'AWS::Kinesis::Stream')) {
      expect(stream.Properties.StreamEncryption).toEqual({
        EncryptionType: 'KMS',
        KeyId: { 'Fn::GetAtt': [keyId, 'Arn'] },
      });
    }
    synthesized.template.hasResourceProperties('AWS::SQS::Queue', {
      KmsMasterKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] },
    });
    synthesized.template.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: Match.absent() });
  });

  it('keeps least privilege, with the key added', () => {
    expectLeastPrivilege(json, { plan, prefix: PREFIX, queueId: queueId(json), keyId });
  });

  it('applies shard overrides, retention, memory, timeout, log retention and removal policy', () => {
    const shards = Object.fromEntries(
      resourcesOfType(json, 'AWS::Kinesis::Stream').map(([, s]) => [s.Properties.Name, s.Properties.ShardCount]),
    );
    expect(shards).toEqual({
      [`${PREFIX}clicks`]: 4,
      [`${PREFIX}page-views-keyBy-1`]: 2,
      [`${PREFIX}page-views-by-page`]: 1,
      [`${PREFIX}page-views-dead-letters`]: 1,
    });
    for (const [, stream] of resourcesOfType(json, 'AWS::Kinesis::Stream')) {
      expect(stream).toMatchObject({ Properties: { RetentionPeriodHours: 168 }, DeletionPolicy: 'Delete' });
    }
    for (const stageId of STAGES) {
      expect(functionOfStage(json, stageId)[1].Properties).toMatchObject({ MemorySize: 512, Timeout: 30 });
    }
    for (const [, logGroup] of resourcesOfType(json, 'AWS::Logs::LogGroup')) {
      expect(logGroup).toMatchObject({ Properties: { RetentionInDays: 7 }, DeletionPolicy: 'Delete' });
    }
  });
});

describe('EddyPipeline props validation', () => {
  function construct(props: Partial<EddyPipelineProps>): () => EddyPipeline {
    return () =>
      new EddyPipeline(new Stack(), 'Pipeline', { pipeline: pageViews, pipelineEntry: PAGE_VIEWS_ENTRY, ...props });
  }

  it('rejects a shard override of an unknown stream, listing the streams', () => {
    expect(construct({ shards: { click: 2 } })).toThrow(
      "shards: pipeline 'page-views' has no stream named 'click'; its streams are: clicks, page-views-keyBy-1, page-views-by-page, page-views-dead-letters",
    );
  });

  it('rejects shard counts Kinesis does not take', () => {
    expect(construct({ shards: { clicks: 0 } })).toThrow("shards['clicks'] must be an integer from 1 to 500, got 0");
    expect(construct({ shards: { clicks: 1.5 } })).toThrow('got 1.5');
  });

  it('deploys on-demand streams, every one or those named, without a shard count', () => {
    const modes = (streamMode: EddyPipelineProps['streamMode']) => {
      const { app, dispose } = testApp({ 'aws:cdk:bundling-stacks': [] });
      onTestFinished(dispose);
      const stack = new Stack(app, 'Modes');
      new EddyPipeline(stack, 'Pipeline', {
        pipeline: pageViews,
        pipelineEntry: PAGE_VIEWS_ENTRY,
        ...(streamMode !== undefined && { streamMode }),
      });
      const json = Template.fromStack(stack).toJSON() as CfnTemplate;
      return Object.fromEntries(
        resourcesOfType(json, 'AWS::Kinesis::Stream').map(([, s]) => [
          s.Properties.Name,
          [(s.Properties.StreamModeDetails as { StreamMode: string }).StreamMode, s.Properties.ShardCount],
        ]),
      );
    };
    const PREFIX = 'page-views-';
    expect(modes('on-demand')).toEqual(
      Object.fromEntries(STREAMS.map((name) => [PREFIX + name, ['ON_DEMAND', undefined]])),
    );
    expect(modes({ clicks: 'on-demand' })).toEqual({
      [`${PREFIX}clicks`]: ['ON_DEMAND', undefined],
      [`${PREFIX}page-views-keyBy-1`]: ['PROVISIONED', 1],
      [`${PREFIX}page-views-by-page`]: ['PROVISIONED', 1],
      [`${PREFIX}page-views-dead-letters`]: ['PROVISIONED', 1],
    });
    expect(modes(undefined)[`${PREFIX}clicks`]).toEqual(['PROVISIONED', 1]);
  });

  it('rejects a stream mode of an unknown stream or mode, and a shard count for an on-demand stream', () => {
    expect(construct({ streamMode: { click: 'on-demand' } })).toThrow(
      "streamMode: pipeline 'page-views' has no stream named 'click'; its streams are: clicks, page-views-keyBy-1, page-views-by-page, page-views-dead-letters",
    );
    expect(construct({ streamMode: 'ondemand' as 'on-demand' })).toThrow(
      `streamMode must be 'provisioned' or 'on-demand', got "ondemand"`,
    );
    expect(construct({ streamMode: { clicks: 'auto' as 'on-demand' } })).toThrow(`streamMode['clicks'] must be`);
    expect(construct({ streamMode: { clicks: 'on-demand' }, shards: { clicks: 2 } })).toThrow(
      "shards['clicks']: stream 'clicks' is on demand (streamMode), and on-demand streams take no shard count",
    );
  });

  it('names everything <stage>_<pipeline>- with a stage, so one pipeline deploys once per stage side by side', () => {
    const names = (stage: string) => {
      const { app, dispose } = testApp({ 'aws:cdk:bundling-stacks': [] });
      onTestFinished(dispose);
      const stack = new Stack(app, `Eddy-${stage}-page-views`);
      const pipeline = new EddyPipeline(stack, 'Pipeline', {
        pipeline: pageViews,
        pipelineEntry: PAGE_VIEWS_ENTRY,
        stage,
      });
      const json = Template.fromStack(stack).toJSON() as CfnTemplate;
      return {
        prefix: pipeline.streamNamePrefix,
        streams: sorted(streamsByLogicalId(json, `${stage}_page-views-`).values()),
      };
    };
    expect(names('dev')).toEqual({ prefix: 'dev_page-views-', streams: sorted(STREAMS) });
    expect(names('prod')).toEqual({ prefix: 'prod_page-views-', streams: sorted(STREAMS) });
  });

  it('refuses a stage together with a prefix, and a stage names cannot take', () => {
    expect(construct({ stage: 'dev', streamNamePrefix: 'x-' })).toThrow(
      'give either stage or streamNamePrefix, not both',
    );
    expect(construct({ stage: 'dev_1' })).toThrow(`stage "dev_1" is invalid`);
  });

  it('rejects a prefix with characters Kinesis names do not allow', () => {
    expect(construct({ streamNamePrefix: 'dev/' })).toThrow(
      `streamNamePrefix "dev/" is invalid: Kinesis stream names allow only letters, digits, '_', '.' and '-'`,
    );
  });

  it('rejects a prefix that makes a stream name longer than 128 characters', () => {
    expect(construct({ streamNamePrefix: 'p'.repeat(110) })).toThrow(
      /makes the stream name 'p+page-views-dead-letters' 133 characters long: Kinesis allows 1 to 128/,
    );
  });

  it('rejects retention, memory and timeout outside what AWS accepts', () => {
    expect(construct({ retentionPeriod: Duration.hours(12) })).toThrow(
      'retentionPeriod must be a whole number of hours from 24 to 8760, got 12 hours',
    );
    expect(construct({ retentionPeriod: Duration.days(366) })).toThrow('got 8784 hours');
    expect(construct({ memorySize: 64 })).toThrow('memorySize must be an integer from 128 to 10240 MB, got 64');
    expect(construct({ timeout: Duration.minutes(16) })).toThrow(
      'timeout must be a whole number of seconds from 1 to 900, got 960 seconds',
    );
  });

  it('rejects a pipeline entry that does not exist', () => {
    expect(construct({ pipelineEntry: 'examples/nope.ts' })).toThrow(/^pipelineEntry: no file at 'examples\/nope.ts'/);
  });
});
