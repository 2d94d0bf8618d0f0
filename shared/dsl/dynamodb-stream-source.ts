import type { z } from 'zod';
import { PipelineDefinitionError } from '../dag/errors.js';
import type { DynamoDbStreamSpec } from '../dag/plan-types.js';
import type { DynamoDbStreamSourceOptions, KeyAttribute } from './options.js';

/**
 * The plan's view of a `dynamoDbStream` source, checked. Options that only mean something for a
 * Kinesis stream are refused rather than ignored: a table's stream has the shards DynamoDB gives
 * it, and the idleness check reads a Kinesis stream's tip.
 */
export function dynamoDbStreamSpec<S extends z.ZodType>(
  name: string,
  options: DynamoDbStreamSourceOptions<S>,
): DynamoDbStreamSpec {
  const label = `source '${name}'`;
  for (const option of ['shards', 'idleTimeout'] as const) {
    if (option in options && (options as unknown as Record<string, unknown>)[option] !== undefined) {
      throw new PipelineDefinitionError(
        `${option} does not apply to a dynamoDbStream source: DynamoDB decides the shards of a table's stream`,
        label,
      );
    }
  }
  const given = typeof options.dynamoDbStream === 'string' ? { table: options.dynamoDbStream } : options.dynamoDbStream;
  if (typeof given?.table !== 'string' || given.table.length < 3) {
    throw new PipelineDefinitionError('dynamoDbStream must name a table (3 characters or more)', label);
  }
  if (
    given.streamArn !== undefined &&
    !/^arn:aws[\w-]*:dynamodb:[^:]*:[^:]*:table\/[^/]+\/stream\/.+$/.test(given.streamArn)
  ) {
    throw new PipelineDefinitionError(
      `dynamoDbStream.streamArn must be a table's stream ARN (arn:aws:dynamodb:<region>:<account>:table/<name>/stream/<label>), got ${JSON.stringify(given.streamArn)}`,
      label,
    );
  }
  const sortKey = given.sortKey === undefined ? undefined : keyAttribute(given.sortKey, label, 'sortKey');
  return {
    table: given.table,
    partitionKey: keyAttribute(given.partitionKey ?? { name: 'pk' }, label, 'partitionKey'),
    ...(sortKey !== undefined && { sortKey }),
    ...(given.streamArn !== undefined && { streamArn: given.streamArn }),
  };
}

function keyAttribute(key: KeyAttribute, label: string, what: string): DynamoDbStreamSpec['partitionKey'] {
  const type = key.type ?? 'string';
  if (typeof key.name !== 'string' || key.name.length === 0 || (type !== 'string' && type !== 'number')) {
    throw new PipelineDefinitionError(
      `dynamoDbStream.${what} must be { name, type?: 'string' | 'number' }, got ${JSON.stringify(key)}`,
      label,
    );
  }
  return { name: key.name, type };
}
