import { fileURLToPath } from 'node:url';
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { EddyPipeline } from '../../infra/eddy-pipeline.js';
import { DEAD_LETTER_QUEUE_URL_ENV } from '../../shared/runtime/io/sqs-dead-letter-sink.js';
import { expectEncryptedAtRest, expectTlsOnly } from './encryption.js';
import clicks from './fixtures/dead-letter-queue-pipeline.js';
import { expectLeastPrivilege, expectNoWildcards } from './least-privilege.js';
import {
  type CfnTemplate,
  type DashboardWidget,
  dashboardBody,
  functionOfStage,
  onlyResourceOfType,
  resourcesOfType,
  testApp,
  UNPREFIXED,
} from './support.js';

const ENTRY = fileURLToPath(new URL('./fixtures/dead-letter-queue-pipeline.ts', import.meta.url));
const ENV = { account: '123456789012', region: 'eu-west-1' };
const plan = clicks.plan();

function synth(build: (stack: Stack) => void): CfnTemplate {
  const { app, dispose } = testApp({ 'aws:cdk:bundling-stacks': [] });
  const stack = new Stack(app, 'Dlq', { env: ENV });
  build(stack);
  const json = Template.fromStack(stack).toJSON() as CfnTemplate;
  dispose();
  return json;
}

/** The logical ids of the failure queue and of the dead-letter queue. */
function queues(json: CfnTemplate): { failureQueueId: string; deadLetterQueueId: string } {
  const ids = resourcesOfType(json, 'AWS::SQS::Queue').map(([id]) => id);
  expect(ids).toHaveLength(2);
  const deadLetterQueueId = ids.find((id) => id.includes('DeadLetters')) as string;
  const failureQueueId = ids.find((id) => id.includes('FailedBatches')) as string;
  expect(deadLetterQueueId).toBeDefined();
  expect(failureQueueId).toBeDefined();
  return { failureQueueId, deadLetterQueueId };
}

describe('EddyPipeline with dead letters to an SQS queue', () => {
  let json: CfnTemplate;
  beforeAll(() => {
    json = synth((stack) => {
      new EddyPipeline(stack, 'Pipeline', { pipeline: clicks, pipelineEntry: ENTRY, streamNamePrefix: 'dev-' });
    });
  });

  it('creates the queue, named with the prefix, kept 14 days, and no dead-letter stream', () => {
    const { deadLetterQueueId } = queues(json);
    expect(json.Resources[deadLetterQueueId]?.Properties).toMatchObject({
      QueueName: 'dev-dlq-clicks-dead-letters',
      MessageRetentionPeriod: 14 * 24 * 3600,
      SqsManagedSseEnabled: true,
    });
    const streams = resourcesOfType(json, 'AWS::Kinesis::Stream').map(([, s]) => s.Properties.Name);
    expect(streams.sort()).toEqual([
      'dev-dlq-clicks-by-page',
      'dev-dlq-clicks-window-1-late',
      'dev-dlq-counts',
      'dev-dlq-in',
    ]);
  });

  it('gives every stage the queue URL and only SendMessage on the queue (least privilege)', () => {
    const { failureQueueId, deadLetterQueueId } = queues(json);
    for (const stage of plan.stages) {
      const [, fn] = functionOfStage(json, stage.id);
      const variables = (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
      expect(variables[DEAD_LETTER_QUEUE_URL_ENV], stage.id).toEqual({ Ref: deadLetterQueueId });
    }
    const tableId = onlyResourceOfType(json, 'AWS::DynamoDB::GlobalTable')[0];
    expectLeastPrivilege(json, { plan, prefix: 'dev-', queueId: failureQueueId, deadLetterQueueId, tableId });
    expectNoWildcards(json);
  });

  it('alarms on the queue depth instead of a stream, and shows it on the dashboard', () => {
    const { deadLetterQueueId } = queues(json);
    const alarms = resourcesOfType(json, 'AWS::CloudWatch::Alarm');
    const alarm = alarms.find(([, a]) => a.Properties.AlarmName === 'Eddy-dev-dlq-clicks-dead-letters')?.[1];
    expect(alarm?.Properties).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [deadLetterQueueId, 'QueueName'] } }],
      Statistic: 'Maximum',
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 0,
    });
    expect(alarm?.Properties.AlarmDescription).toMatch(/dead-lettered to queue dlq-clicks-dead-letters/);
    expect(alarms.some(([, a]) => a.Properties.MetricName === 'IncomingRecords')).toBe(false);

    const [, dashboard] = onlyResourceOfType(json, 'AWS::CloudWatch::Dashboard');
    const widget = dashboardBody(dashboard).widgets.find(
      (w) => w.properties.title === 'Dead letters',
    ) as DashboardWidget;
    const rows = (widget.properties.metrics ?? []).map((row) => row.slice(0, 4));
    expect(rows).toEqual([
      ['AWS/SQS', 'ApproximateNumberOfMessagesVisible', 'QueueName', `{{${deadLetterQueueId}.QueueName}}`],
      ['AWS/SQS', 'ApproximateNumberOfMessagesVisible', 'QueueName', expect.stringContaining('FailedBatches')],
    ]);
  });

  it('outputs the queue URL and encrypts both queues, which refuse plain HTTP', () => {
    const { deadLetterQueueId } = queues(json);
    const output = Object.values(json.Outputs ?? {}).find((o) => o.Description?.includes('dead letters'));
    expect(output?.Value).toEqual({ Ref: deadLetterQueueId });
    expectEncryptedAtRest(json);
    expectTlsOnly(json);
  });

  it('refuses a prefix that makes no SQS queue name', () => {
    expect(() =>
      synth((stack) => {
        new EddyPipeline(stack, 'Pipeline', { pipeline: clicks, pipelineEntry: ENTRY, streamNamePrefix: 'dev.carol-' });
      }),
    ).toThrow(/dead-letter queue's name 'dev.carol-dlq-clicks-dead-letters' .* is not a valid SQS queue name/);
  });
});

describe('EddyPipeline with dead letters to a stream (the default)', () => {
  it('creates no dead-letter queue and sets no queue URL', async () => {
    const { default: pageViews } = await import('../../examples/page-views.js');
    const { PAGE_VIEWS_ENTRY } = await import('./support.js');
    const json = synth((stack) => {
      new EddyPipeline(stack, 'Pipeline', { ...UNPREFIXED, pipeline: pageViews, pipelineEntry: PAGE_VIEWS_ENTRY });
    });
    expect(resourcesOfType(json, 'AWS::SQS::Queue')).toHaveLength(1);
    for (const [, fn] of resourcesOfType(json, 'AWS::Lambda::Function')) {
      const variables = (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
      expect(variables[DEAD_LETTER_QUEUE_URL_ENV]).toBeUndefined();
    }
  });
});
