import {
  DescribeStreamCommand,
  type DynamoDBStreamsClient,
  type _Record as StreamRecord,
  GetRecordsCommand as StreamsGetRecordsCommand,
  GetShardIteratorCommand as StreamsGetShardIteratorCommand,
} from '@aws-sdk/client-dynamodb-streams';
import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  type KinesisClient,
  type _Record as KinesisRecord,
  ListShardsCommand,
  type Shard,
} from '@aws-sdk/client-kinesis';
import type { DynamoDBRecord, KinesisStreamEvent } from 'aws-lambda';
import {
  type DynamoDbStreamWindowEvent,
  TABLE_STREAM_TUMBLING_WINDOW_SECONDS,
} from '../../shared/runtime/dynamodb-stream-event.js';

/** DynamoDB Streams answers at most 1,000 records per GetRecords (Kinesis 10,000). */
const maxStreamsGetRecords = 1000;

/**
 * A table's stream (DynamoDB Streams) read through the calls the local event source mapping makes
 * to Kinesis: DescribeStream for ListShards, and GetShardIterator and GetRecords, which both APIs
 * share. Both have shards with parents, iterators per shard and sequence numbers, and Lambda polls
 * them with the same batching, retry, bisect and partial batch response rules (with-ddb.html), so the
 * mapping's shard, lineage and retry logic is reused as it is. Each stream record travels as a
 * Kinesis record whose data is the record Lambda puts in a DynamoDB stream event;
 * {@link toDynamoDbStreamEvent} turns the mapping's event back into that event.
 */
export function dynamoDbStreamAsKinesis(
  streams: DynamoDBStreamsClient,
  streamArn: string,
  context: { readonly awsRegion: string },
): KinesisClient {
  const send = async (command: unknown, options?: { abortSignal?: AbortSignal }): Promise<unknown> => {
    const abort = { abortSignal: options?.abortSignal };
    if (command instanceof ListShardsCommand) {
      return { Shards: await describeAll(streams, streamArn, options?.abortSignal) };
    }
    if (command instanceof GetShardIteratorCommand) {
      const input = command.input;
      const output = await streams.send(
        new StreamsGetShardIteratorCommand({
          StreamArn: streamArn,
          ShardId: input.ShardId,
          ShardIteratorType: input.ShardIteratorType as never,
          ...(input.StartingSequenceNumber !== undefined && { SequenceNumber: input.StartingSequenceNumber }),
        }),
        abort,
      );
      return { ShardIterator: output.ShardIterator };
    }
    if (command instanceof GetRecordsCommand) {
      const limit = Math.min(maxStreamsGetRecords, command.input.Limit ?? maxStreamsGetRecords);
      const output = await streams.send(
        new StreamsGetRecordsCommand({ ShardIterator: command.input.ShardIterator, Limit: limit }),
        abort,
      );
      return {
        Records: (output.Records ?? []).map((record) => asKinesisRecord(record, streamArn, context.awsRegion)),
        NextShardIterator: output.NextShardIterator,
      };
    }
    throw new Error(`a DynamoDB stream cannot answer ${(command as object).constructor.name}`);
  };
  return { send, destroy: () => undefined } as unknown as KinesisClient;
}

async function describeAll(streams: DynamoDBStreamsClient, streamArn: string, abort?: AbortSignal): Promise<Shard[]> {
  const shards: Shard[] = [];
  let start: string | undefined;
  do {
    const { StreamDescription } = await streams.send(
      new DescribeStreamCommand({ StreamArn: streamArn, ...(start !== undefined && { ExclusiveStartShardId: start }) }),
      { abortSignal: abort },
    );
    for (const shard of StreamDescription?.Shards ?? []) {
      shards.push({
        ShardId: shard.ShardId,
        ...(shard.ParentShardId !== undefined && { ParentShardId: shard.ParentShardId }),
        HashKeyRange: { StartingHashKey: '0', EndingHashKey: '0' },
        SequenceNumberRange: {
          StartingSequenceNumber: shard.SequenceNumberRange?.StartingSequenceNumber,
          EndingSequenceNumber: shard.SequenceNumberRange?.EndingSequenceNumber,
        },
      } as Shard);
    }
    start = StreamDescription?.LastEvaluatedShardId;
  } while (start !== undefined);
  return shards;
}

/** The record as Lambda's event has it (with-ddb.html, "Example event"): DynamoDB JSON, binary as base64, seconds. */
function asKinesisRecord(record: StreamRecord, streamArn: string, awsRegion: string): KinesisRecord {
  const dynamodb = record.dynamodb ?? {};
  const created = dynamodb.ApproximateCreationDateTime ?? new Date(0);
  const eventRecord: DynamoDBRecord = {
    eventID: record.eventID,
    eventName: record.eventName,
    eventVersion: record.eventVersion ?? '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion,
    dynamodb: {
      ...(JSON.parse(JSON.stringify(dynamodb, binaryAsBase64)) as object),
      ApproximateCreationDateTime: created.getTime() / 1000,
    },
    eventSourceARN: streamArn,
  };
  return {
    SequenceNumber: dynamodb.SequenceNumber,
    PartitionKey: JSON.stringify(dynamodb.Keys ?? {}),
    ApproximateArrivalTimestamp: created,
    Data: Buffer.from(JSON.stringify(eventRecord)),
  };
}

function binaryAsBase64(_key: string, value: unknown): unknown {
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  // JSON.stringify hands a Buffer to the replacer already turned into { type: 'Buffer', data }.
  const buffer = value as { type?: unknown; data?: unknown };
  if (buffer?.type === 'Buffer' && Array.isArray(buffer.data)) return Buffer.from(buffer.data).toString('base64');
  return value;
}

/**
 * The mapping's event for a table's stream, as the DynamoDB stream event Lambda sends through the
 * mapping the construct builds, with a tumbling window (services-ddb-windows.html): the records, and
 * the batch's shard, stream ARN, window and state. The window is the clock's current one of
 * `windowSeconds`; this mapping makes no final invokes (Lambda's may carry no records, which the
 * stage answers without running), and the stage's `state` answer is read as any partial batch response.
 */
export function toDynamoDbStreamEvent(
  event: KinesisStreamEvent,
  now: number = Date.now(),
  windowSeconds: number = TABLE_STREAM_TUMBLING_WINDOW_SECONDS,
): DynamoDbStreamWindowEvent {
  const records = event.Records.map(
    (record) => JSON.parse(Buffer.from(record.kinesis.data, 'base64').toString('utf8')) as DynamoDBRecord,
  );
  const first = event.Records[0];
  const windowMs = windowSeconds * 1000;
  const start = Math.floor(now / windowMs) * windowMs;
  return {
    Records: records,
    // A Kinesis event record's eventID is `<shard id>:<sequence number>`.
    ...(first !== undefined && { shardId: first.eventID.split(':')[0] as string }),
    ...(records[0]?.eventSourceARN !== undefined && { eventSourceARN: records[0].eventSourceARN }),
    window: { start: new Date(start).toISOString(), end: new Date(start + windowMs).toISOString() },
    state: {},
    isFinalInvokeForWindow: false,
    isWindowTerminatedEarly: false,
  };
}

/**
 * Lambda's reading of the answer to a windowed event: one without `state` (an object) is a failed
 * invocation (services-ddb-windows.html), retried as any function error. Returns the answer.
 */
export function requireWindowState<R>(response: R): R {
  const state = (response as { state?: unknown } | null | undefined)?.state;
  if (typeof state !== 'object' || state === null || Array.isArray(state)) {
    throw new Error(
      `the function answered a tumbling-window event without a state object (${JSON.stringify(response) ?? String(response)}): Lambda counts that as a failed invocation`,
    );
  }
  return response;
}
