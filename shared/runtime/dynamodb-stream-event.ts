import type { DynamoDBRecord, DynamoDBStreamEvent, KinesisStreamBatchResponse } from 'aws-lambda';
import type { InputRecord } from './records.js';
import { CONTROL_PARTITION_KEY, END_OF_INPUT_DATA } from './watermark-records.js';

/**
 * The tumbling window of a table stream's event source mapping. Lambda's DynamoDB stream event names
 * its shard (`shardId`) only when the mapping has one (services-ddb-windows.html), and a source
 * stage's channel is that shard. The stage keeps its state in DynamoDB and answers an empty window
 * state (withWindowState), so the window's only cost is its final invoke per shard, often with no records: the longest
 * window Lambda allows (900 s) makes those fewest.
 */
export const TABLE_STREAM_TUMBLING_WINDOW_SECONDS = 900;

/** `arn:aws:dynamodb:<region>:<account>:table/<name>/stream/<label>` -> `<name>`. */
export function tableNameOfStreamArn(arn: string): string {
  const match = /:table\/([^/]+)\/stream\//.exec(arn);
  return match?.[1] ?? arn;
}

/**
 * The `eventName` of the end-of-input mark of a bounded local run over a table's changes: the local
 * mapping puts it after a shard's last change once the run's table writes are done
 * (local/event-source-mapping/dynamodb-streams-reader.ts), as `eddy run` writes END_OF_INPUT_DATA
 * after a file's records on a Kinesis source. DynamoDB never writes it: its changes are INSERT,
 * MODIFY and REMOVE.
 */
export const TABLE_END_OF_INPUT_EVENT = 'eddy:end-of-input';

/**
 * Lambda's DynamoDB stream event record -> the runtime's input record: its payload is the record's
 * change as JSON (what the source's decoder reads, and what a dead letter keeps), its position the
 * stream record's SequenceNumber in `shardId`. The caller knows the shard: the event's `shardId` (a
 * mapping with a tumbling window), or else io/dynamodb-stream-shards.ts.
 */
export function fromDynamoDbStreamEventRecord(record: DynamoDBRecord, shardId: string): InputRecord {
  const dynamodb = record.dynamodb ?? {};
  const sequenceNumber = dynamodb.SequenceNumber;
  if (sequenceNumber === undefined) {
    throw new TypeError(`DynamoDB stream record ${record.eventID ?? '(no eventID)'} has no dynamodb.SequenceNumber`);
  }
  const endOfInput = (record.eventName as string | undefined) === TABLE_END_OF_INPUT_EVENT;
  return {
    position: {
      stream: tableNameOfStreamArn(record.eventSourceARN ?? ''),
      shardId,
      sequenceNumber,
      // The item's key: what a table's stream orders changes by, as a Kinesis partition key does.
      partitionKey: endOfInput ? CONTROL_PARTITION_KEY : JSON.stringify(dynamodb.Keys ?? {}),
      arrivalTime: Math.round((dynamodb.ApproximateCreationDateTime ?? 0) * 1000),
    },
    // The end mark reads as a Kinesis source's: the source stage's watermark goes to the end of time.
    data: Buffer.from(
      endOfInput
        ? END_OF_INPUT_DATA
        : JSON.stringify({ eventID: record.eventID, eventName: record.eventName, dynamodb }),
    ),
  };
}

/** Whether a Lambda event record came from a DynamoDB stream (else it is a Kinesis record). */
export function isDynamoDbStreamRecord(record: { readonly eventSource?: string }): boolean {
  return record.eventSource === 'aws:dynamodb';
}

/**
 * A DynamoDB stream event from a mapping with a tumbling window (services-ddb-windows.html): Lambda
 * adds the batch's shard and stream, the window (by arrival time, per shard) and the state the
 * function answered last in it. The final invoke of a window may carry no records.
 */
export interface DynamoDbStreamWindowEvent extends DynamoDBStreamEvent {
  readonly shardId?: string;
  readonly eventSourceARN?: string;
  readonly window?: { readonly start: string; readonly end: string };
  readonly state?: Readonly<Record<string, unknown>>;
  readonly isFinalInvokeForWindow?: boolean;
  readonly isWindowTerminatedEarly?: boolean;
}

/** What a stage answers a windowed event: Lambda counts an answer without `state` as a failed invocation. */
export interface WindowStateResponse extends KinesisStreamBatchResponse {
  readonly state: Readonly<Record<string, never>>;
}

/** Whether the event came through a mapping with a tumbling window, whose answer must carry `state`. */
export function isTumblingWindowEvent(event: object): event is DynamoDbStreamWindowEvent {
  return 'window' in event || 'shardId' in event;
}

/**
 * The answer to a windowed event: an empty `state` beside the batch's failures. The stage keeps its
 * state in DynamoDB, exactly once per record position; the window's state, which Lambda keeps at
 * least once, is not used.
 */
export function withWindowState(response: KinesisStreamBatchResponse): WindowStateResponse {
  return { state: {}, ...response };
}
