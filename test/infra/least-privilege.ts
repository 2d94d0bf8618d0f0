import { expect } from 'vitest';
import { DESTINATION_ACTIONS } from '../../infra/pipeline-destinations.js';
import { SINK_TABLE_WRITE_ACTIONS, TABLE_READ_ACTIONS, TABLE_WRITE_ACTIONS } from '../../infra/pipeline-tables.js';
import type { PipelinePlan } from '../../shared/index.js';
import { StateTableSchema } from '../../shared/runtime/io/state-table-schema.js';
import {
  allowedPairs,
  type CfnResource,
  type CfnTemplate,
  functionOfStage,
  referencedId,
  resourcesOfType,
  sorted,
  streamsByLogicalId,
} from './support.js';

/** What a stage needs from its input stream (Lambda's poller runs with the function's role). */
const KINESIS_READ_ACTIONS = [
  'kinesis:DescribeStream',
  'kinesis:DescribeStreamConsumer',
  'kinesis:DescribeStreamSummary',
  'kinesis:GetRecords',
  'kinesis:GetShardIterator',
  'kinesis:ListStreams',
  'kinesis:SubscribeToShard',
];
/** What the runtime's writer sends (KinesisRecordWriter): PutRecords, never PutRecord. */
const KINESIS_WRITE_ACTIONS = ['kinesis:PutRecords'];
/** Needed on both sides: the poller lists the input's shards, the runtime the outputs' (watermarks go to every shard). */
const KINESIS_READ_AND_WRITE_ACTIONS = ['kinesis:ListShards'];
/** The only thing the event source mapping does with the failure queue (Lambda developer guide, on-failure destinations). */
const SQS_ACTIONS = ['sqs:SendMessage'];
/** What CloudWatch Logs needs from a function: its own log group only. */
const LOGS_ACTIONS = ['logs:CreateLogStream', 'logs:PutLogEvents'];
/**
 * With a customer managed key: Decrypt to read the input stream (and the state table), GenerateDataKey
 * to write the outputs and to send to the queue (which also needs Decrypt). Never Encrypt, ReEncrypt*
 * or GenerateDataKey*, which CDK's generic grants add.
 */
const KMS_ACTIONS = ['kms:Decrypt', 'kms:GenerateDataKey'];

/**
 * What DynamoDbWindowStore sends to the state table (shared/runtime/io/dynamodb-window-store.ts), and
 * of those only Query to the fire-time index. Never Scan, never table management.
 */
const STATE_TABLE_ACTIONS = [
  'dynamodb:BatchGetItem',
  'dynamodb:DeleteItem',
  'dynamodb:GetItem',
  'dynamodb:PutItem',
  'dynamodb:Query',
  'dynamodb:UpdateItem',
];
const STATE_INDEX_ACTIONS = ['dynamodb:Query'];
/** What the runtime sends to read a stage's secrets (tokenize's key): GetParameter, on the parameters themselves. */
const SSM_ACTIONS = ['ssm:GetParameter'];

/**
 * The one place a resource '*' is allowed: X-Ray's PutTraceSegments and PutTelemetryRecords have no
 * resource-level permissions, so active tracing needs them on '*'. Nothing else: no kinesis:ListShards
 * (Eddy's functions list the shards of named streams), no cloudwatch:PutMetricData (metrics are
 * written as EMF log lines, which need only the log group).
 */
export const WILDCARD_RESOURCE_EXCEPTIONS: readonly string[] = ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'];

/** An action with a wildcard (`*` or `?`) anywhere: `*`, `kinesis:*`, `kms:GenerateDataKey*`. */
function isWildcardAction(action: string): boolean {
  return /[*?]/.test(action);
}

/** Roles of Eddy's own functions: the stages' and the idle-shard check's. */
function eddyFunctionRoles(json: CfnTemplate): Map<string, string> {
  const roles = new Map<string, string>();
  for (const [, fn] of resourcesOfType(json, 'AWS::Lambda::Function')) {
    const variables = (fn.Properties.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables;
    if (variables?.EDDY_STREAM_PREFIX === undefined) continue;
    const what = typeof variables.EDDY_STAGE_ID === 'string' ? `stage ${variables.EDDY_STAGE_ID}` : 'idle-shard check';
    roles.set(referencedId(fn.Properties.Role), what);
  }
  return roles;
}

/**
 * Over every identity policy of the template (Eddy's roles and any other): no action with a wildcard,
 * and a '*' resource only for the {@link WILDCARD_RESOURCE_EXCEPTIONS}, which then have no other resource.
 */
export function expectNoWildcards(json: CfnTemplate): void {
  const roles = eddyFunctionRoles(json);
  expect(roles.size, 'Eddy functions found in the template').toBeGreaterThan(0);
  for (const [roleId] of resourcesOfType(json, 'AWS::IAM::Role')) {
    const who = roles.get(roleId) ?? roleId;
    for (const [action, resources] of allowedPairs(json, roleId)) {
      expect(isWildcardAction(action), `${who}: wildcard action ${action}`).toBe(false);
      if (resources.has('*')) {
        expect(WILDCARD_RESOURCE_EXCEPTIONS, `${who}: ${action} on '*'`).toContain(action);
        expect([...resources], `${who}: ${action}`).toEqual(['*']);
      }
    }
  }
  for (const [id, policy] of resourcesOfType(json, 'AWS::IAM::Policy')) {
    const statements = (policy.Properties.PolicyDocument as { Statement: { Action: string | string[] }[] }).Statement;
    for (const statement of statements) {
      for (const action of [statement.Action].flat()) {
        expect(isWildcardAction(action), `${id}: wildcard action ${action}`).toBe(false);
      }
    }
  }
}

export interface LeastPrivilegeExpectations {
  readonly plan: PipelinePlan;
  readonly prefix?: string;
  readonly queueId: string;
  /** Logical id of the dead-letter queue, when the pipeline sends dead letters to one: SendMessage on it too. */
  readonly deadLetterQueueId?: string;
  /** Logical id of the customer managed key, when there is one. */
  readonly keyId?: string;
  /** Logical id of the state table: required when the plan has one, refused otherwise. */
  readonly tableId?: string;
  /**
   * Per table of the plan, the logical id of its DynamoDB table (a materialized one) or its ARN as
   * referencedId renders it (an external one): what the stages that use it may be granted.
   */
  readonly tables?: Readonly<Record<string, string>>;
  /**
   * Per stage id, the ARNs (as referencedId renders them) of the SSM parameters its operators read;
   * a stage not listed may use no SSM action at all.
   */
  readonly parameters?: Readonly<Record<string, readonly string[]>>;
  /**
   * Per message sink destination of the plan (`toSqs`, `toEventBridge`, `toFirehose`), by name, the
   * logical id of the queue, bus or delivery stream the construct made, or its ARN (an existing one):
   * the stages that send to it may have its one action (DESTINATION_ACTIONS) on it, and no other stage.
   */
  readonly destinations?: Readonly<Record<string, string>>;
  /** Whether the functions trace (EddyPipelineProps.tracing): X-Ray's two calls, or no X-Ray action. @default true */
  readonly tracing?: boolean;
}

/**
 * Asserts, for every stage, that its role allows exactly: reading its input stream, PutRecords and
 * ListShards on its output streams (the dead-letter stream is one), SendMessage to the failure queue
 * (and to the dead-letter queue, when dead letters go to one),
 * writing its own log group, X-Ray's two tracing calls, (with a key) Decrypt and GenerateDataKey on
 * that key, and (stateful stages only) the window store's requests on the state table and its
 * fire-time index; no action with a wildcard; and nothing on any other resource.
 */
export function expectLeastPrivilege(json: CfnTemplate, expected: LeastPrivilegeExpectations): void {
  if ((expected.plan.stateTable === undefined) !== (expected.tableId === undefined)) {
    throw new Error(
      `pipeline '${expected.plan.pipeline}' ${expected.plan.stateTable === undefined ? 'has no' : 'has a'} state table ` +
        `but tableId is ${expected.tableId === undefined ? 'missing' : 'given'}`,
    );
  }
  const tableId = expected.tableId;
  const indexId = `${tableId}/index/${StateTableSchema.fireTimeIndex}`;

  const streams = streamsByLogicalId(json, expected.prefix);
  const streamNames = (ids: Iterable<string>): string[] =>
    sorted(
      [...ids].map((id) => {
        const name = streams.get(id);
        if (name === undefined) throw new Error(`kinesis action on ${id}, which is not a stream of the pipeline`);
        return name;
      }),
    );

  for (const stage of expected.plan.stages) {
    const [, fn] = functionOfStage(json, stage.id);
    const roleId = referencedId(fn.Properties.Role);
    const logGroupId = referencedId((fn.Properties.LoggingConfig as { LogGroup: unknown }).LogGroup);
    const pairs = allowedPairs(json, roleId);
    const context = `stage ${stage.id}`;

    for (const [action, resources] of pairs) {
      expect(isWildcardAction(action), `${context}: wildcard action ${action}`).toBe(false);
      if (resources.has('*')) {
        expect(WILDCARD_RESOURCE_EXCEPTIONS, `${context}: ${action} on '*'`).toContain(action);
        expect(resources.size, `${context}: ${action}`).toBe(1);
      }
    }

    const kinesisActions = sorted([...pairs.keys()].filter((action) => action.startsWith('kinesis:')));
    expect(kinesisActions, context).toEqual(
      sorted([...KINESIS_READ_ACTIONS, ...KINESIS_WRITE_ACTIONS, ...KINESIS_READ_AND_WRITE_ACTIONS]),
    );
    for (const action of KINESIS_READ_ACTIONS) {
      expect(streamNames(pairs.get(action) ?? []), `${context}: ${action}`).toEqual([stage.input]);
    }
    for (const action of KINESIS_WRITE_ACTIONS) {
      expect(streamNames(pairs.get(action) ?? []), `${context}: ${action}`).toEqual(sorted(stage.outputs));
    }
    for (const action of KINESIS_READ_AND_WRITE_ACTIONS) {
      expect(streamNames(pairs.get(action) ?? []), `${context}: ${action}`).toEqual(
        sorted(new Set([stage.input, ...stage.outputs])),
      );
    }

    // DynamoDB: the state table for stateful stages, and the tables each stage enriches with or keeps.
    const allowedDynamo = new Map<string, Set<string>>();
    const allow = (actions: readonly string[], resource: string) => {
      for (const action of actions)
        allowedDynamo.set(action, new Set([...(allowedDynamo.get(action) ?? []), resource]));
    };
    if (stage.stateful) {
      allow(STATE_TABLE_ACTIONS, tableId as string);
      allow(STATE_INDEX_ACTIONS, indexId);
    }
    const sinkTables = new Set((expected.plan.tables ?? []).filter((t) => t.kind === 'sink').map((t) => t.name));
    for (const [names, write] of [
      [stage.tables?.reads ?? [], false],
      [stage.tables?.writes ?? [], true],
    ] as const) {
      for (const name of names) {
        const id = expected.tables?.[name];
        if (id === undefined) throw new Error(`${context} uses table '${name}': give its id in expected.tables`);
        // A sink table (toDynamoDb) takes conditional PutItems only.
        allow(!write ? TABLE_READ_ACTIONS : sinkTables.has(name) ? SINK_TABLE_WRITE_ACTIONS : TABLE_WRITE_ACTIONS, id);
      }
    }
    const dynamodbActions = sorted([...pairs.keys()].filter((action) => action.startsWith('dynamodb:')));
    expect(dynamodbActions, `${context}: DynamoDB actions`).toEqual(sorted(allowedDynamo.keys()));
    for (const [action, resources] of allowedDynamo) {
      expect(sorted(pairs.get(action) ?? []), `${context}: ${action}`).toEqual(sorted(resources));
    }

    // Message sinks: the stage's own destinations, by service.
    const sinks = { sqs: [] as string[], eventbridge: [] as string[], firehose: [] as string[] };
    for (const name of stage.destinations ?? []) {
      const spec = expected.plan.destinations?.find((destination) => destination.name === name);
      const id = expected.destinations?.[name];
      if (spec === undefined || id === undefined) {
        throw new Error(`${context} sends to '${name}': give its id in expected.destinations`);
      }
      sinks[spec.service].push(id);
    }
    for (const [action, resources] of pairs) {
      const service = action.split(':')[0];
      const where = `${context}: ${action}`;
      if (service === 'sqs') {
        const queues = [
          expected.queueId,
          ...(expected.deadLetterQueueId === undefined ? [] : [expected.deadLetterQueueId]),
          ...sinks.sqs,
        ];
        expect(sorted(resources), where).toEqual(sorted(queues));
      } else if (service === 'events') expect(sorted(resources), where).toEqual(sorted(sinks.eventbridge));
      else if (service === 'firehose') {
        expect(sorted(resources), where).toEqual(sorted(sinks.firehose));
      } else if (service === 'logs') expect(sorted(resources), where).toEqual([logGroupId]);
      else if (service === 'kms') {
        expect(expected.keyId, `${where} without a customer key`).toBeDefined();
        expect(sorted(resources), where).toEqual([expected.keyId]);
      } else if (service === 'ssm') {
        expect(sorted(resources), where).toEqual(sorted(expected.parameters?.[stage.id] ?? []));
      } else expect(['kinesis', 'xray', 'dynamodb'], where).toContain(service);
    }
    expect(actionsOf(pairs, 'ssm'), context).toEqual(expected.parameters?.[stage.id] === undefined ? [] : SSM_ACTIONS);
    expect(actionsOf(pairs, 'sqs'), context).toEqual(SQS_ACTIONS);
    expect(actionsOf(pairs, 'events'), context).toEqual(
      sinks.eventbridge.length > 0 ? DESTINATION_ACTIONS.eventbridge : [],
    );
    expect(actionsOf(pairs, 'firehose'), context).toEqual(
      sinks.firehose.length > 0 ? DESTINATION_ACTIONS.firehose : [],
    );
    expect(actionsOf(pairs, 'logs'), context).toEqual(LOGS_ACTIONS);
    expect(actionsOf(pairs, 'xray'), context).toEqual(expected.tracing === false ? [] : WILDCARD_RESOURCE_EXCEPTIONS);
    expect(actionsOf(pairs, 'kms'), context).toEqual(expected.keyId === undefined ? [] : KMS_ACTIONS);
  }
}

function actionsOf(pairs: Map<string, Set<string>>, service: string): string[] {
  return sorted([...pairs.keys()].filter((action) => action.startsWith(`${service}:`)));
}

export interface IdlenessExpectations {
  readonly plan: PipelinePlan;
  readonly prefix?: string;
  /** Logical id of the customer managed key, when there is one. */
  readonly keyId?: string;
}

/**
 * Asserts that the idle-shard check's role allows exactly: reading the source streams of the stages
 * with an `idleTimeout`, PutRecords and ListShards on the shuffle streams those stages write (the
 * idle marks), its own log group, X-Ray, and (with a key) Decrypt and GenerateDataKey on it.
 */
export function expectIdlenessLeastPrivilege(json: CfnTemplate, expected: IdlenessExpectations): void {
  const functions = resourcesOfType(json, 'AWS::Lambda::Function').filter(([, fn]) => {
    const variables = (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    return variables.EDDY_STREAM_PREFIX !== undefined && variables.EDDY_STAGE_ID === undefined;
  });
  expect(functions, 'one idle-shard check').toHaveLength(1);
  const [, fn] = functions[0] as [string, CfnResource];
  const pairs = allowedPairs(json, referencedId(fn.Properties.Role));
  const logGroupId = referencedId((fn.Properties.LoggingConfig as { LogGroup: unknown }).LogGroup);
  const streams = streamsByLogicalId(json, expected.prefix);
  const names = (action: string) => sorted([...(pairs.get(action) ?? [])].map((id) => streams.get(id) ?? id));

  const idleStages = expected.plan.stages.filter((stage) => stage.idleTimeout !== undefined);
  const shuffles = new Set(expected.plan.streams.filter((s) => s.role === 'shuffle').map((s) => s.name));
  const sources = sorted(new Set(idleStages.map((stage) => stage.input)));
  const targets = sorted(new Set(idleStages.flatMap((stage) => stage.outputs.filter((o) => shuffles.has(o)))));
  expect(sources.length * targets.length, 'the fixture has sources and targets').toBeGreaterThan(0);

  expect(actionsOf(pairs, 'kinesis')).toEqual(
    sorted([...KINESIS_READ_ACTIONS, ...KINESIS_WRITE_ACTIONS, ...KINESIS_READ_AND_WRITE_ACTIONS]),
  );
  for (const action of KINESIS_READ_ACTIONS) expect(names(action), action).toEqual(sources);
  for (const action of KINESIS_WRITE_ACTIONS) expect(names(action), action).toEqual(targets);
  for (const action of KINESIS_READ_AND_WRITE_ACTIONS) {
    expect(names(action), action).toEqual(sorted(new Set([...sources, ...targets])));
  }
  expect(actionsOf(pairs, 'logs')).toEqual(LOGS_ACTIONS);
  for (const action of LOGS_ACTIONS) expect(names(action), action).toEqual([logGroupId]);
  expect(actionsOf(pairs, 'xray')).toEqual(WILDCARD_RESOURCE_EXCEPTIONS);
  expect(actionsOf(pairs, 'kms')).toEqual(expected.keyId === undefined ? [] : KMS_ACTIONS);
  for (const action of actionsOf(pairs, 'kms')) expect(names(action), action).toEqual([expected.keyId]);
  const services = new Set([...pairs.keys()].map((action) => action.split(':')[0]));
  expect(sorted(services as Set<string>)).toEqual(
    sorted(['kinesis', 'logs', 'xray', ...(expected.keyId ? ['kms'] : [])]),
  );
}
