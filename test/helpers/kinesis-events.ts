import type { Context, KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';

let sequence = 49_000_000_000_000_000_000_000_000_000_000_000_000_000_000_000n;

export interface RecordInit {
  readonly stream?: string;
  readonly shardId?: string;
  readonly partitionKey?: string;
  readonly sequenceNumber?: string;
  /** Raw payload: bytes as they are (a KPL aggregate), strings as UTF-8, objects JSON-encoded. */
  readonly data: unknown;
}

/** A Kinesis event record as Lambda delivers it. */
export function kinesisRecord(init: RecordInit): KinesisStreamRecord {
  sequence += 1n;
  const stream = init.stream ?? 'clicks';
  const shardId = init.shardId ?? 'shardId-000000000000';
  const sequenceNumber = init.sequenceNumber ?? sequence.toString();
  const payload =
    init.data instanceof Uint8Array
      ? Buffer.from(init.data)
      : Buffer.from(typeof init.data === 'string' ? init.data : JSON.stringify(init.data));
  return {
    kinesis: {
      kinesisSchemaVersion: '1.0',
      partitionKey: init.partitionKey ?? 'pk',
      sequenceNumber,
      data: payload.toString('base64'),
      approximateArrivalTimestamp: 1_700_000_000.123,
    },
    eventSource: 'aws:kinesis',
    eventVersion: '1.0',
    eventID: `${shardId}:${sequenceNumber}`,
    eventName: 'aws:kinesis:record',
    invokeIdentityArn: 'arn:aws:iam::000000000000:role/test',
    awsRegion: 'us-east-1',
    eventSourceARN: `arn:aws:kinesis:us-east-1:000000000000:stream/${stream}`,
  };
}

export function kinesisEvent(records: readonly RecordInit[]): KinesisStreamEvent {
  return { Records: records.map(kinesisRecord) };
}

/** A Lambda context with a fixed time budget. */
export function lambdaContext(remainingMs = 60_000): Context {
  const deadline = Date.now() + remainingMs;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: 'test-stage',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:test-stage',
    memoryLimitInMB: '1024',
    awsRequestId: 'req-1',
    logGroupName: '/aws/lambda/test-stage',
    logStreamName: 'stream',
    getRemainingTimeInMillis: () => deadline - Date.now(),
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}
