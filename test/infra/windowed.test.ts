import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import pageViewCounts from '../../examples/page-view-counts.js';
import { EddyPipeline, type EddyPipelineProps } from '../../infra/eddy-pipeline.js';
import { EddyPipelineStack } from '../../infra/pipeline-stack.js';
import type { Pipeline, PipelinePlan } from '../../shared/index.js';
import { StateTableSchema, stateTableDefinition } from '../../shared/runtime/io/state-table-schema.js';
import { expectLeastPrivilege } from './least-privilege.js';
import {
  allowedPairs,
  type CfnResource,
  type CfnTemplate,
  functionOfStage,
  onlyResourceOfType,
  PAGE_VIEW_COUNTS_ENTRY,
  referencedId,
  resourcesOfType,
  type Synthesized,
  sorted,
  streamsByLogicalId,
  synthesize,
  testApp,
  UNPREFIXED,
} from './support.js';

const plan = pageViewCounts.plan();
const TABLE_NAME = 'page-view-counts-state';
const STATELESS = 'from-clicks';
const WINDOWED = 'from-page-view-counts-keyBy-1';
const LATE = 'late-clicks';
const TABLE_TYPE = 'AWS::DynamoDB::GlobalTable';
/** What the window store sends (shared/runtime/io/dynamodb-window-store.ts). */
const STORE_ACTIONS = [
  'dynamodb:BatchGetItem',
  'dynamodb:DeleteItem',
  'dynamodb:GetItem',
  'dynamodb:PutItem',
  'dynamodb:Query',
  'dynamodb:UpdateItem',
];

interface Replica {
  readonly DeletionProtectionEnabled?: boolean;
  readonly PointInTimeRecoverySpecification?: unknown;
  readonly SSESpecification?: unknown;
  readonly GlobalSecondaryIndexes?: unknown;
}

function replicaOf(table: CfnResource): Replica {
  const replicas = table.Properties.Replicas as Replica[];
  expect(replicas).toHaveLength(1);
  return replicas[0] as Replica;
}

function queueId(json: CfnTemplate): string {
  return onlyResourceOfType(json, 'AWS::SQS::Queue')[0];
}

function roleOfStage(json: CfnTemplate, stageId: string): string {
  return referencedId(functionOfStage(json, stageId)[1].Properties.Role);
}

function environmentOf(json: CfnTemplate, stageId: string): Record<string, unknown> {
  return (functionOfStage(json, stageId)[1].Properties.Environment as { Variables: Record<string, unknown> }).Variables;
}

/** Whether an IAM action pattern (with `*` and `?` wildcards, case-insensitive as IAM) allows the action. */
function allows(pattern: string, action: string): boolean {
  const regex = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${regex}$`, 'i').test(action);
}

/** Every action of every statement of the template: policies, inline role policies, resource policies. */
function everyAction(json: CfnTemplate): string[] {
  const actions: string[] = [];
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) for (const item of value) visit(item);
    else if (typeof value === 'object' && value !== null) {
      for (const [key, member] of Object.entries(value)) {
        if ((key === 'Action' || key === 'NotAction') && (typeof member === 'string' || Array.isArray(member))) {
          actions.push(...[member].flat().filter((action): action is string => typeof action === 'string'));
        } else visit(member);
      }
    }
  };
  visit(json.Resources);
  return actions;
}

describe('EddyPipeline with the windowed page-view-counts example and default props', () => {
  // The default prefix: the pipeline's name.
  const PREFIX = 'page-view-counts-';
  let synthesized: Synthesized;
  let json: CfnTemplate;
  let stack: EddyPipelineStack;
  let tableId: string;
  let table: CfnResource;
  let dispose: () => void;

  beforeAll(() => {
    // No bundling: nothing here looks at the functions' code.
    const test = testApp({ 'aws:cdk:bundling-stacks': [] });
    dispose = test.dispose;
    stack = new EddyPipelineStack(test.app, 'Eddy-page-view-counts', {
      pipeline: pageViewCounts,
      pipelineEntry: PAGE_VIEW_COUNTS_ENTRY,
    });
    const consumer = new iam.Role(stack, 'LateConsumer', { assumedBy: new iam.AccountRootPrincipal() });
    stack.pipeline.grantReadFromSink(LATE, consumer);
    synthesized = synthesize(test.app, stack);
    json = synthesized.json;
    [tableId, table] = onlyResourceOfType(json, TABLE_TYPE);
  });
  afterAll(() => dispose());

  it('plans what the assertions below rely on: one stateful stage writing the late output', () => {
    expect(plan.stages.map((stage) => [stage.id, stage.stateful])).toEqual([
      [STATELESS, false],
      [WINDOWED, true],
    ]);
    expect(plan.stateTable).toBe(TABLE_NAME);
    expect(plan.streams.find((stream) => stream.name === LATE)?.role).toBe('side-output');
    expect(plan.stages[1]?.outputs).toContain(LATE);
  });

  it('creates one state table, named after the plan, with the schema the runtime creates locally', () => {
    synthesized.template.resourceCountIs(TABLE_TYPE, 1);
    synthesized.template.resourceCountIs('AWS::DynamoDB::Table', 0);
    const definition = stateTableDefinition(PREFIX + TABLE_NAME);
    const byName = (a: { AttributeName?: string }, b: { AttributeName?: string }) =>
      String(a.AttributeName).localeCompare(String(b.AttributeName));
    expect(table.Properties.TableName).toBe(definition.TableName);
    expect(table.Properties.BillingMode).toBe('PAY_PER_REQUEST');
    expect(table.Properties.BillingMode).toBe(definition.BillingMode);
    expect([...(table.Properties.AttributeDefinitions as { AttributeName: string }[])].sort(byName)).toEqual(
      [...(definition.AttributeDefinitions ?? [])].sort(byName),
    );
    expect(table.Properties.KeySchema).toEqual(definition.KeySchema);
    expect(table.Properties.GlobalSecondaryIndexes).toEqual(definition.GlobalSecondaryIndexes);
    // And, spelled out, what the definition says: string keys pk/sk, byFireTime on timer (S) / fireAt (N).
    expect(table.Properties.KeySchema).toEqual([
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ]);
    expect(table.Properties.GlobalSecondaryIndexes).toEqual([
      {
        IndexName: 'byFireTime',
        KeySchema: [
          { AttributeName: 'timer', KeyType: 'HASH' },
          { AttributeName: 'fireAt', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      },
    ]);
    expect(table.Properties.TimeToLiveSpecification).toEqual({
      AttributeName: StateTableSchema.ttlAttribute,
      Enabled: true,
    });
    expect(StateTableSchema.ttlAttribute).toBe('expiresAt');
  });

  it('keeps the table: point-in-time recovery, AWS managed encryption, deletion protection, retained', () => {
    const replica = replicaOf(table);
    expect(replica.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
    expect(replica.DeletionProtectionEnabled).toBe(true);
    // SSEType KMS without a key id is the AWS managed key alias/aws/dynamodb.
    expect(table.Properties.SSESpecification).toEqual({ SSEEnabled: true, SSEType: 'KMS' });
    expect(replica.SSESpecification).toBeUndefined();
    expect(table).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
  });

  it('exposes the table and outputs its name', () => {
    expect(stack.pipeline.stateTable).toBeDefined();
    expect(stack.resolve(stack.pipeline.stateTable?.tableName)).toEqual({ Ref: tableId });
    const outputs = Object.values(json.Outputs ?? {}).filter((output) => referencedId(output.Value) === tableId);
    expect(outputs).toEqual([
      { Value: { Ref: tableId }, Description: "State table of the windowed stages of pipeline 'page-view-counts'" },
    ]);
  });

  it('tells the stateful function the table name, and the stateless one nothing', () => {
    expect(environmentOf(json, WINDOWED)).toEqual({
      EDDY_STATE_TABLE: { Ref: tableId },
      EDDY_STAGE_ID: WINDOWED,
      EDDY_STREAM_PREFIX: PREFIX,
      POWERTOOLS_SERVICE_NAME: 'page-view-counts',
      POWERTOOLS_METRICS_NAMESPACE: 'Eddy',
      POWERTOOLS_LOG_LEVEL: 'INFO',
    });
    expect(environmentOf(json, STATELESS)).not.toHaveProperty('EDDY_STATE_TABLE');
    expect(Object.keys(environmentOf(json, STATELESS))).toHaveLength(5);
  });

  it('lets the stateful stage send exactly the store requests, on the table and its fire-time index only', () => {
    const pairs = allowedPairs(json, roleOfStage(json, WINDOWED));
    const dynamodb = [...pairs].filter(([action]) => action.startsWith('dynamodb:'));
    expect(Object.fromEntries(dynamodb.map(([action, resources]) => [action, sorted(resources)]))).toEqual({
      'dynamodb:BatchGetItem': [tableId],
      'dynamodb:DeleteItem': [tableId],
      'dynamodb:GetItem': [tableId],
      'dynamodb:PutItem': [tableId],
      'dynamodb:Query': sorted([tableId, `${tableId}/index/byFireTime`]),
      'dynamodb:UpdateItem': [tableId],
    });
    expect(sorted(dynamodb.map(([action]) => action))).toEqual(STORE_ACTIONS);
  });

  it('gives the stateless stage, and any other principal, no DynamoDB statement at all', () => {
    const windowedRole = roleOfStage(json, WINDOWED);
    for (const [roleId] of resourcesOfType(json, 'AWS::IAM::Role')) {
      if (roleId === windowedRole) continue;
      const dynamodb = [...allowedPairs(json, roleId).keys()].filter((action) => action.startsWith('dynamodb:'));
      expect(dynamodb, roleId).toEqual([]);
    }
    expect(roleOfStage(json, STATELESS)).not.toBe(windowedRole);
  });

  it('allows no Scan, no dynamodb:* and no * anywhere in the template', () => {
    const actions = everyAction(json);
    expect(actions.some((action) => action.startsWith('dynamodb:'))).toBe(true);
    for (const action of actions) {
      expect(allows(action, 'dynamodb:Scan'), action).toBe(false);
      expect(allows(action, 'dynamodb:DescribeTable'), action).toBe(false);
    }
    // The matcher itself: these would be caught.
    expect(
      ['dynamodb:*', '*', 'dynamodb:Sc*', 'DynamoDB:scan'].every((action) => allows(action, 'dynamodb:Scan')),
    ).toBe(true);
  });

  it('keeps least privilege for every stage, the table included', () => {
    expectLeastPrivilege(json, { plan, queueId: queueId(json), tableId, prefix: PREFIX });
  });

  it('creates the late-output stream like a sink: encrypted, 24 h retention, retained', () => {
    const streams = streamsByLogicalId(json, PREFIX);
    const [lateId] = [...streams].find(([, name]) => name === LATE) ?? [''];
    expect(json.Resources[lateId]).toMatchObject({
      Properties: {
        Name: PREFIX + LATE,
        ShardCount: 1,
        RetentionPeriodHours: 24,
        StreamEncryption: { EncryptionType: 'KMS', KeyId: 'alias/aws/kinesis' },
      },
      DeletionPolicy: 'Retain',
    });
    expect(sorted(stack.pipeline.streams.keys())).toContain(LATE);
  });

  it('lets only the windowed stage write the late-output stream, and the granted consumer read it', () => {
    const streams = streamsByLogicalId(json, PREFIX);
    const writers: string[] = [];
    const readers: string[] = [];
    for (const [roleId] of resourcesOfType(json, 'AWS::IAM::Role')) {
      const pairs = allowedPairs(json, roleId);
      const on = (action: string) => [...(pairs.get(action) ?? [])].map((id) => streams.get(id));
      if (on('kinesis:PutRecord').includes(LATE) || on('kinesis:PutRecords').includes(LATE)) writers.push(roleId);
      if (on('kinesis:GetRecords').includes(LATE)) readers.push(roleId);
    }
    expect(writers).toEqual([roleOfStage(json, WINDOWED)]);
    expect(readers).toHaveLength(1);
    expect(readers[0]).toMatch(/^LateConsumer/);
    const consumer = allowedPairs(json, readers[0] as string);
    expect(consumer.has('kinesis:PutRecords')).toBe(false);
    for (const resources of consumer.values()) expect([...resources].map((id) => streams.get(id))).toEqual([LATE]);
  });

  it('outputs the name and ARN of the late-output stream', () => {
    const streams = streamsByLogicalId(json, PREFIX);
    const late = Object.values(json.Outputs ?? {}).filter((output) => streams.get(referencedId(output.Value)) === LATE);
    expect(late.map((output) => output.Description).sort()).toEqual([
      "ARN of the side-output stream 'late-clicks' of pipeline 'page-view-counts'",
      "Name of the side-output stream 'late-clicks' of pipeline 'page-view-counts'",
    ]);
  });

  it('names the side output among the streams consumers may read', () => {
    const grantee = new iam.Role(new Stack(), 'Other', { assumedBy: new iam.AccountRootPrincipal() });
    expect(() => stack.pipeline.grantReadFromSink('clicks', grantee)).toThrow(
      "grantReadFromSink: 'clicks' is a source stream of pipeline 'page-view-counts'; " +
        'expected one of: late-clicks, page-view-counts, page-view-counts-dead-letters',
    );
    expect(() => stack.pipeline.grantWriteToSource(LATE, grantee)).toThrow(
      "grantWriteToSource: 'late-clicks' is a side-output stream of pipeline 'page-view-counts'; expected one of: clicks",
    );
  });
});

describe('EddyPipeline with a windowed pipeline, a prefix, a customer key and DESTROY', () => {
  const PREFIX = 'dev.bob-';
  let json: CfnTemplate;
  let keyId: string;
  let tableId: string;
  let table: CfnResource;
  let dispose: () => void;

  beforeAll(() => {
    // No bundling: nothing here looks at the code.
    const test = testApp({ 'aws:cdk:bundling-stacks': [] });
    dispose = test.dispose;
    // A customer managed key on a TableV2 needs a region (see the validation tests).
    const stack = new Stack(test.app, 'Custom', { env: { account: '123456789012', region: 'eu-west-1' } });
    const key = new kms.Key(stack, 'Key');
    keyId = stack.getLogicalId(key.node.defaultChild as kms.CfnKey);
    new EddyPipeline(stack, 'Pipeline', {
      pipeline: pageViewCounts,
      pipelineEntry: PAGE_VIEW_COUNTS_ENTRY,
      streamNamePrefix: PREFIX,
      encryptionKey: key,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    json = synthesize(test.app, stack).json;
    [tableId, table] = onlyResourceOfType(json, TABLE_TYPE);
  });
  afterAll(() => dispose());

  it('prefixes the table name, in the table and in the stateful function', () => {
    expect(table.Properties.TableName).toBe(`${PREFIX}${TABLE_NAME}`);
    expect(environmentOf(json, WINDOWED).EDDY_STATE_TABLE).toEqual({ Ref: tableId });
    expect(environmentOf(json, STATELESS)).not.toHaveProperty('EDDY_STATE_TABLE');
  });

  it('encrypts the table with the customer key', () => {
    expect(table.Properties.SSESpecification).toEqual({ SSEEnabled: true, SSEType: 'KMS' });
    expect(replicaOf(table).SSESpecification).toEqual({ KMSMasterKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] } });
  });

  it('follows the removal policy: no deletion protection, deleted with the stack, PITR still on', () => {
    expect(replicaOf(table).DeletionProtectionEnabled).toBe(false);
    expect(replicaOf(table).PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
    expect(table).toMatchObject({ DeletionPolicy: 'Delete', UpdateReplacePolicy: 'Delete' });
  });

  it('keeps least privilege, with the key: the table adds no key permission the streams did not need', () => {
    expectLeastPrivilege(json, { plan, prefix: PREFIX, queueId: queueId(json), keyId, tableId });
    const kmsActions = (stageId: string) =>
      sorted([...allowedPairs(json, roleOfStage(json, stageId)).keys()].filter((a) => a.startsWith('kms:')));
    // Decrypt (the table key, the input stream, the queue) and GenerateDataKey (the outputs, the queue):
    // the table needs nothing the streams did not.
    expect(kmsActions(WINDOWED)).toEqual(['kms:Decrypt', 'kms:GenerateDataKey']);
    expect(kmsActions(WINDOWED)).toEqual(kmsActions(STATELESS));
  });
});

describe('EddyPipeline validation of the state table', () => {
  /** A pipeline whose plan is tampered with: plans the DSL makes cannot have these faults. */
  function withPlan(change: (plan: PipelinePlan) => PipelinePlan): Pipeline {
    return { name: pageViewCounts.name, plan: () => change(pageViewCounts.plan()) } as unknown as Pipeline;
  }
  function construct(props: Partial<EddyPipelineProps>): () => EddyPipeline {
    return () =>
      new EddyPipeline(new Stack(), 'Pipeline', {
        pipeline: pageViewCounts,
        pipelineEntry: PAGE_VIEW_COUNTS_ENTRY,
        ...props,
      });
  }

  it('rejects a state table name DynamoDB does not take', () => {
    expect(construct({ ...UNPREFIXED, pipeline: withPlan((p) => ({ ...p, stateTable: 'st' })) })).toThrow(
      `state table name "st" is invalid: DynamoDB table names are 3 to 255 letters, digits, '_', '.' and '-'`,
    );
  });

  it('rejects a customer key in a region-agnostic stack, only when there is a table to encrypt', () => {
    const key = (stack: Stack) => new kms.Key(stack, 'Key');
    const { app, dispose } = testApp({ 'aws:cdk:bundling-stacks': [] });
    onTestFinished(dispose);
    const agnostic = new Stack(app, 'Agnostic');
    expect(
      () =>
        new EddyPipeline(agnostic, 'Pipeline', {
          pipeline: pageViewCounts,
          pipelineEntry: PAGE_VIEW_COUNTS_ENTRY,
          encryptionKey: key(agnostic),
        }),
    ).toThrow(
      'encryptionKey: the state table of a windowed pipeline can use a customer managed key only in a stack with an ' +
        'explicit region (env: { region }); stack Agnostic is region-agnostic',
    );
    // Nothing was created before the check.
    expect(agnostic.node.tryFindChild('Pipeline')?.node.children.length ?? 0).toBe(0);
    const stateless = withPlan(({ stateTable: _, ...p }) => ({
      ...p,
      stages: p.stages.map((s) => ({ ...s, stateful: false })),
    }));
    const other = new Stack(app, 'Other');
    expect(
      () =>
        new EddyPipeline(other, 'Pipeline', {
          pipeline: stateless,
          pipelineEntry: PAGE_VIEW_COUNTS_ENTRY,
          encryptionKey: key(other),
        }),
    ).not.toThrow();
  });

  it('rejects a stateful stage without a state table', () => {
    expect(construct({ pipeline: withPlan(({ stateTable: _, ...p }) => p) })).toThrow(
      `stage ${WINDOWED} of pipeline 'page-view-counts' is stateful, but the plan names no state table`,
    );
  });
});
