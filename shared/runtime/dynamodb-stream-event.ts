import type { DynamoDBRecord } from 'aws-lambda';
import type { InputRecord } from './records.js';

/** `arn:aws:dynamodb:<region>:<account>:table/<name>/stream/<label>` -> `<name>`. */
export function tableNameOfStreamArn(arn: string): string {
  const match = /:table\/([^/]+)\/stream\//.exec(arn);
  return match?.[1] ?? arn;
}

/**
 * Lambda's DynamoDB stream event record -> the runtime's input record: its payload is the record's
 * change as JSON (what the source's decoder reads, and what a dead letter keeps), its position the
 * stream record's SequenceNumber in `shardId`. Lambda's event does not say the shard: the caller
 * finds it (io/dynamodb-stream-shards.ts).
 */
export function fromDynamoDbStreamEventRecord(record: DynamoDBRecord, shardId: string): InputRecord {
  const dynamodb = record.dynamodb ?? {};
  const sequenceNumber = dynamodb.SequenceNumber;
  if (sequenceNumber === undefined) {
    throw new TypeError(`DynamoDB stream record ${record.eventID ?? '(no eventID)'} has no dynamodb.SequenceNumber`);
  }
  return {
    position: {
      stream: tableNameOfStreamArn(record.eventSourceARN ?? ''),
      shardId,
      sequenceNumber,
      // The item's key: what a table's stream orders changes by, as a Kinesis partition key does.
      partitionKey: JSON.stringify(dynamodb.Keys ?? {}),
      arrivalTime: Math.round((dynamodb.ApproximateCreationDateTime ?? 0) * 1000),
    },
    data: Buffer.from(JSON.stringify({ eventID: record.eventID, eventName: record.eventName, dynamodb })),
  };
}

/** Whether a Lambda event record came from a DynamoDB stream (else it is a Kinesis record). */
export function isDynamoDbStreamRecord(record: { readonly eventSource?: string }): boolean {
  return record.eventSource === 'aws:dynamodb';
}
