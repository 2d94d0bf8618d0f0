import type { KinesisStreamRecord } from 'aws-lambda';
import type { InputRecord } from './records.js';

let lastArn: string | undefined;
let lastName = '';

/** `arn:aws:kinesis:<region>:<account>:stream/<name>` -> `<name>`; a batch's records share their ARN. */
function streamNameOf(arn: string): string {
  if (arn === lastArn) return lastName;
  const slash = arn.lastIndexOf('/');
  lastName = slash === -1 ? arn : arn.slice(slash + 1);
  lastArn = arn;
  return lastName;
}

/** Lambda's eventID is `<shardId>:<sequenceNumber>`. */
function shardIdOf(eventId: string): string {
  const colon = eventId.indexOf(':');
  return colon === -1 ? 'unknown' : eventId.slice(0, colon);
}

/** Lambda's Kinesis event record -> the runtime's input record. */
export function fromKinesisEventRecord(record: KinesisStreamRecord): InputRecord {
  return {
    position: {
      stream: streamNameOf(record.eventSourceARN),
      shardId: shardIdOf(record.eventID),
      sequenceNumber: record.kinesis.sequenceNumber,
      partitionKey: record.kinesis.partitionKey,
      arrivalTime: Math.round(record.kinesis.approximateArrivalTimestamp * 1000),
    },
    data: Buffer.from(record.kinesis.data, 'base64'),
  };
}
