import { expect } from 'vitest';
import type { PipelinePlan } from '../../shared/index.js';
import { StateTableSchema } from '../../shared/runtime/io/state-table-schema.js';
import {
  allowedPairs,
  type CfnTemplate,
  functionOfStage,
  referencedId,
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
const KINESIS_WRITE_ACTIONS = ['kinesis:PutRecord', 'kinesis:PutRecords'];
/** Part of both CDK's read and write grants. */
const KINESIS_READ_AND_WRITE_ACTIONS = ['kinesis:ListShards'];

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

/**
 * The one place a resource '*' is allowed: X-Ray's PutTraceSegments and PutTelemetryRecords have no
 * resource-level permissions, so active tracing needs them on '*'.
 */
const WILDCARD_RESOURCE_EXCEPTIONS = ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'];

export interface LeastPrivilegeExpectations {
  readonly plan: PipelinePlan;
  readonly prefix?: string;
  readonly queueId: string;
  /** Logical id of the customer managed key, when there is one. */
  readonly keyId?: string;
  /** Logical id of the state table: required when the plan has one, refused otherwise. */
  readonly tableId?: string;
}

/**
 * Asserts, for every stage, that its role allows exactly: reading its input stream, writing its
 * output streams, sending to the failure queue, writing its own log group, X-Ray, (with a key) using
 * that key, and (stateful stages only) the window store's requests on the state table and its
 * fire-time index; and nothing on any other resource.
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
      expect(action, `${context}: wildcard action`).not.toBe('*');
      expect(action, `${context}: service-wide action`).not.toMatch(/:\*$/);
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

    const dynamodbActions = sorted([...pairs.keys()].filter((action) => action.startsWith('dynamodb:')));
    if (stage.stateful) {
      expect(dynamodbActions, `${context}: state table actions`).toEqual(STATE_TABLE_ACTIONS);
      for (const action of STATE_TABLE_ACTIONS) {
        const allowed = STATE_INDEX_ACTIONS.includes(action) ? [tableId, indexId] : [tableId];
        expect(sorted(pairs.get(action) ?? []), `${context}: ${action}`).toEqual(sorted(allowed as string[]));
      }
    } else {
      expect(dynamodbActions, `${context}: a stateless stage uses no table`).toEqual([]);
    }

    for (const [action, resources] of pairs) {
      const service = action.split(':')[0];
      const where = `${context}: ${action}`;
      if (service === 'sqs') expect(sorted(resources), where).toEqual([expected.queueId]);
      else if (service === 'logs') expect(sorted(resources), where).toEqual([logGroupId]);
      else if (service === 'kms') {
        expect(expected.keyId, `${where} without a customer key`).toBeDefined();
        expect(sorted(resources), where).toEqual([expected.keyId]);
      } else expect(['kinesis', 'xray', 'dynamodb'], where).toContain(service);
    }
    expect(sorted(pairs.get('sqs:SendMessage') ?? []), context).toEqual([expected.queueId]);
    expect(sorted(pairs.get('logs:PutLogEvents') ?? []), context).toEqual([logGroupId]);
    if (expected.keyId !== undefined) {
      // Decrypt to read the input, GenerateDataKey to write outputs and to send to the queue.
      expect(sorted(pairs.get('kms:Decrypt') ?? []), context).toEqual([expected.keyId]);
      expect(sorted(pairs.get('kms:GenerateDataKey*') ?? []), context).toEqual([expected.keyId]);
    }
  }
}
