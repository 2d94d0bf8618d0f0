import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  buildEvent,
  buildOnFailureRecord,
  describeShard,
  laneOf,
  mayStart,
  resolveOptions,
} from '../../../../local/event-source-mapping/index.js';
import { sequenceNumber, shardRecord } from './records.js';

describe('toShardRecord and buildEvent', () => {
  it('builds the record Lambda puts in a Kinesis event', () => {
    // Prepare
    const record = shardRecord(1, { key: 'user-1', arrivalMs: 1_545_084_650_987 });

    // Act
    const event = buildEvent([record]);

    // Assess
    expect(event).toEqual({
      Records: [
        {
          kinesis: {
            kinesisSchemaVersion: '1.0',
            partitionKey: 'user-1',
            sequenceNumber: sequenceNumber(1),
            data: Buffer.from('r1').toString('base64'),
            approximateArrivalTimestamp: 1_545_084_650.987,
          },
          eventSource: 'aws:kinesis',
          eventVersion: '1.0',
          eventID: `shardId-000000000000:${sequenceNumber(1)}`,
          eventName: 'aws:kinesis:record',
          invokeIdentityArn: 'arn:aws:iam::000000000000:role/r',
          awsRegion: 'us-east-1',
          eventSourceARN: 'arn:aws:kinesis:us-east-1:000000000000:stream/s',
        },
      ],
    });
    expect(record.payloadBytes).toBe(Buffer.byteLength(JSON.stringify(event.Records[0])) + 1);
  });

  it('gives each invocation its own copy, so a function changing its event cannot change a retry', () => {
    const record = shardRecord(1);
    const event = buildEvent([record]);
    (event.Records[0] as { kinesis: { data: string } }).kinesis.data = 'changed';
    expect(buildEvent([record]).Records[0]?.kinesis.data).toBe(Buffer.from('r1').toString('base64'));
  });
});

describe('buildOnFailureRecord', () => {
  it('describes the discarded records like Lambda does for SQS and SNS destinations', () => {
    // Prepare
    const records = [shardRecord(3, { arrivalMs: 1_000 }), shardRecord(4, { arrivalMs: 2_500 })];

    // Act
    const document = buildOnFailureRecord(
      { shardId: 'shardId-000000000000', records, condition: 'RecordAgeExceeded', invokeCount: 2, nowMs: 5_000 },
      { functionArn: 'arn:aws:lambda:us-east-1:1:function:f', streamArn: 'arn:aws:kinesis:us-east-1:1:stream/s' },
    );

    // Assess
    expect(document).toEqual({
      requestContext: {
        requestId: expect.any(String),
        functionArn: 'arn:aws:lambda:us-east-1:1:function:f',
        condition: 'RecordAgeExceeded',
        approximateInvokeCount: 2,
      },
      responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
      version: '1.0',
      timestamp: '1970-01-01T00:00:05.000Z',
      KinesisBatchInfo: {
        shardId: 'shardId-000000000000',
        startingSequenceNumber: sequenceNumber(3),
        endingSequenceNumber: sequenceNumber(4),
        approximateArrivalOfFirstRecord: '1970-01-01T00:00:01.000Z',
        approximateArrivalOfLastRecord: '1970-01-01T00:00:02.500Z',
        batchSize: 2,
        streamArn: 'arn:aws:kinesis:us-east-1:1:stream/s',
      },
    });
  });
});

describe('laneOf', () => {
  it('puts every key in lane 0 with one lane', () => {
    expect(laneOf('anything', 1)).toBe(0);
  });

  it('always gives the same key the same lane, within range', () => {
    fc.assert(
      fc.property(fc.string(), fc.integer({ min: 1, max: 10 }), (key, lanes) => {
        const lane = laneOf(key, lanes);
        expect(lane).toBe(laneOf(key, lanes));
        expect(lane).toBeGreaterThanOrEqual(0);
        expect(lane).toBeLessThan(lanes);
      }),
    );
  });

  it('spreads many keys over all lanes', () => {
    const used = new Set(Array.from({ length: 200 }, (_, index) => laneOf(`key-${index}`, 10)));
    expect(used.size).toBe(10);
  });
});

describe('shard lineage', () => {
  it('reads parents, adjacent parents and closed state from ListShards', () => {
    expect(
      describeShard({
        ShardId: 'shardId-000000000003',
        ParentShardId: 'shardId-000000000001',
        AdjacentParentShardId: 'shardId-000000000002',
        HashKeyRange: { StartingHashKey: '0', EndingHashKey: '1' },
        SequenceNumberRange: { StartingSequenceNumber: '1', EndingSequenceNumber: '9' },
      }),
    ).toEqual({
      shardId: 'shardId-000000000003',
      parentShardIds: ['shardId-000000000001', 'shardId-000000000002'],
      closed: true,
    });
  });

  it('starts a child only when every parent it knows of is finished', () => {
    const child = { shardId: 'c', parentShardIds: ['a', 'b'], closed: false };
    expect(mayStart(child, (id) => (id === 'a' ? 'finished' : 'unfinished'))).toBe(false);
    expect(mayStart(child, () => 'finished')).toBe(true);
    expect(mayStart(child, (id) => (id === 'a' ? 'finished' : 'unknown'))).toBe(true);
  });
});

describe('resolveOptions', () => {
  const base = { kinesis: {} as never, streamName: 'orders', invoke: async () => undefined };

  it('fills in Lambda defaults and builds the ARNs', () => {
    const options = resolveOptions({ ...base, awsRegion: 'eu-west-1', accountId: '123456789012' });
    expect(options).toMatchObject({
      batchSize: 100,
      maxBatchingWindowMs: 0,
      parallelizationFactor: 1,
      bisectBatchOnFunctionError: false,
      maximumRetryAttempts: -1,
      maximumRecordAgeMs: -1,
      reportBatchItemFailures: false,
      startingPosition: 'TRIM_HORIZON',
      pollIntervalMs: 1000,
      streamArn: 'arn:aws:kinesis:eu-west-1:123456789012:stream/orders',
      functionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:eddy-local',
    });
  });

  it('accepts the limits themselves', () => {
    expect(() =>
      resolveOptions({
        ...base,
        batchSize: 10_000,
        maxBatchingWindowSeconds: 300,
        parallelizationFactor: 10,
        maximumRetryAttempts: 10_000,
        maximumRecordAgeSeconds: 604_800,
      }),
    ).not.toThrow();
  });

  it.each([
    [{ batchSize: 1.5 }, 'batchSize 1.5 must be an integer from 1 to 10000'],
    [{ maxBatchingWindowSeconds: -1 }, 'maxBatchingWindowSeconds -1 must be an integer from 0 to 300'],
    [{ parallelizationFactor: 0 }, 'parallelizationFactor 0 must be an integer from 1 to 10'],
    [
      { maximumRetryAttempts: 10_001 },
      'maximumRetryAttempts 10001 must be -1 (no limit) or an integer from 0 to 10000',
    ],
    [{ maximumRecordAgeSeconds: 604_801 }, 'maximumRecordAgeSeconds 604801 must be -1 (no limit)'],
    [{ startingPositionTimestamp: new Date() }, 'startingPositionTimestamp is only valid with AT_TIMESTAMP'],
    [{ pollIntervalMs: -1 }, 'pollIntervalMs -1 must be a finite number'],
    [{ streamName: '' }, 'streamName must not be empty'],
  ])('rejects %o', (options, message) => {
    expect(() => resolveOptions({ ...base, ...options })).toThrow(message);
  });
});
