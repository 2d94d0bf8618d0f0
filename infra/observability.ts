import { Annotations, ArnFormat, Duration, Stack, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kinesis from 'aws-cdk-lib/aws-kinesis';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { PipelinePlan, StageSpec } from '../shared/index.js';
import { OperatorMetricNames } from '../shared/runtime/operator-metrics.js';
import { operatorMetric, type StageMetricName, StageMetricNames, stageMetric } from './metrics.js';

/** Lambda's IteratorAge above which a stage counts as falling behind, unless the props say otherwise. */
export const DEFAULT_ITERATOR_AGE_THRESHOLD = Duration.minutes(5);
/** Every graph and alarm looks at one-minute periods: Kinesis, Lambda and SQS all report per minute. */
const PERIOD = Duration.minutes(1);
/** Minutes in a row the iterator age must stay above the threshold: one slow retry is not lag. */
export const ITERATOR_AGE_ALARM_MINUTES = 3;
const CLOUDWATCH = 'cloudwatch.amazonaws.com';
/** PutMetricAlarm's limit on AlarmName. */
const MAX_ALARM_NAME_LENGTH = 255;

const GRAPH_HEIGHT = 6;
/** One row of graphs per stage: the widths add up to the dashboard's 24 columns. */
const STAGE_ROW_WIDTHS = { throughput: 6, consumerLag: 6, watermarkLag: 4, errors: 4, writeThrottling: 4 } as const;

/** Checks the alarm options before anything is created. */
export function validateAlarmOptions(options: {
  readonly iteratorAgeAlarmThreshold: Duration;
  readonly retentionPeriod: Duration;
  readonly alarmTopic?: sns.ITopic;
  readonly alarmEmail?: string;
}): void {
  const threshold = options.iteratorAgeAlarmThreshold.toMilliseconds();
  if (!Number.isInteger(threshold) || threshold < 1000) {
    throw new Error(`iteratorAgeAlarmThreshold must be at least 1 second, got ${threshold} ms`);
  }
  const retention = options.retentionPeriod.toMilliseconds();
  if (threshold >= retention) {
    throw new Error(
      `iteratorAgeAlarmThreshold (${options.iteratorAgeAlarmThreshold.toHumanString()}) must be shorter than ` +
        `retentionPeriod (${options.retentionPeriod.toHumanString()}): records older than the retention are gone before it fires`,
    );
  }
  if (options.alarmTopic !== undefined && options.alarmEmail !== undefined) {
    throw new Error(
      'alarmTopic and alarmEmail exclude each other: subscribe the address to your topic, or let Eddy create one',
    );
  }
  const email = options.alarmEmail;
  if (email !== undefined && !Token.isUnresolved(email) && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) {
    throw new Error(`alarmEmail ${JSON.stringify(email)} is not an email address`);
  }
}

export interface PipelineObservabilityProps {
  readonly plan: PipelinePlan;
  /** The deployment's name (see `deploymentName`): every alarm name's prefix, and the dashboard's with the region. */
  readonly name: string;
  /** Streams by logical name. */
  readonly streams: ReadonlyMap<string, kinesis.IStream>;
  /** Stage functions by stage id. */
  readonly functions: ReadonlyMap<string, lambda.IFunction>;
  readonly failureQueue: sqs.IQueue;
  /** The queue dead letters go to, when the plan sends them to a queue (`plan.deadLetter.kind === 'queue'`). */
  readonly deadLetterQueue?: sqs.IQueue;
  /** The scheduled idle-shard check, when there is one: its errors are alarmed too. */
  readonly idlenessFunction?: lambda.IFunction;
  readonly iteratorAgeAlarmThreshold: Duration;
  /** Where alarms notify; see {@link PipelineObservability}. */
  readonly alarmTopic?: sns.ITopic;
  readonly alarmEmail?: string;
  /** The pipeline's customer managed key: it also encrypts a topic created for `alarmEmail`. */
  readonly encryptionKey?: kms.IKey;
}

/**
 * The CloudWatch dashboard of a pipeline and its alarms (docs/operations.md).
 *
 * The dashboard has a row for the pipeline (dead letters, the alarms' states) and a row per stage:
 * records in and out (the stage's Powertools metrics), consumer lag (Lambda's IteratorAge and the
 * input stream's GetRecords.IteratorAgeMilliseconds), watermark lag, function errors and throttles,
 * and write throttling of the stage's output streams.
 *
 * Alarms: per stage, IteratorAge above the threshold for {@link ITERATOR_AGE_ALARM_MINUTES} minutes
 * and any function error; for the pipeline, any record on the dead-letter stream (or any message
 * visible in the dead-letter queue), any message in the failure queue, and any error of the idle-shard check. Each notifies `alarmTopic`, or a topic
 * created for `alarmEmail`, when one is given.
 */
export class PipelineObservability extends Construct {
  readonly dashboard: cloudwatch.Dashboard;
  /** Alarms by a short key: `<stage id>/iterator-age`, `<stage id>/errors`, `dead-letters`, `failed-batches`, `idle-shards/errors`. */
  readonly alarms: ReadonlyMap<string, cloudwatch.Alarm>;
  /** The topic the alarms notify, when there is one. */
  readonly alarmTopic?: sns.ITopic;

  readonly #props: PipelineObservabilityProps;
  readonly #alarms = new Map<string, cloudwatch.Alarm>();

  constructor(scope: Construct, id: string, props: PipelineObservabilityProps) {
    super(scope, id);
    this.#props = props;
    this.alarms = this.#alarms;
    const topic = props.alarmEmail === undefined ? props.alarmTopic : this.#emailTopic(props.alarmEmail);
    if (topic !== undefined) this.alarmTopic = topic;

    const { plan } = props;
    const where = `${plan.deadLetter.kind} ${plan.deadLetter.name}`;
    this.#alarm('dead-letters', 'dead-letters', {
      metric: this.#deadLetterMetric(),
      threshold: 0,
      evaluationPeriods: 1,
      alarmDescription:
        `Records of pipeline '${plan.pipeline}' were dead-lettered to ${where}: ` +
        'read them for the error, operator and source position (docs/operations.md, "Dead letters").' +
        (plan.deadLetter.kind === 'queue' ? ' The alarm stays on until the queue is empty.' : ''),
    });
    this.#alarm('failed-batches', 'failed-batches', {
      metric: props.failureQueue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: PERIOD }),
      threshold: 0,
      evaluationPeriods: 1,
      alarmDescription:
        `A stage of pipeline '${plan.pipeline}' gave up on a batch after its retries: the failure queue holds ` +
        'its shard and sequence numbers (docs/operations.md, "Failed batches"). The alarm stays on until the queue is empty.',
    });
    for (const stage of plan.stages) this.#stageAlarms(stage);
    if (props.idlenessFunction !== undefined) {
      this.#alarm('idle-shards/errors', 'idle-shards-errors', {
        metric: props.idlenessFunction.metricErrors({ statistic: 'Sum', period: PERIOD }),
        threshold: 0,
        evaluationPeriods: 1,
        alarmDescription:
          `The idle-shard check of pipeline '${plan.pipeline}' failed: idle source shards may hold back ` +
          'watermarks and windows until it runs again (docs/watermarks.md).',
      });
    }

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      // Dashboards are global to the account, streams and alarms regional: the region keeps copies of
      // a pipeline in two regions of one account from claiming the same dashboard.
      dashboardName: `${props.name}-${Stack.of(this).region}`,
      defaultInterval: Duration.hours(3),
      widgets: [...this.#pipelineRows(), ...plan.stages.flatMap((stage) => this.#stageRows(stage))],
    });
  }

  #stageAlarms(stage: StageSpec): void {
    const { plan } = this.#props;
    const fn = this.#function(stage.id);
    const threshold = this.#props.iteratorAgeAlarmThreshold;
    this.#alarm(`${stage.id}/iterator-age`, `${stage.id}-iterator-age`, {
      metric: fn.metric('IteratorAge', { statistic: 'Maximum', period: PERIOD }),
      threshold: threshold.toMilliseconds(),
      evaluationPeriods: ITERATOR_AGE_ALARM_MINUTES,
      datapointsToAlarm: ITERATOR_AGE_ALARM_MINUTES,
      alarmDescription:
        `Stage ${stage.id} of pipeline '${plan.pipeline}' is more than ${threshold.toHumanString()} behind its input ` +
        `stream ${stage.input} (Lambda IteratorAge, ${ITERATOR_AGE_ALARM_MINUTES} minutes in a row): see ` +
        'docs/operations.md, "Reading lag".',
    });
    this.#alarm(`${stage.id}/errors`, `${stage.id}-errors`, {
      metric: fn.metricErrors({ statistic: 'Sum', period: PERIOD }),
      threshold: 0,
      evaluationPeriods: 1,
      alarmDescription:
        `The function of stage ${stage.id} of pipeline '${plan.pipeline}' failed: Lambda retries the batch ` +
        '(bisecting it), and gives up to the failure queue after the retry limit. Its log group has the error.',
    });
  }

  #alarm(key: string, suffix: string, props: Omit<cloudwatch.AlarmProps, 'alarmName'>): void {
    const alarmName = `${this.#props.name}-${suffix}`;
    if (alarmName.length > MAX_ALARM_NAME_LENGTH) {
      throw new Error(
        `alarm name '${alarmName}' is ${alarmName.length} characters long: CloudWatch allows ${MAX_ALARM_NAME_LENGTH}; use a shorter streamNamePrefix`,
      );
    }
    const alarm = new cloudwatch.Alarm(this, `Alarm-${suffix}`, {
      ...props,
      alarmName,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      // No invocations, no records, an empty queue: nothing reported is nothing wrong.
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    if (this.alarmTopic !== undefined) alarm.addAlarmAction(new actions.SnsAction(this.alarmTopic));
    this.#alarms.set(key, alarm);
  }

  /** The dashboard's rows (each at most 24 columns wide) about the pipeline as a whole. */
  #pipelineRows(): cloudwatch.IWidget[][] {
    const { plan } = this.#props;
    const stages = plan.stages.map((stage) => `\`${stage.id}\``).join(', ');
    return [
      [
        new cloudwatch.TextWidget({
          width: 24,
          height: 2,
          markdown:
            `# Eddy pipeline \`${plan.pipeline}\` (${this.#props.name})\n` +
            `Stages ${stages}. Per stage: records in and out, consumer lag, watermark lag, errors, write throttling. ` +
            'How to read it: docs/operations.md.',
        }),
      ],
      [
        new cloudwatch.GraphWidget({
          title: 'Dead letters',
          width: 12,
          height: GRAPH_HEIGHT,
          ...(plan.deadLetter.kind === 'stream'
            ? { left: [this.#deadLetterMetric(`records to ${plan.deadLetter.name}`)] }
            : {}),
          right: [
            ...(plan.deadLetter.kind === 'queue'
              ? [this.#deadLetterMetric(`dead letters in the queue ${plan.deadLetter.name}`)]
              : []),
            this.#props.failureQueue.metricApproximateNumberOfMessagesVisible({
              statistic: 'Maximum',
              period: PERIOD,
              label: 'failed batches in the failure queue',
            }),
          ],
          ...(plan.deadLetter.kind === 'stream' && { leftYAxis: { min: 0, label: 'records' } }),
          rightYAxis: { min: 0, label: 'messages' },
        }),
        new cloudwatch.AlarmStatusWidget({
          title: 'Alarms',
          width: 12,
          height: GRAPH_HEIGHT,
          alarms: [...this.#alarms.values()],
        }),
      ],
    ];
  }

  /** Two rows per stage: a title, and its graphs. */
  #stageRows(stage: StageSpec): cloudwatch.IWidget[][] {
    const { plan } = this.#props;
    const fn = this.#function(stage.id);
    // A `dynamoDbStream` source's stage reads a table's stream: Lambda's IteratorAge is its lag graph.
    const input = this.#props.streams.get(stage.input);
    const metric = (name: StageMetricName, statistic: string, label: string) =>
      stageMetric(plan.pipeline, stage.id, name, { statistic, label });
    const outputs = stage.outputs.map((name) => `\`${name}\``).join(', ');
    return [
      [
        new cloudwatch.TextWidget({
          width: 24,
          height: 1,
          markdown: `### Stage \`${stage.id}\`: reads \`${stage.input}\`, writes ${outputs}`,
        }),
      ],
      [
        new cloudwatch.GraphWidget({
          title: `${stage.id}: records in / out`,
          width: STAGE_ROW_WIDTHS.throughput,
          height: GRAPH_HEIGHT,
          left: [
            metric(StageMetricNames.recordsIn, 'Sum', 'in'),
            metric(StageMetricNames.recordsOut, 'Sum', 'out'),
            metric(StageMetricNames.recordsFiltered, 'Sum', 'filtered'),
            metric(StageMetricNames.recordsDeadLettered, 'Sum', 'dead-lettered'),
          ],
          leftYAxis: { min: 0, label: 'records / minute' },
        }),
        new cloudwatch.GraphWidget({
          title: `${stage.id}: consumer lag`,
          width: STAGE_ROW_WIDTHS.consumerLag,
          height: GRAPH_HEIGHT,
          left: [
            fn.metric('IteratorAge', { statistic: 'Maximum', period: PERIOD, label: 'Lambda IteratorAge' }),
            ...(input === undefined
              ? []
              : [
                  input.metricGetRecordsIteratorAgeMilliseconds({
                    statistic: 'Maximum',
                    period: PERIOD,
                    label: `${stage.input} GetRecords.IteratorAgeMilliseconds`,
                  }),
                ]),
          ],
          leftYAxis: { min: 0, label: 'ms' },
          leftAnnotations: [
            { value: this.#props.iteratorAgeAlarmThreshold.toMilliseconds(), label: 'IteratorAge alarm' },
          ],
        }),
        new cloudwatch.GraphWidget({
          title: `${stage.id}: watermark lag`,
          width: STAGE_ROW_WIDTHS.watermarkLag,
          height: GRAPH_HEIGHT,
          left: [metric(StageMetricNames.watermarkLag, 'Maximum', 'WatermarkLag')],
          leftYAxis: { min: 0, label: 'ms' },
        }),
        new cloudwatch.GraphWidget({
          title: `${stage.id}: errors, throttles`,
          width: STAGE_ROW_WIDTHS.errors,
          height: GRAPH_HEIGHT,
          left: [
            fn.metricErrors({ statistic: 'Sum', period: PERIOD, label: 'Errors' }),
            fn.metricThrottles({ statistic: 'Sum', period: PERIOD, label: 'Throttles' }),
            metric(StageMetricNames.recordsFailed, 'Sum', 'records not written'),
          ],
          leftYAxis: { min: 0 },
        }),
        new cloudwatch.GraphWidget({
          title: `${stage.id}: write throttling`,
          width: STAGE_ROW_WIDTHS.writeThrottling,
          height: GRAPH_HEIGHT,
          left: stage.outputs.map((name) =>
            this.#stream(name).metricWriteProvisionedThroughputExceeded({
              statistic: 'Sum',
              period: PERIOD,
              label: name,
            }),
          ),
          leftYAxis: { min: 0, label: 'throttled records' },
        }),
      ],
      [plan.operatorMetrics === false ? this.#noOperatorsWidget(stage) : this.#operatorsWidget(stage)],
    ];
  }

  /** What the operators graph would show, and where to see it with `operatorMetrics: false`. */
  #noOperatorsWidget(stage: StageSpec): cloudwatch.TextWidget {
    return new cloudwatch.TextWidget({
      markdown:
        `**${stage.id}: operators** (${stage.nodes.join(', ')}): not published, the pipeline sets ` +
        "`operatorMetrics: false` (or `profile: 'cost'`). The stage graphs above count its records; " +
        '`eddy run` and `eddy dev` count each operator locally.',
      width: 24,
      height: 2,
    });
  }

  /**
   * Every operator fused in the stage counted apart (the EMF documents of operator-metrics.ts): what
   * reached it, what it passed on, dropped and dead-lettered, and for stateful stages what was late.
   */
  #operatorsWidget(stage: StageSpec): cloudwatch.GraphWidget {
    const { plan } = this.#props;
    const series = [
      [OperatorMetricNames.recordsIn, 'in'],
      [OperatorMetricNames.recordsOut, 'out'],
      [OperatorMetricNames.filtered, 'filtered'],
      [OperatorMetricNames.deadLettered, 'dead-lettered'],
      ...(stage.stateful ? [[OperatorMetricNames.late, 'late'] as const] : []),
    ] as const;
    return new cloudwatch.GraphWidget({
      title: `${stage.id}: operators`,
      width: 24,
      height: GRAPH_HEIGHT,
      left: stage.nodes.flatMap((operator) =>
        series.map(([name, what]) =>
          operatorMetric(plan.pipeline, stage.id, operator, name, { statistic: 'Sum', label: `${operator} ${what}` }),
        ),
      ),
      leftYAxis: { min: 0, label: 'records / minute' },
      legendPosition: cloudwatch.LegendPosition.RIGHT,
    });
  }

  /**
   * The topic for `alarmEmail`: TLS only, encrypted with the pipeline's key when there is one (which
   * must then admit CloudWatch), and publishable by this deployment's alarms only.
   */
  #emailTopic(email: string): sns.Topic {
    const key = this.#props.encryptionKey;
    const topic = new sns.Topic(this, 'AlarmTopic', {
      displayName: `Eddy alarms of ${this.#props.name}`.slice(0, 100),
      enforceSSL: true,
      ...(key !== undefined && { masterKey: key }),
    });
    topic.addSubscription(new subscriptions.EmailSubscription(email));
    const stack = Stack.of(this);
    // Only alarms of this deployment, in this account: no other alarm can use the topic or the key.
    const fromTheseAlarms = {
      StringEquals: { 'aws:SourceAccount': stack.account },
      ArnLike: {
        'aws:SourceArn': stack.formatArn({
          service: 'cloudwatch',
          resource: 'alarm',
          resourceName: `${this.#props.name}-*`,
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        }),
      },
    };
    topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'EddyAlarmsPublish',
        principals: [new iam.ServicePrincipal(CLOUDWATCH)],
        actions: ['sns:Publish'],
        resources: [topic.topicArn],
        conditions: fromTheseAlarms,
      }),
    );
    // Without a customer key the topic stays unencrypted, on purpose: CloudWatch cannot publish to a topic
    // encrypted with the AWS managed key alias/aws/sns (its key policy does not admit CloudWatch), and
    // alarm notifications carry no pipeline data (docs/security.md).
    if (key !== undefined) {
      // CloudWatch publishes to an encrypted topic with its own principal: the key policy must admit it.
      const added = key.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: 'EddyAlarmsToEncryptedTopic',
          principals: [new iam.ServicePrincipal(CLOUDWATCH)],
          actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          resources: ['*'],
          conditions: fromTheseAlarms,
        }),
        true,
      );
      if (!added.statementAdded) {
        Annotations.of(this).addWarningV2(
          'eddy:alarm-topic-key',
          `The alarm topic is encrypted with an imported key whose policy Eddy cannot change: allow ` +
            `${CLOUDWATCH} kms:Decrypt and kms:GenerateDataKey* on it, or alarm notifications are not delivered.`,
        );
      }
    }
    return topic;
  }

  /**
   * Dead letters: records put to the dead-letter stream per minute, or the dead-letter queue's depth
   * (visible messages, the most in the minute).
   */
  #deadLetterMetric(label?: string): cloudwatch.IMetric {
    const { plan, deadLetterQueue } = this.#props;
    if (plan.deadLetter.kind === 'stream') {
      return this.#stream(plan.deadLetter.name).metricIncomingRecords({
        statistic: 'Sum',
        period: PERIOD,
        ...(label !== undefined && { label }),
      });
    }
    if (deadLetterQueue === undefined) {
      throw new Error(`pipeline '${plan.pipeline}' sends dead letters to a queue, but no deadLetterQueue was given`);
    }
    return deadLetterQueue.metricApproximateNumberOfMessagesVisible({
      statistic: 'Maximum',
      period: PERIOD,
      ...(label !== undefined && { label }),
    });
  }

  #stream(name: string): kinesis.IStream {
    const stream = this.#props.streams.get(name);
    if (stream === undefined) throw new Error(`no stream named '${name}' in pipeline '${this.#props.plan.pipeline}'`);
    return stream;
  }

  #function(stageId: string): lambda.IFunction {
    const fn = this.#props.functions.get(stageId);
    if (fn === undefined)
      throw new Error(`no function for stage '${stageId}' in pipeline '${this.#props.plan.pipeline}'`);
    return fn;
  }
}
