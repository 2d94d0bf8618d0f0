import type { DynamoDBRecord, KinesisStreamRecord } from 'aws-lambda';
import type { PipelinePlan, StageSpec } from '../dag/plan-types.js';
import { fromDynamoDbStreamEventRecord, isDynamoDbStreamRecord } from './dynamodb-stream-event.js';
import type { DynamoDbStreamShards } from './io/dynamodb-stream-shards.js';
import { fromKinesisEventRecord } from './kinesis-event.js';
import type { InputRecord } from './records.js';

/** The environment variable with each `dynamoDbStream` source's stream ARN, as JSON by source name. */
export const dynamoDbStreamsVariable = 'EDDY_DYNAMODB_STREAMS';

/** The stream ARNs of the plan's `dynamoDbStream` sources, from the environment the construct sets. */
export function dynamoDbStreamArns(plan: PipelinePlan, env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const sources = plan.streams.filter((stream) => stream.dynamoDbStream !== undefined);
  if (sources.length === 0) return {};
  const given = env[dynamoDbStreamsVariable];
  const parsed = given === undefined || given === '' ? {} : (JSON.parse(given) as Record<string, string>);
  const arns: Record<string, string> = {};
  for (const source of sources) {
    const arn = parsed[source.name] ?? source.dynamoDbStream?.streamArn;
    if (arn !== undefined) arns[source.name] = arn;
  }
  return arns;
}

/** Whether the stage reads a `dynamoDbStream` source. */
export function readsDynamoDbStream(plan: PipelinePlan, stage: StageSpec | undefined): boolean {
  return plan.streams.some((stream) => stream.name === stage?.input && stream.dynamoDbStream !== undefined);
}

/**
 * A Lambda event's records as the runtime's input records. A DynamoDB stream batch comes from one
 * shard: the event's `shardId` names it when the mapping has a tumbling window (as the construct and
 * the local mapping set it); without one, `streams` finds it from the first record's sequence number.
 */
export async function inputRecordsOf(
  records: readonly (KinesisStreamRecord | DynamoDBRecord)[],
  source: string,
  streams: DynamoDbStreamShards | undefined,
  eventShardId?: string,
): Promise<InputRecord[]> {
  const first = records[0];
  if (first === undefined || !isDynamoDbStreamRecord(first)) {
    return (records as KinesisStreamRecord[]).map(fromKinesisEventRecord);
  }
  if (streams === undefined) {
    throw new Error(
      `a DynamoDB stream event reached stage of '${source}', which has no dynamoDbStream source with a stream ARN (${dynamoDbStreamsVariable})`,
    );
  }
  const shardId =
    eventShardId !== undefined && eventShardId !== ''
      ? eventShardId
      : await streams.shardOf(source, (first as DynamoDBRecord).dynamodb?.SequenceNumber ?? '');
  return (records as DynamoDBRecord[]).map((record) => fromDynamoDbStreamEventRecord(record, shardId));
}
