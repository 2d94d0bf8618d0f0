import { fileURLToPath } from 'node:url';
import { Logger } from '@aws-lambda-powertools/logger';
import { Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import { afterAll, beforeAll, describe, expect, it, onTestFinished, vi } from 'vitest';
import pageViewCounts from '../../examples/page-view-counts.js';
import pageViews from '../../examples/page-views.js';
import { EddyPipeline, type EddyPipelineProps } from '../../infra/eddy-pipeline.js';
import { EMF_NAMESPACE } from '../../infra/metrics.js';
import { ITERATOR_AGE_ALARM_MINUTES } from '../../infra/observability.js';
import { EddyPipelineStack } from '../../infra/pipeline-stack.js';
import type { Pipeline } from '../../shared/index.js';
import { MemoryRecordWriter } from '../../shared/runtime/io/memory-record-writer.js';
import { createLambdaStageHandler } from '../../shared/runtime/lambda-handler.js';
import { kinesisEvent, lambdaContext } from '../helpers/kinesis-events.js';
import sensors from './fixtures/idle-pipeline.js';
import {
  type CfnResource,
  type CfnTemplate,
  type DashboardWidget,
  dashboardBody,
  functionOfStage,
  onlyResourceOfType,
  PAGE_VIEW_COUNTS_ENTRY,
  PAGE_VIEWS_ENTRY,
  resourcesOfType,
  sorted,
  streamsByLogicalId,
  testApp,
  UNPREFIXED,
} from './support.js';

const IDLE_ENTRY = fileURLToPath(new URL('./fixtures/idle-pipeline.ts', import.meta.url));
const FIVE_MINUTES_MS = 5 * 60 * 1000;
const ENV = { account: '123456789012', region: 'eu-west-1' };

/** The template of a stack built in a fresh app, without bundling (nothing here looks at the code). */
function synth(build: (stack: Stack) => void, env?: { account: string; region: string }): CfnTemplate {
  const { app, dispose } = testApp({ 'aws:cdk:bundling-stacks': [] });
  const stack = new Stack(app, 'Observed', env === undefined ? {} : { env });
  build(stack);
  const json = Template.fromStack(stack).toJSON() as CfnTemplate;
  dispose();
  return json;
}

interface GraphMetric {
  readonly namespace: string;
  readonly name: string;
  readonly dimensions: Record<string, string>;
  readonly options: { stat?: string; label?: string; yAxis?: string };
}

/** A graph's metrics, from the `[namespace, name, dimension, value, ..., options]` arrays of the body. */
function metricsOf(widget: DashboardWidget): GraphMetric[] {
  return (widget.properties.metrics ?? []).map((row) => {
    const [namespace, name, ...rest] = row as [string, string, ...unknown[]];
    const options = (typeof rest.at(-1) === 'object' ? rest.pop() : {}) as GraphMetric['options'];
    const dimensions: Record<string, string> = {};
    for (let i = 0; i < rest.length; i += 2) dimensions[rest[i] as string] = rest[i + 1] as string;
    return { namespace, name, dimensions, options };
  });
}

function widgetTitled(widgets: DashboardWidget[], title: string): DashboardWidget {
  const found = widgets.filter((widget) => widget.properties.title === title);
  expect(found, `one widget titled '${title}'`).toHaveLength(1);
  return found[0] as DashboardWidget;
}

const ref = (id: string) => `{{Ref:${id}}}`;

function alarmsOf(json: CfnTemplate): Map<string, [string, CfnResource]> {
  return new Map(
    resourcesOfType(json, 'AWS::CloudWatch::Alarm').map(([id, alarm]) => [
      alarm.Properties.AlarmName as string,
      [id, alarm] as [string, CfnResource],
    ]),
  );
}

/**
 * Asserts the dashboard and alarms of one deployed pipeline: the widgets of every stage with the
 * metrics they must show, the pipeline's dead-letter widget and alarm list, and every alarm's metric,
 * threshold and actions.
 */
function expectObservability(
  json: CfnTemplate,
  pipeline: Pipeline,
  expected: {
    name: string;
    /** The stack's region, when it has one: the dashboard's name ends with it. */
    region?: string;
    prefix?: string;
    thresholdMs: number;
    actions: unknown[];
    idleness: boolean;
  },
): void {
  const plan = pipeline.plan();
  const streamIds = new Map([...streamsByLogicalId(json, expected.prefix)].map(([id, name]) => [name, id]));
  const streamId = (name: string) => streamIds.get(name) as string;
  const [queueId] = onlyResourceOfType(json, 'AWS::SQS::Queue');

  const [, dashboard] = onlyResourceOfType(json, 'AWS::CloudWatch::Dashboard');
  expect(dashboard.Properties.DashboardName).toEqual(
    expected.region === undefined
      ? { 'Fn::Join': ['', [`${expected.name}-`, { Ref: 'AWS::Region' }]] }
      : `${expected.name}-${expected.region}`,
  );
  const { widgets } = dashboardBody(dashboard);

  // Layout: inside the 24 columns, no two widgets on the same cells.
  const cells = new Set<string>();
  for (const widget of widgets) {
    expect(widget.x + widget.width).toBeLessThanOrEqual(24);
    for (let x = widget.x; x < widget.x + widget.width; x++) {
      for (let y = widget.y; y < widget.y + widget.height; y++) {
        expect(cells.has(`${x},${y}`), `overlap at ${x},${y}`).toBe(false);
        cells.add(`${x},${y}`);
      }
    }
  }

  const deadLetters = metricsOf(widgetTitled(widgets, 'Dead letters'));
  expect(deadLetters).toEqual([
    {
      namespace: 'AWS/Kinesis',
      name: 'IncomingRecords',
      dimensions: { StreamName: ref(streamId(plan.deadLetter.name)) },
      options: expect.objectContaining({ stat: 'Sum' }),
    },
    {
      namespace: 'AWS/SQS',
      name: 'ApproximateNumberOfMessagesVisible',
      dimensions: { QueueName: `{{${queueId}.QueueName}}` },
      options: expect.objectContaining({ stat: 'Maximum', yAxis: 'right' }),
    },
  ]);

  const alarms = alarmsOf(json);
  const alarmWidget = widgetTitled(widgets, 'Alarms');
  expect(alarmWidget.type).toBe('alarm');
  expect(sorted(alarmWidget.properties.alarms ?? [])).toEqual(
    sorted([...alarms.values()].map(([id]) => `{{${id}.Arn}}`)),
  );

  for (const stage of plan.stages) {
    const [functionId] = functionOfStage(json, stage.id);
    const fn = ref(functionId);
    const emf = { service: plan.pipeline, pipeline: plan.pipeline, stage: stage.id };

    const throughput = metricsOf(widgetTitled(widgets, `${stage.id}: records in / out`));
    for (const name of ['RecordsIn', 'RecordsOut', 'RecordsFiltered', 'RecordsDeadLettered']) {
      expect(throughput, `${stage.id} ${name}`).toContainEqual({
        namespace: EMF_NAMESPACE,
        name,
        dimensions: emf,
        options: expect.objectContaining({ stat: 'Sum' }),
      });
    }

    // Each operator fused in the stage, counted apart (EMF documents with an operator dimension).
    const operators = metricsOf(widgetTitled(widgets, `${stage.id}: operators`));
    const operatorSeries = [
      'OperatorRecordsIn',
      'OperatorRecordsOut',
      'OperatorRecordsFiltered',
      'OperatorRecordsDeadLettered',
      ...(stage.stateful ? ['OperatorRecordsLate'] : []),
    ];
    expect(operators).toHaveLength(stage.nodes.length * operatorSeries.length);
    for (const operator of stage.nodes) {
      for (const name of operatorSeries) {
        expect(operators, `${stage.id} ${operator} ${name}`).toContainEqual({
          namespace: EMF_NAMESPACE,
          name,
          dimensions: { ...emf, operator },
          options: expect.objectContaining({ stat: 'Sum' }),
        });
      }
    }

    const lagWidget = widgetTitled(widgets, `${stage.id}: consumer lag`);
    expect(metricsOf(lagWidget)).toEqual([
      {
        namespace: 'AWS/Lambda',
        name: 'IteratorAge',
        dimensions: { FunctionName: fn },
        options: expect.objectContaining({ stat: 'Maximum' }),
      },
      {
        namespace: 'AWS/Kinesis',
        name: 'GetRecords.IteratorAgeMilliseconds',
        dimensions: { StreamName: ref(streamId(stage.input)) },
        options: expect.objectContaining({ stat: 'Maximum' }),
      },
    ]);
    expect(lagWidget.properties.annotations?.horizontal).toEqual([
      expect.objectContaining({ value: expected.thresholdMs }),
    ]);

    expect(metricsOf(widgetTitled(widgets, `${stage.id}: watermark lag`))).toEqual([
      {
        namespace: EMF_NAMESPACE,
        name: 'WatermarkLag',
        dimensions: emf,
        options: expect.objectContaining({ stat: 'Maximum' }),
      },
    ]);

    const errors = metricsOf(widgetTitled(widgets, `${stage.id}: errors, throttles`));
    for (const name of ['Errors', 'Throttles']) {
      expect(errors).toContainEqual({
        namespace: 'AWS/Lambda',
        name,
        dimensions: { FunctionName: fn },
        options: expect.objectContaining({ stat: 'Sum' }),
      });
    }

    const throttling = metricsOf(widgetTitled(widgets, `${stage.id}: write throttling`));
    expect(sorted(throttling.map((m) => m.dimensions.StreamName as string))).toEqual(
      sorted(stage.outputs.map((output) => ref(streamId(output)))),
    );
    for (const metric of throttling) {
      expect(metric).toMatchObject({ namespace: 'AWS/Kinesis', name: 'WriteProvisionedThroughputExceeded' });
      expect(metric.options.stat).toBe('Sum');
    }

    // Alarms of the stage: consumer lag over the threshold, any function error.
    const [, iteratorAge] = alarms.get(`${expected.name}-${stage.id}-iterator-age`) ?? [];
    expect(iteratorAge?.Properties).toEqual({
      AlarmName: `${expected.name}-${stage.id}-iterator-age`,
      AlarmDescription: expect.stringContaining(`Stage ${stage.id}`),
      Namespace: 'AWS/Lambda',
      MetricName: 'IteratorAge',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: functionId } }],
      Statistic: 'Maximum',
      Period: 60,
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: expected.thresholdMs,
      EvaluationPeriods: ITERATOR_AGE_ALARM_MINUTES,
      DatapointsToAlarm: ITERATOR_AGE_ALARM_MINUTES,
      TreatMissingData: 'notBreaching',
      ...(expected.actions.length > 0 && { AlarmActions: expected.actions }),
    });
    const [, functionErrors] = alarms.get(`${expected.name}-${stage.id}-errors`) ?? [];
    expect(functionErrors?.Properties).toMatchObject({
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: functionId } }],
      Statistic: 'Sum',
      Period: 60,
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 0,
      EvaluationPeriods: 1,
    });
  }

  // Alarms of the pipeline: a dead-lettered record, a failed batch, an error of the idle-shard check.
  const [, deadLetterAlarm] = alarms.get(`${expected.name}-dead-letters`) ?? [];
  expect(deadLetterAlarm?.Properties).toMatchObject({
    Namespace: 'AWS/Kinesis',
    MetricName: 'IncomingRecords',
    Dimensions: [{ Name: 'StreamName', Value: { Ref: streamId(plan.deadLetter.name) } }],
    Statistic: 'Sum',
    ComparisonOperator: 'GreaterThanThreshold',
    Threshold: 0,
    EvaluationPeriods: 1,
  });
  const [, failedBatches] = alarms.get(`${expected.name}-failed-batches`) ?? [];
  expect(failedBatches?.Properties).toMatchObject({
    Namespace: 'AWS/SQS',
    MetricName: 'ApproximateNumberOfMessagesVisible',
    Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queueId, 'QueueName'] } }],
    Statistic: 'Maximum',
    ComparisonOperator: 'GreaterThanThreshold',
    Threshold: 0,
  });
  const idleness = alarms.get(`${expected.name}-idle-shards-errors`);
  expect(idleness !== undefined).toBe(expected.idleness);

  expect(alarms.size).toBe(2 * plan.stages.length + 2 + (expected.idleness ? 1 : 0));
  for (const [name, [, alarm]] of alarms) {
    expect(alarm.Properties.TreatMissingData, name).toBe('notBreaching');
    expect(alarm.Properties.AlarmActions, name).toEqual(expected.actions.length > 0 ? expected.actions : undefined);
  }
}

describe('the dashboard and alarms of the page-views example, default props', () => {
  let json: CfnTemplate;
  beforeAll(() => {
    const { app, dispose } = testApp({ 'aws:cdk:bundling-stacks': [] });
    const stack = new EddyPipelineStack(app, 'Eddy-page-views', {
      ...UNPREFIXED,
      pipeline: pageViews,
      pipelineEntry: PAGE_VIEWS_ENTRY,
    });
    json = Template.fromStack(stack).toJSON() as CfnTemplate;
    dispose();
  });

  it('shows every stage and alarms on lag over 5 minutes, dead letters, failed batches and errors, notifying no one', () => {
    expectObservability(json, pageViews, {
      name: 'Eddy-page-views',
      thresholdMs: FIVE_MINUTES_MS,
      actions: [],
      idleness: false,
    });
    expect(resourcesOfType(json, 'AWS::SNS::Topic')).toEqual([]);
  });
});

describe('the dashboard and alarms of page-view-counts with a prefix, an alarm topic and a threshold', () => {
  let json: CfnTemplate;
  let topicId: string;
  let pipeline: EddyPipeline;
  beforeAll(() => {
    json = synth((stack) => {
      const topic = new sns.Topic(stack, 'Oncall', { enforceSSL: true });
      topicId = stack.getLogicalId(topic.node.defaultChild as sns.CfnTopic);
      pipeline = new EddyPipeline(stack, 'Pipeline', {
        pipeline: pageViewCounts,
        pipelineEntry: PAGE_VIEW_COUNTS_ENTRY,
        streamNamePrefix: 'dev.dave-',
        alarmTopic: topic,
        iteratorAgeAlarmThreshold: Duration.minutes(2),
      });
    }, ENV);
  });

  it('names the dashboard and alarms after the deployment, uses the threshold and notifies the topic', () => {
    expectObservability(json, pageViewCounts, {
      name: 'Eddy-dev-dave-page-view-counts',
      region: ENV.region,
      prefix: 'dev.dave-',
      thresholdMs: 120_000,
      actions: [{ Ref: topicId }],
      idleness: false,
    });
    expect(pipeline.alarmTopic).toBeDefined();
    expect(sorted(pipeline.observability.alarms.keys())).toEqual(
      sorted([
        'dead-letters',
        'failed-batches',
        ...pageViewCounts.plan().stages.flatMap((s) => [`${s.id}/iterator-age`, `${s.id}/errors`]),
      ]),
    );
  });
});

describe('the alarms of a pipeline with an idle-shard check and an alarm email', () => {
  let json: CfnTemplate;
  beforeAll(() => {
    json = synth((stack) => {
      new EddyPipeline(stack, 'Pipeline', {
        ...UNPREFIXED,
        pipeline: sensors,
        pipelineEntry: IDLE_ENTRY,
        alarmEmail: 'oncall@example.com',
      });
    });
  });

  it('creates a topic with the email subscribed, notified by every alarm, the idle-shard check included', () => {
    const [topicId] = onlyResourceOfType(json, 'AWS::SNS::Topic');
    expect(onlyResourceOfType(json, 'AWS::SNS::Subscription')[1].Properties).toEqual({
      Protocol: 'email',
      Endpoint: 'oncall@example.com',
      TopicArn: { Ref: topicId },
    });
    expectObservability(json, sensors, {
      name: 'Eddy-sensors',
      thresholdMs: FIVE_MINUTES_MS,
      actions: [{ Ref: topicId }],
      idleness: true,
    });
    const idleness = alarmsOf(json).get('Eddy-sensors-idle-shards-errors')?.[1];
    const [idleFunctionId] =
      resourcesOfType(json, 'AWS::Lambda::Function').find(
        ([, fn]) => !('EDDY_STAGE_ID' in (fn.Properties.Environment as { Variables: object }).Variables),
      ) ?? [];
    expect(idleness?.Properties).toMatchObject({
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: idleFunctionId } }],
      Threshold: 0,
    });
  });

  it("lets only this deployment's alarms publish to the topic, over TLS", () => {
    const [topicId, topic] = onlyResourceOfType(json, 'AWS::SNS::Topic');
    // No customer key: unencrypted on purpose, alias/aws/sns would not admit CloudWatch (docs/security.md).
    expect(topic.Properties.KmsMasterKeyId).toBeUndefined();
    const [, policy] = onlyResourceOfType(json, 'AWS::SNS::TopicPolicy');
    expect(policy.Properties.Topics).toEqual([{ Ref: topicId }]);
    expect((policy.Properties.PolicyDocument as { Statement: unknown[] }).Statement).toEqual([
      {
        Sid: 'AllowPublishThroughSSLOnly',
        Effect: 'Deny',
        Principal: '*',
        Action: 'sns:Publish',
        Resource: { Ref: topicId },
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      },
      {
        Sid: 'EddyAlarmsPublish',
        Effect: 'Allow',
        Principal: { Service: 'cloudwatch.amazonaws.com' },
        Action: 'sns:Publish',
        Resource: { Ref: topicId },
        Condition: {
          StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
          ArnLike: {
            'aws:SourceArn': {
              'Fn::Join': [
                '',
                [
                  'arn:',
                  { Ref: 'AWS::Partition' },
                  ':cloudwatch:',
                  { Ref: 'AWS::Region' },
                  ':',
                  { Ref: 'AWS::AccountId' },
                  ':alarm:Eddy-sensors-*',
                ],
              ],
            },
          },
        },
      },
    ]);
  });
});

describe('the alarm topic with a customer managed key', () => {
  it("encrypts the topic with the key and admits this deployment's alarms in the key policy", () => {
    let keyId = '';
    const json = synth((stack) => {
      const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });
      keyId = stack.getLogicalId(key.node.defaultChild as kms.CfnKey);
      new EddyPipeline(stack, 'Pipeline', {
        ...UNPREFIXED,
        pipeline: pageViews,
        pipelineEntry: PAGE_VIEWS_ENTRY,
        encryptionKey: key,
        alarmEmail: 'oncall@example.com',
      });
    }, ENV);
    expect(onlyResourceOfType(json, 'AWS::SNS::Topic')[1].Properties.KmsMasterKeyId).toEqual({
      'Fn::GetAtt': [keyId, 'Arn'],
    });
    const keyPolicy = json.Resources[keyId]?.Properties.KeyPolicy as { Statement: unknown[] };
    expect(keyPolicy.Statement).toContainEqual({
      Sid: 'EddyAlarmsToEncryptedTopic',
      Effect: 'Allow',
      Principal: { Service: 'cloudwatch.amazonaws.com' },
      Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      Resource: '*',
      Condition: {
        StringEquals: { 'aws:SourceAccount': '123456789012' },
        ArnLike: { 'aws:SourceArn': 'arn:aws:cloudwatch:eu-west-1:123456789012:alarm:Eddy-page-views-*' },
      },
    });
  });
});

describe('the dashboard reads the metrics the stage handler emits', () => {
  it('uses the namespace, names and dimensions of the Powertools EMF lines of a real batch', async () => {
    // What the deployed function gets: its stage and the metrics namespace, from the template.
    const json = synth((stack) => {
      new EddyPipeline(stack, 'Pipeline', { ...UNPREFIXED, pipeline: pageViews, pipelineEntry: PAGE_VIEWS_ENTRY });
    });
    const [, fn] = functionOfStage(json, 'from-clicks');
    const environment = (fn.Properties.Environment as { Variables: Record<string, string> }).Variables;
    vi.stubEnv('POWERTOOLS_METRICS_NAMESPACE', environment.POWERTOOLS_METRICS_NAMESPACE);
    vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'false');
    onTestFinished(() => {
      vi.unstubAllEnvs();
    });
    const lines: string[] = [];
    const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    onTestFinished(() => write.mockRestore());

    const handler = createLambdaStageHandler(pageViews, {
      stageId: environment.EDDY_STAGE_ID,
      writer: new MemoryRecordWriter(),
      logger: new Logger({ logLevel: 'SILENT' }),
    });
    const now = Date.now();
    await handler(
      kinesisEvent([
        { data: { user: 'u', page: '/a', kind: 'view', ts: now - 2000 } },
        { data: { user: 'u', page: '/b', kind: 'click', ts: now - 1000 } },
      ]),
      lambdaContext(),
    );
    write.mockRestore();

    const emf = lines
      .flatMap((chunk) => chunk.split('\n'))
      .filter((line) => line.includes('"CloudWatchMetrics"'))
      .map((line) => JSON.parse(line) as Record<string, unknown> & { _aws: { CloudWatchMetrics: EmfDirective[] } });
    // One document of the stage's metrics (Powertools), one per operator of the stage (operator-metrics.ts).
    const stageDocuments = emf.filter((document) => document.operator === undefined);
    expect(stageDocuments).toHaveLength(1);
    const stage = pageViews.plan().stages.find((s) => s.id === 'from-clicks');
    expect(emf.filter((document) => document.operator !== undefined).map((d) => d.operator)).toEqual(stage?.nodes);
    const record = stageDocuments[0] as (typeof emf)[number];
    const documentOf = (metric: GraphMetric) =>
      emf.find((document) => (metric.dimensions.operator ?? undefined) === document.operator);

    // Every Eddy metric of the dashboard's from-clicks rows is emitted, in that namespace, with those dimensions.
    const { widgets } = dashboardBody(onlyResourceOfType(json, 'AWS::CloudWatch::Dashboard')[1]);
    const fromDashboard = widgets
      .flatMap((widget) => metricsOf(widget))
      .filter((metric) => metric.namespace === EMF_NAMESPACE && metric.dimensions.stage === 'from-clicks');
    expect(sorted([...new Set(fromDashboard.map((m) => m.name))])).toEqual(
      sorted([
        'RecordsIn',
        'RecordsOut',
        'RecordsFiltered',
        'RecordsDeadLettered',
        'RecordsFailed',
        'WatermarkLag',
        'OperatorRecordsIn',
        'OperatorRecordsOut',
        'OperatorRecordsFiltered',
        'OperatorRecordsDeadLettered',
      ]),
    );
    for (const metric of fromDashboard) {
      const document = documentOf(metric);
      expect(document, `${metric.name} ${metric.dimensions.operator ?? ''}`).toBeDefined();
      const [directive] = (document as (typeof emf)[number])._aws.CloudWatchMetrics as [EmfDirective];
      const dimensions = Object.fromEntries(
        (directive.Dimensions[0] ?? []).map((name) => [name, (document as Record<string, unknown>)[name]]),
      );
      expect(directive.Namespace).toBe(metric.namespace);
      expect(
        directive.Metrics.map((m) => m.Name),
        metric.name,
      ).toContain(metric.name);
      expect(dimensions).toEqual(metric.dimensions);
    }
    // The filter counted the click apart from the view.
    expect(emf.find((document) => document.operator === 'filter-1')).toMatchObject({
      OperatorRecordsIn: 2,
      OperatorRecordsOut: 1,
      OperatorRecordsFiltered: 1,
    });
    expect(record.RecordsIn).toBe(2);
    expect(record.RecordsFiltered).toBe(1);
  });
});

interface EmfDirective {
  readonly Namespace: string;
  readonly Dimensions: string[][];
  readonly Metrics: { Name: string; Unit: string }[];
}

describe('EddyPipeline validation of the alarm options', () => {
  function construct(props: Partial<EddyPipelineProps>): () => EddyPipeline {
    return () => {
      const { app, dispose } = testApp({ 'aws:cdk:bundling-stacks': [] });
      onTestFinished(dispose);
      return new EddyPipeline(new Stack(app, 'Validated'), 'Pipeline', {
        pipeline: pageViews,
        pipelineEntry: PAGE_VIEWS_ENTRY,
        ...props,
      });
    };
  }

  it('refuses an alarm topic together with an alarm email', () => {
    const stack = new Stack();
    const alarmTopic = new sns.Topic(stack, 'Topic');
    expect(construct({ alarmTopic, alarmEmail: 'a@example.com' })).toThrow(
      'alarmTopic and alarmEmail exclude each other: subscribe the address to your topic, or let Eddy create one',
    );
  });

  it('refuses an alarm email that is not an address', () => {
    expect(construct({ alarmEmail: 'oncall' })).toThrow('alarmEmail "oncall" is not an email address');
  });

  it('refuses an iterator age threshold under a second or not under the retention period', () => {
    expect(construct({ iteratorAgeAlarmThreshold: Duration.millis(500) })).toThrow(
      'iteratorAgeAlarmThreshold must be at least 1 second, got 500 ms',
    );
    expect(construct({ iteratorAgeAlarmThreshold: Duration.hours(24) })).toThrow(
      'iteratorAgeAlarmThreshold (1 day) must be shorter than retentionPeriod (1 day)',
    );
    expect(
      construct({ iteratorAgeAlarmThreshold: Duration.hours(24), retentionPeriod: Duration.hours(48) }),
    ).not.toThrow();
  });
});

afterAll(() => {
  vi.restoreAllMocks();
});
