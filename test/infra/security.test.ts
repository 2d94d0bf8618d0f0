import { fileURLToPath } from 'node:url';
import { type App, Aspects, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import { AwsSolutionsChecks, type INagLogger, NagMessageLevel } from 'cdk-nag';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pageViewCounts from '../../examples/page-view-counts.js';
import pageViewTable from '../../examples/page-view-table.js';
import pageViews from '../../examples/page-views.js';
import viewsByCountry from '../../examples/views-by-country.js';
import { EddyPipeline, type EddyPipelineProps } from '../../infra/eddy-pipeline.js';
import { NagReasons, TRACING_WILDCARD_FINDING } from '../../infra/nag.js';
import { EddyPipelineStack } from '../../infra/pipeline-stack.js';
import type { Pipeline } from '../../shared/index.js';
import orderDestinations from '../e2e/fixtures/order-destinations.js';
import pricedSignups from '../e2e/fixtures/plans-external.js';
import { expectEncryptedAtRest, expectTlsOnly } from './encryption.js';
import cheapClicks from './fixtures/cost-profile-pipeline.js';
import deadLetterQueueClicks from './fixtures/dead-letter-queue-pipeline.js';
import ordersOut from './fixtures/existing-destinations-pipeline.js';
import ordersView from './fixtures/existing-sink-pipeline.js';
import sensors from './fixtures/idle-pipeline.js';
import tableChanges from './fixtures/table-changes-pipeline.js';
import { expectIdlenessLeastPrivilege, expectLeastPrivilege, expectNoWildcards } from './least-privilege.js';
import {
  allowedPairs,
  type CfnTemplate,
  dashboardBody,
  functionOfStage,
  onlyResourceOfType,
  PAGE_VIEW_COUNTS_ENTRY,
  PAGE_VIEWS_ENTRY,
  referencedId,
  resourcesOfType,
  sorted,
  testApp,
  UNPREFIXED,
} from './support.js';

const IDLE_ENTRY = fileURLToPath(new URL('./fixtures/idle-pipeline.ts', import.meta.url));
const VIEWS_BY_COUNTRY_ENTRY = fileURLToPath(new URL('../../examples/views-by-country.ts', import.meta.url));
const PRICED_SIGNUPS_ENTRY = fileURLToPath(new URL('../e2e/fixtures/plans-external.ts', import.meta.url));
const PAGE_VIEW_TABLE_ENTRY = fileURLToPath(new URL('../../examples/page-view-table.ts', import.meta.url));
const ORDERS_VIEW_ENTRY = fileURLToPath(new URL('./fixtures/existing-sink-pipeline.ts', import.meta.url));
const ORDER_DESTINATIONS_ENTRY = fileURLToPath(new URL('../e2e/fixtures/order-destinations.ts', import.meta.url));
const ORDERS_OUT_ENTRY = fileURLToPath(new URL('./fixtures/existing-destinations-pipeline.ts', import.meta.url));
const DEAD_LETTER_QUEUE_ENTRY = fileURLToPath(new URL('./fixtures/dead-letter-queue-pipeline.ts', import.meta.url));
const COST_PROFILE_ENTRY = fileURLToPath(new URL('./fixtures/cost-profile-pipeline.ts', import.meta.url));
const TABLE_CHANGES_ENTRY = fileURLToPath(new URL('./fixtures/table-changes-pipeline.ts', import.meta.url));
const ENV = { account: '123456789012', region: 'eu-west-1' };

/** What cdk-nag reported for one stack: every finding, every suppression, every rule it evaluated. */
interface NagResult {
  /** Unsuppressed findings (errors and warnings) and rules that failed to run: must stay empty. */
  readonly findings: string[];
  /** `<rule>[<finding>] <path below the stack>`, with the reason given. */
  readonly suppressed: Map<string, string>;
  /** Rule ids evaluated on some resource, with the ids of the resources they applied to (compliant or not). */
  readonly applied: Map<string, Set<string>>;
  /** Every rule id cdk-nag looked at, applicable or not. */
  readonly evaluated: Set<string>;
}

/** A NagLogger that records instead of annotating. */
function recorder(stackName: string): { logger: INagLogger; result: NagResult } {
  const result: NagResult = { findings: [], suppressed: new Map(), applied: new Map(), evaluated: new Set() };
  const where = (path: string) => path.replace(new RegExp(`^${stackName}/`), '');
  const applied = (ruleId: string, path: string) => {
    const set = result.applied.get(ruleId) ?? new Set<string>();
    set.add(where(path));
    result.applied.set(ruleId, set);
  };
  const logger: INagLogger = {
    onCompliance: (data) => {
      result.evaluated.add(data.ruleId);
      applied(data.ruleId, data.resource.node.path);
    },
    onNonCompliance: (data) => {
      result.evaluated.add(data.ruleId);
      applied(data.ruleId, data.resource.node.path);
      const level = data.ruleLevel === NagMessageLevel.ERROR ? 'error' : 'warning';
      const finding = data.findingId ? `[${data.findingId}]` : '';
      result.findings.push(`${level} ${data.ruleId}${finding} on ${where(data.resource.node.path)}: ${data.ruleInfo}`);
    },
    onSuppressed: (data) => {
      result.evaluated.add(data.ruleId);
      applied(data.ruleId, data.resource.node.path);
      const finding = data.findingId ? `[${data.findingId}]` : '';
      result.suppressed.set(`${data.ruleId}${finding} ${where(data.resource.node.path)}`, data.suppressionReason);
    },
    onError: (data) => {
      result.evaluated.add(data.ruleId);
      result.findings.push(`rule error ${data.ruleId} on ${where(data.resource.node.path)}: ${data.errorMessage}`);
    },
    onSuppressedError: (data) => {
      result.findings.push(
        `suppressed rule error ${data.ruleId} on ${where(data.resource.node.path)}: ${data.errorMessage}`,
      );
    },
    onNotApplicable: (data) => {
      result.evaluated.add(data.ruleId);
    },
  };
  return { logger, result };
}

interface Checked {
  readonly stack: Stack;
  readonly json: CfnTemplate;
  readonly nag: NagResult;
  /** The error synthesis threw, if any (cdk-nag's annotations fail synthesis when there are findings). */
  readonly synthError: unknown;
}

/**
 * Runs cdk-nag's AwsSolutions pack over one stack while the app synthesizes, and returns the stack's
 * template. No bundling: the rules look at the template, not at the code.
 */
function checkStack(build: (app: App) => Stack): Checked & { dispose: () => void } {
  const { app, dispose } = testApp({ 'aws:cdk:bundling-stacks': [] });
  const stack = build(app);
  // The template first: with findings, cdk-nag's error annotations make every later synthesis throw.
  const json = Template.fromStack(stack).toJSON() as CfnTemplate;
  const { logger, result } = recorder(stack.node.path);
  Aspects.of(stack).add(new AwsSolutionsChecks({ reports: false, additionalLoggers: [logger] }));
  let synthError: unknown;
  try {
    app.synth({ force: true });
  } catch (error) {
    synthError = error;
  }
  return { stack, json, nag: result, synthError, dispose };
}

/** The suppressions Eddy must carry (and no other): per function, per stream with a customer key, the queue. */
function expectedSuppressions(
  pipeline: Pipeline,
  options: { customerKey: boolean; idleness: boolean; scope?: string; tracing?: boolean },
): Map<string, string> {
  const scope = options.scope ?? 'Pipeline';
  const plan = pipeline.plan();
  const expected = new Map<string, string>();
  const functionSuppressions = (path: string) => {
    expected.set(`AwsSolutions-L1 ${scope}/${path}/Function/Resource`, NagReasons.runtime);
    if (options.tracing === false) return;
    // cdk-nag reports the reason of a suppression limited to some findings with those findings in front.
    expected.set(
      `AwsSolutions-IAM5[${TRACING_WILDCARD_FINDING}] ${scope}/${path}/Role/DefaultPolicy/Resource`,
      `[${TRACING_WILDCARD_FINDING}] ${NagReasons.tracingWildcard}`,
    );
  };
  for (const stage of plan.stages) functionSuppressions(`Stages/${stage.id}`);
  if (options.idleness) functionSuppressions('IdleShards');
  expected.set(`AwsSolutions-SQS3 ${scope}/FailedBatches/Resource`, NagReasons.failureQueue);
  if (plan.deadLetter.kind === 'queue') {
    expected.set(`AwsSolutions-SQS3 ${scope}/DeadLetters/Resource`, NagReasons.deadLetterQueue);
  }
  if (options.customerKey) {
    for (const stream of plan.streams) {
      expected.set(`AwsSolutions-KDS3 ${scope}/Streams/${stream.name}/Resource`, NagReasons.customerKey);
    }
  }
  return expected;
}

/** The cdk-nag assertions every configuration gets. */
function describeNag(get: () => Checked, expected: () => Map<string, string>): void {
  it('passes cdk-nag AwsSolutions: no error, no warning, no rule that failed to run', () => {
    const { findings } = get().nag;
    expect(findings, `cdk-nag AwsSolutions findings:\n  ${findings.join('\n  ')}\n`).toEqual([]);
    expect(get().synthError).toBeUndefined();
  });

  it('suppresses exactly the accepted findings, each on its own resource with its reason', () => {
    const actual = get().nag.suppressed;
    expect(sorted(actual.keys())).toEqual(sorted(expected().keys()));
    for (const [key, reason] of expected()) expect(actual.get(key), key).toBe(reason);
  });

  it('ran the rules over the resources (so that a pass means something)', () => {
    const { applied, evaluated } = get().nag;
    const streams = resourcesOfType(get().json, 'AWS::Kinesis::Stream').length;
    const roles = resourcesOfType(get().json, 'AWS::IAM::Role').length;
    const policies = resourcesOfType(get().json, 'AWS::IAM::Policy').length;
    const queues = resourcesOfType(get().json, 'AWS::SQS::Queue').length;
    // KDS1: server-side encryption of every stream; SQS2/SQS4: the queues' encryption and TLS;
    // IAM4: managed policies of every role; IAM5: wildcards in every policy and role.
    expect(applied.get('AwsSolutions-KDS1')?.size).toBe(streams);
    expect(applied.get('AwsSolutions-SQS2')?.size).toBe(queues);
    expect(applied.get('AwsSolutions-SQS4')?.size).toBe(queues);
    expect(applied.get('AwsSolutions-IAM4')?.size).toBe(roles);
    expect(applied.get('AwsSolutions-IAM5')?.size).toBe(roles + policies);
    expect(applied.get('AwsSolutions-L1')?.size).toBe(resourcesOfType(get().json, 'AWS::Lambda::Function').length);
    expect(evaluated.size).toBeGreaterThan(100);
  });
}

describe('security of the page-views example (EddyPipelineStack, default props)', () => {
  let checked: Checked & { dispose: () => void };
  beforeAll(() => {
    checked = checkStack(
      (app) =>
        new EddyPipelineStack(app, 'Eddy-page-views', {
          pipeline: pageViews,
          pipelineEntry: PAGE_VIEWS_ENTRY,
        }),
    );
  });
  afterAll(() => checked.dispose());

  describeNag(
    () => checked,
    () => expectedSuppressions(pageViews, { customerKey: false, idleness: false }),
  );

  it('keeps every role to least privilege, with no wildcard but X-Ray', () => {
    const queueId = onlyResourceOfType(checked.json, 'AWS::SQS::Queue')[0];
    expectLeastPrivilege(checked.json, { plan: pageViews.plan(), queueId, prefix: 'page-views-' });
    expectNoWildcards(checked.json);
  });

  it('encrypts every stream and queue with AWS managed keys, and the queue refuses plain HTTP', () => {
    expectEncryptedAtRest(checked.json);
    expectTlsOnly(checked.json);
  });
});

describe('security of the page-view-counts example (EddyPipelineStack, default props)', () => {
  let checked: Checked & { dispose: () => void };
  beforeAll(() => {
    checked = checkStack(
      (app) =>
        new EddyPipelineStack(app, 'Eddy-page-view-counts', {
          pipeline: pageViewCounts,
          pipelineEntry: PAGE_VIEW_COUNTS_ENTRY,
        }),
    );
  });
  afterAll(() => checked.dispose());

  describeNag(
    () => checked,
    () => expectedSuppressions(pageViewCounts, { customerKey: false, idleness: false }),
  );

  it('keeps every role to least privilege, the state table included, with no wildcard but X-Ray', () => {
    const queueId = onlyResourceOfType(checked.json, 'AWS::SQS::Queue')[0];
    const tableId = onlyResourceOfType(checked.json, 'AWS::DynamoDB::GlobalTable')[0];
    expectLeastPrivilege(checked.json, { plan: pageViewCounts.plan(), queueId, tableId, prefix: 'page-view-counts-' });
    expectNoWildcards(checked.json);
  });

  it('encrypts every stream, queue and table with AWS managed keys, and the queue refuses plain HTTP', () => {
    expectEncryptedAtRest(checked.json);
    expectTlsOnly(checked.json);
  });
});

describe('security of page-view-counts with a customer key, a prefix, an alarm email and a producer', () => {
  const PREFIX = 'dev.carol-';
  let checked: Checked & { dispose: () => void };
  let keyId: string;
  beforeAll(() => {
    checked = checkStack((app) => {
      const stack = new Stack(app, 'Keyed', { env: ENV });
      const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });
      keyId = stack.getLogicalId(key.node.defaultChild as kms.CfnKey);
      const pipeline = new EddyPipeline(stack, 'Pipeline', {
        pipeline: pageViewCounts,
        pipelineEntry: PAGE_VIEW_COUNTS_ENTRY,
        streamNamePrefix: PREFIX,
        encryptionKey: key,
        alarmEmail: 'oncall@example.com',
      });
      const producer = new iam.Role(stack, 'Producer', { assumedBy: new iam.AccountRootPrincipal() });
      pipeline.grantWriteToSource('clicks', producer);
      return stack;
    });
  });
  afterAll(() => checked.dispose());

  describeNag(
    () => checked,
    () => expectedSuppressions(pageViewCounts, { customerKey: true, idleness: false }),
  );

  it('keeps every role to least privilege with the key: Decrypt and GenerateDataKey only', () => {
    const queueId = onlyResourceOfType(checked.json, 'AWS::SQS::Queue')[0];
    const tableId = onlyResourceOfType(checked.json, 'AWS::DynamoDB::GlobalTable')[0];
    expectLeastPrivilege(checked.json, { plan: pageViewCounts.plan(), prefix: PREFIX, queueId, tableId, keyId });
    expectNoWildcards(checked.json);
  });

  it('lets a producer put records to its source and encrypt them, nothing more', () => {
    const [producerId] = resourcesOfType(checked.json, 'AWS::IAM::Role').find(([id]) => id.startsWith('Producer')) ?? [
      '',
    ];
    const policies = resourcesOfType(checked.json, 'AWS::IAM::Policy').filter(([, p]) =>
      JSON.stringify(p.Properties.Roles).includes(producerId),
    );
    const actions = policies.flatMap(([, p]) =>
      (p.Properties.PolicyDocument as { Statement: { Action: string | string[] }[] }).Statement.flatMap((s) =>
        [s.Action].flat(),
      ),
    );
    expect(sorted(actions)).toEqual([
      'kinesis:ListShards',
      'kinesis:PutRecord',
      'kinesis:PutRecords',
      'kms:GenerateDataKey',
    ]);
  });

  it('encrypts every stream, queue, table and the alarm topic with the key; queue and topic refuse plain HTTP', () => {
    expectEncryptedAtRest(checked.json, keyId);
    expectTlsOnly(checked.json);
    expect(resourcesOfType(checked.json, 'AWS::SNS::Topic')).toHaveLength(1);
  });
});

describe('security of pipelines with tables, a customer key and a prefix: one table kept from a changelog, one external', () => {
  const PREFIX = 'dev-';
  let checked: Checked & { dispose: () => void };
  let keyId: string;
  beforeAll(() => {
    checked = checkStack((app) => {
      const stack = new Stack(app, 'Tables', { env: ENV });
      const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });
      keyId = stack.getLogicalId(key.node.defaultChild as kms.CfnKey);
      new EddyPipeline(stack, 'Views', {
        pipeline: viewsByCountry,
        pipelineEntry: VIEWS_BY_COUNTRY_ENTRY,
        streamNamePrefix: PREFIX,
        encryptionKey: key,
      });
      new EddyPipeline(stack, 'Signups', {
        pipeline: pricedSignups,
        pipelineEntry: PRICED_SIGNUPS_ENTRY,
        streamNamePrefix: PREFIX,
        encryptionKey: key,
      });
      return stack;
    });
  });
  afterAll(() => checked.dispose());

  describeNag(
    () => checked,
    () =>
      new Map([
        ...expectedSuppressions(viewsByCountry, { customerKey: true, idleness: false, scope: 'Views' }),
        ...expectedSuppressions(pricedSignups, { customerKey: true, idleness: false, scope: 'Signups' }),
      ]),
  );

  it('lets a stage write only the table it keeps and read only the tables it enriches with', () => {
    const [profilesId] = onlyResourceOfType(checked.json, 'AWS::DynamoDB::GlobalTable');
    const queues = resourcesOfType(checked.json, 'AWS::SQS::Queue').map(([id]) => id);
    expectLeastPrivilege(checked.json, {
      plan: viewsByCountry.plan(),
      prefix: PREFIX,
      queueId: queues.find((id) => id.startsWith('Views')) ?? '',
      keyId,
      tables: { profiles: profilesId },
    });
    expectLeastPrivilege(checked.json, {
      plan: pricedSignups.plan(),
      queueId: queues.find((id) => id.startsWith('Signups')) ?? '',
      prefix: PREFIX,
      keyId,
      tables: { plans: 'arn:aws:dynamodb:eu-west-1:123456789012:table/eddy-e2e-plans' },
    });
    expectNoWildcards(checked.json);
  });

  it('creates only the kept table, with point-in-time recovery, encrypted with the key', () => {
    const tables = resourcesOfType(checked.json, 'AWS::DynamoDB::GlobalTable');
    expect(tables.map(([, table]) => table.Properties.TableName)).toEqual(['dev-views-by-country-table-profiles']);
    expect(tables[0]?.[1].Properties.KeySchema).toEqual([{ AttributeName: 'k', KeyType: 'HASH' }]);
    expectEncryptedAtRest(checked.json, keyId);
  });
});

describe('security of DynamoDB table sinks (toDynamoDb): one the construct creates, one existing by ARN', () => {
  const PREFIX = 'dev-';
  let checked: Checked & { dispose: () => void };
  let keyId: string;
  beforeAll(() => {
    checked = checkStack((app) => {
      const stack = new Stack(app, 'Sinks', { env: ENV });
      const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });
      keyId = stack.getLogicalId(key.node.defaultChild as kms.CfnKey);
      const props = { streamNamePrefix: PREFIX, encryptionKey: key };
      new EddyPipeline(stack, 'Views', { ...props, pipeline: pageViewTable, pipelineEntry: PAGE_VIEW_TABLE_ENTRY });
      new EddyPipeline(stack, 'Orders', { ...props, pipeline: ordersView, pipelineEntry: ORDERS_VIEW_ENTRY });
      return stack;
    });
  });
  afterAll(() => checked.dispose());

  describeNag(
    () => checked,
    () =>
      new Map([
        ...expectedSuppressions(pageViewTable, { customerKey: true, idleness: false, scope: 'Views' }),
        ...expectedSuppressions(ordersView, { customerKey: true, idleness: false, scope: 'Orders' }),
      ]),
  );

  it('lets only the sink stage write its table, with PutItem alone', () => {
    const tables = resourcesOfType(checked.json, 'AWS::DynamoDB::GlobalTable');
    const sinkId = tables.find(([, t]) => t.Properties.TableName === 'dev-page-views-per-minute')?.[0] ?? '';
    const stateId = tables.find(([, t]) => t.Properties.TableName === 'dev-page-view-table-state')?.[0] ?? '';
    const queues = resourcesOfType(checked.json, 'AWS::SQS::Queue').map(([id]) => id);
    expectLeastPrivilege(checked.json, {
      plan: pageViewTable.plan(),
      prefix: PREFIX,
      queueId: queues.find((id) => id.startsWith('Views')) ?? '',
      tableId: stateId,
      keyId,
      tables: { 'page-views-per-minute': sinkId },
    });
    expectLeastPrivilege(checked.json, {
      plan: ordersView.plan(),
      prefix: PREFIX,
      queueId: queues.find((id) => id.startsWith('Orders')) ?? '',
      keyId,
      tables: { 'shop-orders': 'arn:aws:dynamodb:eu-west-1:123456789012:table/shop-orders' },
    });
    expectNoWildcards(checked.json);
  });

  it('creates the sink table with its keys, on demand, with point-in-time recovery, encrypted with the key; not the existing one', () => {
    const tables = resourcesOfType(checked.json, 'AWS::DynamoDB::GlobalTable');
    expect(sorted(tables.map(([, table]) => String(table.Properties.TableName)))).toEqual([
      'dev-page-view-table-state',
      'dev-page-views-per-minute',
    ]);
    const sink = tables.find(([, t]) => t.Properties.TableName === 'dev-page-views-per-minute')?.[1];
    expect(sink?.Properties.KeySchema).toEqual([
      { AttributeName: 'page', KeyType: 'HASH' },
      { AttributeName: 'windowStart', KeyType: 'RANGE' },
    ]);
    expect(sink?.Properties.AttributeDefinitions).toEqual([
      { AttributeName: 'page', AttributeType: 'S' },
      { AttributeName: 'windowStart', AttributeType: 'N' },
    ]);
    expect(sink?.Properties.BillingMode).toBe('PAY_PER_REQUEST');
    // The existing table is written by its ARN, which may name another account or region.
    const functions = resourcesOfType(checked.json, 'AWS::Lambda::Function');
    const tablesEnv = functions
      .map(([, fn]) => (fn.Properties.Environment as { Variables?: Record<string, unknown> })?.Variables?.EDDY_TABLES)
      .filter((value) => value !== undefined);
    expect(tablesEnv).toContainEqual(
      JSON.stringify({ 'shop-orders': 'arn:aws:dynamodb:eu-west-1:123456789012:table/shop-orders' }),
    );
    const replicas = sink?.Properties.Replicas as { PointInTimeRecoverySpecification?: unknown }[] | undefined;
    expect(replicas?.[0]?.PointInTimeRecoverySpecification).toEqual({
      PointInTimeRecoveryEnabled: true,
    });
    expectEncryptedAtRest(checked.json, keyId);
  });
});

describe("security and cost of a pipeline with profile: 'cost'", () => {
  let checked: Checked & { dispose: () => void };
  const plan = cheapClicks.plan();
  beforeAll(() => {
    checked = checkStack((app) => {
      const stack = new Stack(app, 'CheapClicks', { env: ENV });
      new EddyPipeline(stack, 'Pipeline', { ...UNPREFIXED, pipeline: cheapClicks, pipelineEntry: COST_PROFILE_ENTRY });
      return stack;
    });
  });
  afterAll(() => checked.dispose());

  describeNag(
    () => checked,
    () => expectedSuppressions(cheapClicks, { customerKey: false, idleness: false, tracing: false }),
  );

  it('creates no late stream and no dead-letter stream, and sends dead letters to a queue', () => {
    const streams = resourcesOfType(checked.json, 'AWS::Kinesis::Stream').map(([, s]) => s.Properties.Name);
    expect(sorted(streams as string[])).toEqual(['cheap-clicks-by-page', 'cheap-counts', 'cheap-in']);
    const queues = resourcesOfType(checked.json, 'AWS::SQS::Queue').map(([, q]) => q.Properties.QueueName);
    expect(queues).toContain('cheap-clicks-dead-letters');
  });

  it('traces nothing, and every role still holds only what its stage needs (least privilege)', () => {
    for (const [id, fn] of resourcesOfType(checked.json, 'AWS::Lambda::Function')) {
      expect(fn.Properties.TracingConfig, id).toBeUndefined();
    }
    const queueIds = resourcesOfType(checked.json, 'AWS::SQS::Queue').map(([id]) => id);
    const deadLetterQueueId = queueIds.find((id) => id.includes('DeadLetters')) as string;
    const queueId = queueIds.find((id) => id.includes('FailedBatches')) as string;
    const tableId = onlyResourceOfType(checked.json, 'AWS::DynamoDB::GlobalTable')[0];
    expectLeastPrivilege(checked.json, { plan, queueId, deadLetterQueueId, tableId, tracing: false });
    expectNoWildcards(checked.json);
  });

  it('reads the windowed stage in one-minute batches, and says on the dashboard why no operator graph', () => {
    const windowed = plan.stages.find((stage) => stage.stateful);
    const [functionId] = functionOfStage(checked.json, windowed?.id ?? '');
    const mapping = resourcesOfType(checked.json, 'AWS::Lambda::EventSourceMapping').find(
      ([, m]) => referencedId(m.Properties.FunctionName) === functionId,
    )?.[1];
    expect(mapping?.Properties).toMatchObject({ BatchSize: 10_000, MaximumBatchingWindowInSeconds: 60 });
    const [, dashboard] = onlyResourceOfType(checked.json, 'AWS::CloudWatch::Dashboard');
    const widgets = dashboardBody(dashboard).widgets;
    expect(widgets.some((w) => w.properties.title?.endsWith(': operators'))).toBe(false);
    const notes = widgets.filter((w) => w.properties.markdown?.includes('`operatorMetrics: false`'));
    expect(notes).toHaveLength(plan.stages.length);
  });
});

describe('security of a pipeline deployed with tracing off (EddyPipelineProps.tracing)', () => {
  let checked: Checked & { dispose: () => void };
  beforeAll(() => {
    checked = checkStack((app) => {
      const stack = new Stack(app, 'SensorsUntraced', { env: ENV });
      new EddyPipeline(stack, 'Pipeline', {
        ...UNPREFIXED,
        pipeline: sensors,
        pipelineEntry: IDLE_ENTRY,
        tracing: false,
      });
      return stack;
    });
  });
  afterAll(() => checked.dispose());

  describeNag(
    () => checked,
    () => expectedSuppressions(sensors, { customerKey: false, idleness: true, tracing: false }),
  );

  it('gives no function X-Ray tracing nor any X-Ray action, and no role a wildcard', () => {
    const functions = resourcesOfType(checked.json, 'AWS::Lambda::Function');
    expect(functions.length).toBe(sensors.plan().stages.length + 1);
    for (const [id, fn] of functions) expect(fn.Properties.TracingConfig, id).toBeUndefined();
    const policies = JSON.stringify(resourcesOfType(checked.json, 'AWS::IAM::Policy'));
    expect(policies).not.toContain('xray:');
    expect(policies).not.toContain('"Resource":"*"');
  });
});

describe('security of a pipeline with an idle-shard check, a customer key and an alarm topic', () => {
  let checked: Checked & { dispose: () => void };
  let keyId: string;
  beforeAll(() => {
    checked = checkStack((app) => {
      const stack = new Stack(app, 'Sensors', { env: ENV });
      const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });
      keyId = stack.getLogicalId(key.node.defaultChild as kms.CfnKey);
      const alarmTopic = new sns.Topic(stack, 'Oncall', { enforceSSL: true, masterKey: key });
      const props: EddyPipelineProps = {
        ...UNPREFIXED,
        pipeline: sensors,
        pipelineEntry: IDLE_ENTRY,
        encryptionKey: key,
        alarmTopic,
      };
      new EddyPipeline(stack, 'Pipeline', props);
      return stack;
    });
  });
  afterAll(() => checked.dispose());

  describeNag(
    () => checked,
    () => expectedSuppressions(sensors, { customerKey: true, idleness: true }),
  );

  it('keeps the stages and the idle-shard check to least privilege, with no wildcard but X-Ray', () => {
    const plan = sensors.plan();
    const queueId = onlyResourceOfType(checked.json, 'AWS::SQS::Queue')[0];
    const tableId = onlyResourceOfType(checked.json, 'AWS::DynamoDB::GlobalTable')[0];
    expectLeastPrivilege(checked.json, { plan, queueId, tableId, keyId });
    expectIdlenessLeastPrivilege(checked.json, { plan, keyId });
    expectNoWildcards(checked.json);
  });

  it('encrypts everything with the key, creates no topic of its own, and the queue refuses plain HTTP', () => {
    expectEncryptedAtRest(checked.json, keyId);
    expectTlsOnly(checked.json);
    expect(resourcesOfType(checked.json, 'AWS::SNS::Topic')).toHaveLength(1);
  });
});

describe('security of a pipeline with dead letters to an SQS queue and a customer key', () => {
  let checked: Checked & { dispose: () => void };
  let keyId: string;
  beforeAll(() => {
    checked = checkStack((app) => {
      const stack = new Stack(app, 'DeadLetterQueue', { env: ENV });
      const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });
      keyId = stack.getLogicalId(key.node.defaultChild as kms.CfnKey);
      new EddyPipeline(stack, 'Pipeline', {
        ...UNPREFIXED,
        pipeline: deadLetterQueueClicks,
        pipelineEntry: DEAD_LETTER_QUEUE_ENTRY,
        encryptionKey: key,
      });
      return stack;
    });
  });
  afterAll(() => checked.dispose());

  describeNag(
    () => checked,
    () => expectedSuppressions(deadLetterQueueClicks, { customerKey: true, idleness: false }),
  );

  it('lets each stage only SendMessage to the dead-letter queue, and use the key with Decrypt and GenerateDataKey', () => {
    const queueIds = resourcesOfType(checked.json, 'AWS::SQS::Queue').map(([id]) => id);
    const queueId = queueIds.find((id) => id.includes('FailedBatches')) as string;
    const deadLetterQueueId = queueIds.find((id) => id.includes('DeadLetters')) as string;
    const tableId = onlyResourceOfType(checked.json, 'AWS::DynamoDB::GlobalTable')[0];
    expect(queueIds).toHaveLength(2);
    expectLeastPrivilege(checked.json, {
      plan: deadLetterQueueClicks.plan(),
      queueId,
      deadLetterQueueId,
      tableId,
      keyId,
    });
    expectNoWildcards(checked.json);
  });

  it('encrypts both queues with the key, and both refuse plain HTTP', () => {
    expectEncryptedAtRest(checked.json, keyId);
    expectTlsOnly(checked.json);
  });
});

describe('security of dynamoDbStream sources: a table the construct creates with its stream, and an existing one by stream ARN', () => {
  let checked: Checked & { dispose: () => void };
  const streamArn = 'arn:aws:dynamodb:eu-west-1:123456789012:table/shop-orders/stream/2026-01-01T00:00:00.000';
  beforeAll(() => {
    checked = checkStack((app) => {
      const stack = new Stack(app, 'TableChanges', { env: ENV });
      new EddyPipeline(stack, 'Pipeline', {
        streamNamePrefix: 'dev-',
        pipeline: tableChanges,
        pipelineEntry: TABLE_CHANGES_ENTRY,
      });
      return stack;
    });
  });
  afterAll(() => checked.dispose());

  describeNag(
    () => checked,
    () => {
      const expected = expectedSuppressions(tableChanges, { customerKey: false, idleness: false });
      expected.set(
        `AwsSolutions-IAM5[${TRACING_WILDCARD_FINDING}] Pipeline/Stages/from-legacy-orders/Role/DefaultPolicy/Resource`,
        `[${TRACING_WILDCARD_FINDING}] ${NagReasons.tracingAndListStreamsWildcard}`,
      );
      return expected;
    },
  );

  it('creates the table with NEW_AND_OLD_IMAGES, encrypted, with point-in-time recovery, and no Kinesis stream for either source', () => {
    const tables = resourcesOfType(checked.json, 'AWS::DynamoDB::GlobalTable').filter(
      ([, table]) => table.Properties.TableName === 'dev-orders',
    );
    expect(tables).toHaveLength(1);
    const table = tables[0]?.[1].Properties ?? {};
    expect(table.StreamSpecification).toEqual({ StreamViewType: 'NEW_AND_OLD_IMAGES' });
    expect(table.KeySchema).toEqual([{ AttributeName: 'id', KeyType: 'HASH' }]);
    expect(JSON.stringify(table.Replicas)).toContain('"PointInTimeRecoveryEnabled":true');
    expect(table.SSESpecification).toMatchObject({ SSEEnabled: true });
    const streams = resourcesOfType(checked.json, 'AWS::Kinesis::Stream').map(([, s]) => s.Properties.Name);
    expect(streams).not.toContain('dev-orders');
    expect(streams).not.toContain('dev-legacy-orders');
  });

  it('triggers each source stage from its table stream with the Kinesis settings (bisect, partial batch responses, failures to the queue) and a tumbling window', () => {
    const mappings = resourcesOfType(checked.json, 'AWS::Lambda::EventSourceMapping').filter(
      ([, m]) =>
        JSON.stringify(m.Properties.EventSourceArn).includes('StreamArn') || m.Properties.EventSourceArn === streamArn,
    );
    expect(mappings).toHaveLength(2);
    for (const [, mapping] of mappings) {
      expect(mapping.Properties).toMatchObject({
        BisectBatchOnFunctionError: true,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        StartingPosition: 'TRIM_HORIZON',
        DestinationConfig: { OnFailure: { Destination: expect.anything() } },
        // Lambda names the batch's shard only with a tumbling window.
        TumblingWindowInSeconds: 900,
      });
    }
    expect(mappings.map(([, m]) => m.Properties.EventSourceArn)).toContainEqual(streamArn);
  });

  it("lets each source stage read its own table stream only: no item access, an imported table's ListStreams alone on *", () => {
    const policies = resourcesOfType(checked.json, 'AWS::IAM::Policy');
    const statementsOf = (stage: string) =>
      ((
        policies.find(([id]) => id.startsWith(`PipelineStages${stage}`))?.[1].Properties.PolicyDocument as
          | { Statement: unknown[] }
          | undefined
      )?.Statement ?? []) as { Action: string | string[]; Resource: unknown }[];
    const dynamo = (stage: string) =>
      statementsOf(stage)
        .map((s) => ({
          actions: [s.Action]
            .flat()
            .filter((a) => a.startsWith('dynamodb:'))
            .sort(),
          resource: s.Resource,
        }))
        .filter((s) => s.actions.length > 0);
    const legacy = dynamo('fromlegacyorders');
    expect(legacy).toEqual([
      { actions: ['dynamodb:ListStreams'], resource: '*' },
      {
        actions: ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator'],
        resource: streamArn,
      },
    ]);
    const created = dynamo('fromorders');
    // CDK scopes a created TableV2's stream grant, ListStreams included, to its stream.
    expect(created).toEqual([
      {
        actions: [
          'dynamodb:DescribeStream',
          'dynamodb:GetRecords',
          'dynamodb:GetShardIterator',
          'dynamodb:ListStreams',
        ],
        resource: { 'Fn::GetAtt': [expect.stringMatching(/^PipelineSourceTablesorders/), 'StreamArn'] },
      },
    ]);
  });
});

describe('security of message sinks (toSqs, toEventBridge, toFirehose): created ones, existing ones by ARN', () => {
  const PREFIX = 'dev-';
  let checked: Checked & { dispose: () => void };
  let keyId: string;
  beforeAll(() => {
    checked = checkStack((app) => {
      const stack = new Stack(app, 'Destinations', { env: ENV });
      const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });
      keyId = stack.getLogicalId(key.node.defaultChild as kms.CfnKey);
      const props = { streamNamePrefix: PREFIX, encryptionKey: key };
      new EddyPipeline(stack, 'Created', {
        ...props,
        pipeline: orderDestinations,
        pipelineEntry: ORDER_DESTINATIONS_ENTRY,
      });
      new EddyPipeline(stack, 'Existing', { ...props, pipeline: ordersOut, pipelineEntry: ORDERS_OUT_ENTRY });
      return stack;
    });
  });
  afterAll(() => checked.dispose());

  describeNag(
    () => checked,
    () =>
      new Map([
        ...expectedSuppressions(orderDestinations, { customerKey: true, idleness: false, scope: 'Created' }),
        ...expectedSuppressions(ordersOut, { customerKey: true, idleness: false, scope: 'Existing' }),
        [`AwsSolutions-SQS3 Created/Destinations/orders-by-account.fifo/Resource`, NagReasons.sinkQueue],
        [`AwsSolutions-S1 Created/Destinations/orders-archive-Bucket/Resource`, NagReasons.archiveBucket],
        ...firehoseRoleSuppressions('Created/Destinations/orders-archive', bucketId),
      ]),
  );

  /** CDK's Firehose S3 destination's wildcards, each suppressed on the role that has it. */
  function firehoseRoleSuppressions(path: string, bucket: () => string): [string, string][] {
    const keyActions = ['Action::kms:GenerateDataKey*', 'Action::kms:ReEncrypt*'];
    const s3 = ['s3:Abort*', 's3:DeleteObject*', 's3:GetBucket*', 's3:GetObject*', 's3:List*'].map(
      (a) => `Action::${a}`,
    );
    const roles: [string, string[]][] = [
      ['Service Role', keyActions],
      ['S3 Destination Role', [...s3, `Resource::<${bucket()}.Arn>/*`, ...keyActions]],
    ];
    return roles.flatMap(([role, findings]) =>
      findings.map((finding): [string, string] => [
        `AwsSolutions-IAM5[${finding}] ${path}/${role}/DefaultPolicy/Resource`,
        `[${finding}] ${NagReasons.firehoseRoles}`,
      ]),
    );
  }
  const bucketId = () => onlyResourceOfType(checked.json, 'AWS::S3::Bucket')[0];

  /** The message-sink actions a stage's role is allowed, with their resources (logical ids or ARNs). */
  function destinationGrants(stageId: string): Record<string, string[]> {
    const [, fn] = functionOfStage(checked.json, stageId);
    const pairs = allowedPairs(checked.json, referencedId(fn.Properties.Role));
    const actions = ['sqs:SendMessage', 'events:PutEvents', 'firehose:PutRecordBatch'];
    // Every stage may send its failed batches' positions to the failure queue: not a sink's grant.
    const sinkResources = (set: Set<string>) => sorted([...set].filter((id) => !id.includes('FailedBatches')));
    return Object.fromEntries(
      [...pairs]
        .filter(([action, set]) => actions.includes(action) && sinkResources(set).length > 0)
        .map(([action, set]) => [action, sinkResources(set)]),
    );
  }

  it('creates each destination encrypted: the FIFO queue with the key and TLS only, the bus with the key, the delivery stream into a private encrypted bucket', () => {
    const [, queue] = onlyResourceOfType(
      {
        Resources: Object.fromEntries(
          resourcesOfType(checked.json, 'AWS::SQS::Queue').filter(([id]) => id.includes('Destinations')),
        ),
      } as CfnTemplate,
      'AWS::SQS::Queue',
    );
    expect(queue.Properties).toMatchObject({ QueueName: 'dev-orders-by-account.fifo', FifoQueue: true });
    expect(queue.Properties.KmsMasterKeyId).toBeDefined();
    const [, bus] = onlyResourceOfType(checked.json, 'AWS::Events::EventBus');
    expect(bus.Properties).toMatchObject({ Name: 'dev-shop-events' });
    expect(bus.Properties.KmsKeyIdentifier).toBeDefined();
    const [, stream] = onlyResourceOfType(checked.json, 'AWS::KinesisFirehose::DeliveryStream');
    expect(stream.Properties).toMatchObject({
      DeliveryStreamName: 'dev-orders-archive',
      DeliveryStreamEncryptionConfigurationInput: { KeyType: 'CUSTOMER_MANAGED_CMK' },
    });
    const [, bucket] = onlyResourceOfType(checked.json, 'AWS::S3::Bucket');
    expect(bucket.Properties.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    expect(bucket.Properties.BucketEncryption).toMatchObject({
      ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms' } }],
    });
    expectTlsOnly(checked.json);
  });

  it('lets only the sink stages send, each to its own destinations, with one action each', () => {
    const resources = (type: string) => resourcesOfType(checked.json, type).map(([id]) => id);
    const sinkQueue = resources('AWS::SQS::Queue').find((id) => id.includes('Destinations')) ?? '';
    expect(destinationGrants('from-orders')).toEqual({
      'events:PutEvents': [resources('AWS::Events::EventBus')[0] ?? ''],
      'firehose:PutRecordBatch': [resources('AWS::KinesisFirehose::DeliveryStream')[0] ?? ''],
    });
    expect(destinationGrants('from-order-destinations-keyBy-1')).toEqual({ 'sqs:SendMessage': [sinkQueue] });
    expect(destinationGrants('from-shop-orders')).toEqual({
      'sqs:SendMessage': ['arn:aws:sqs:eu-west-1:123456789012:shop-orders.fifo'],
      'events:PutEvents': ['arn:aws:events:eu-west-1:210987654321:event-bus/shop'],
      'firehose:PutRecordBatch': ['arn:aws:firehose:eu-west-1:123456789012:deliverystream/orders-archive'],
    });
  });

  it('gives every stage of both pipelines least privilege, the sink actions on their own destinations included', () => {
    const resources = (type: string) => resourcesOfType(checked.json, type).map(([id]) => id);
    const failureQueue = (pipeline: string) =>
      resources('AWS::SQS::Queue').find((id) => id.startsWith(pipeline) && id.includes('FailedBatches')) ?? '';
    expectLeastPrivilege(checked.json, {
      plan: orderDestinations.plan(),
      prefix: PREFIX,
      queueId: failureQueue('Created'),
      keyId,
      destinations: {
        'orders-by-account.fifo': resources('AWS::SQS::Queue').find((id) => id.includes('Destinations')) ?? '',
        'shop-events': resources('AWS::Events::EventBus')[0] ?? '',
        'orders-archive': resources('AWS::KinesisFirehose::DeliveryStream')[0] ?? '',
      },
    });
    expectLeastPrivilege(checked.json, {
      plan: ordersOut.plan(),
      prefix: PREFIX,
      queueId: failureQueue('Existing'),
      keyId,
      destinations: Object.fromEntries(
        (ordersOut.plan().destinations ?? []).map((destination) => [destination.name, destination.existing?.arn ?? '']),
      ),
    });
    // Not expectNoWildcards: the delivery stream's own roles (CDK's S3 destination) have the
    // wildcards cdk-nag's suppressions above accept; the stages' roles have none (checked just now).
  });

  it('tells each sink stage its targets, and no other stage', () => {
    const environment = (stageId: string) =>
      (functionOfStage(checked.json, stageId)[1].Properties.Environment as { Variables: Record<string, unknown> })
        .Variables.EDDY_DESTINATIONS;
    expect(environment('from-order-destinations-keyBy-1')).toBeDefined();
    expect(environment('from-orders')).toBeDefined();
    expect(JSON.stringify(environment('from-shop-orders'))).toContain('shop-orders.fifo');
    expect(JSON.stringify(environment('from-shop-orders'))).toContain(
      'arn:aws:events:eu-west-1:210987654321:event-bus/shop',
    );
  });
});
