import { type KinesisClient, PutRecordCommand } from '@aws-sdk/client-kinesis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createKinesisClient } from '../../local/aws-clients.js';
import {
  EventSourceMappingConfigError,
  KinesisEventSourceMapping,
  type OnFailureRecord,
} from '../../local/event-source-mapping/index.js';
import { createTestStream, useEmulators, waitUntil } from '../helpers/emulators.js';
import {
  delay,
  makeRecords,
  mappingFactory,
  putRecords,
  RecordingCheckpointStore,
  recordingInvoker,
} from './event-source-mapping.support.js';

const emulators = useEmulators({ dynamodb: false });
let kinesis: KinesisClient;
const mappings = mappingFactory(() => kinesis);
const region = 'eu-west-1';
const accountId = '123456789012';

beforeAll(() => {
  kinesis = createKinesisClient(emulators().kinesisEndpoint);
});
afterEach(async () => {
  await mappings.stopAll();
});
afterAll(() => {
  kinesis.destroy();
});

/** Indexes of `data` values `r<i>` in each call, e.g. [[0, 1], [2]]: easy to compare exactly. */
function indexesOf(calls: readonly { data: readonly string[] }[]): number[][] {
  return calls.map((call) => call.data.map((value) => Number(value.slice(1))));
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, index) => from + index);
}

describe('delivery', () => {
  it('delivers every record of each shard in order, in Lambda events', async () => {
    // Prepare
    const streamName = await createTestStream(kinesis, 3);
    const put = await putRecords(
      kinesis,
      streamName,
      makeRecords(90, (index) => `key-${index % 9}`),
    );
    const fn = recordingInvoker();

    // Act
    const mapping = await mappings.start({ streamName, invoke: fn.invoke, batchSize: 7, awsRegion: region, accountId });
    await waitUntil(() => fn.delivered().length >= 90 && mapping.isCaughtUp(), 'all 90 records are delivered');

    // Assess
    const shardIds = [...new Set(put.map((record) => record.shardId))].sort();
    expect(shardIds.length).toBeGreaterThan(1);
    for (const shardId of shardIds) {
      const expected = put.filter((record) => record.shardId === shardId).map((record) => record.sequenceNumber);
      const delivered = fn.calls.filter((call) => call.shardId === shardId).flatMap((call) => call.sequenceNumbers);
      expect(delivered).toEqual(expected);
    }
    const first = put[0];
    const firstEvent = fn.calls
      .flatMap((call) => call.event.Records)
      .find((r) => r.kinesis.sequenceNumber === first?.sequenceNumber);
    expect(firstEvent).toEqual({
      kinesis: {
        kinesisSchemaVersion: '1.0',
        partitionKey: 'key-0',
        sequenceNumber: first?.sequenceNumber,
        data: Buffer.from('r0').toString('base64'),
        approximateArrivalTimestamp: expect.any(Number),
      },
      eventSource: 'aws:kinesis',
      eventVersion: '1.0',
      eventID: `${first?.shardId}:${first?.sequenceNumber}`,
      eventName: 'aws:kinesis:record',
      invokeIdentityArn: `arn:aws:iam::${accountId}:role/eddy-local-role`,
      awsRegion: region,
      eventSourceARN: `arn:aws:kinesis:${region}:${accountId}:stream/${streamName}`,
    });
    const arrival = firstEvent?.kinesis.approximateArrivalTimestamp ?? 0;
    expect(Math.abs(arrival - Date.now() / 1000)).toBeLessThan(60);
    const stats = mapping.stats();
    expect(stats.shards.map((shard) => shard.shardId)).toEqual(shardIds);
    for (const shard of stats.shards) {
      const last = put.filter((record) => record.shardId === shard.shardId).at(-1);
      expect(shard).toMatchObject({
        state: 'polling',
        checkpoint: last?.sequenceNumber,
        caughtUp: true,
        failedInvocations: 0,
      });
    }
    expect(stats.shards.reduce((total, shard) => total + shard.recordsDelivered, 0)).toBe(90);
  });

  it('keeps polling: records put after start are delivered too', async () => {
    // Prepare
    const streamName = await createTestStream(kinesis, 1);
    const fn = recordingInvoker();
    const mapping = await mappings.start({ streamName, invoke: fn.invoke });

    // Act
    await putRecords(kinesis, streamName, makeRecords(3));
    await waitUntil(() => fn.delivered().length === 3, 'the first records are delivered');
    await putRecords(kinesis, streamName, makeRecords(2, undefined, 3));
    await waitUntil(() => fn.delivered().length === 5 && mapping.isCaughtUp(), 'the later records are delivered');

    // Assess
    expect(fn.delivered()).toEqual(['r0', 'r1', 'r2', 'r3', 'r4']);
  });
});

describe('batching', () => {
  it('cuts batches at the batch size', async () => {
    // Prepare
    const streamName = await createTestStream(kinesis, 1);
    await putRecords(kinesis, streamName, makeRecords(25));
    const fn = recordingInvoker();

    // Act
    const mapping = await mappings.start({ streamName, invoke: fn.invoke, batchSize: 10 });
    await waitUntil(() => mapping.isCaughtUp() && fn.delivered().length === 25, 'all records are delivered');

    // Assess
    expect(indexesOf(fn.calls)).toEqual([range(0, 9), range(10, 19), range(20, 24)]);
  });

  it('waits for the batching window before sending a batch that is not full', async () => {
    // Prepare
    const streamName = await createTestStream(kinesis, 1);
    const fn = recordingInvoker();
    const mapping = await mappings.start({
      streamName,
      invoke: fn.invoke,
      batchSize: 100,
      maxBatchingWindowSeconds: 1,
    });

    // Act
    const putAt = Date.now();
    await putRecords(kinesis, streamName, makeRecords(3));
    await delay(300);
    await putRecords(kinesis, streamName, makeRecords(2, undefined, 3));
    await waitUntil(() => fn.calls.length > 0 && mapping.isCaughtUp(), 'the batch is sent');

    // Assess
    expect(indexesOf(fn.calls)).toEqual([range(0, 4)]);
    expect((fn.calls[0]?.startedAtMs ?? 0) - putAt).toBeGreaterThanOrEqual(950);
  });

  it('sends a full batch without waiting for the batching window', async () => {
    // Prepare
    const streamName = await createTestStream(kinesis, 1);
    const fn = recordingInvoker();
    const mapping = await mappings.start({ streamName, invoke: fn.invoke, batchSize: 5, maxBatchingWindowSeconds: 10 });

    // Act
    const putAt = Date.now();
    await putRecords(kinesis, streamName, makeRecords(5));
    await waitUntil(() => fn.calls.length > 0 && mapping.isCaughtUp(), 'the full batch is sent', { timeoutMs: 5_000 });

    // Assess
    expect(indexesOf(fn.calls)).toEqual([range(0, 4)]);
    expect((fn.calls[0]?.startedAtMs ?? 0) - putAt).toBeLessThan(2_000);
  });

  it('cuts a batch before its event would exceed 6 MB', async () => {
    // Prepare: 1,000,000 bytes of data become 1,333,336 of base64; 4 such records fit in 6 MB, 5 do not.
    const streamName = await createTestStream(kinesis, 1);
    for (let index = 0; index < 8; index += 1) {
      const data = Buffer.alloc(1_000_000, index.toString());
      await kinesis.send(new PutRecordCommand({ StreamName: streamName, PartitionKey: 'big', Data: data }));
    }
    const sizes: number[] = [];
    const fn = recordingInvoker((invocation) => {
      sizes.push(Buffer.byteLength(JSON.stringify(invocation.event)));
    });

    // Act
    const mapping = await mappings.start({ streamName, invoke: fn.invoke, batchSize: 100 });
    await waitUntil(() => mapping.isCaughtUp() && fn.delivered().length === 8, 'all big records are delivered');

    // Assess
    expect(fn.calls.map((call) => call.data.length)).toEqual([4, 4]);
    expect(fn.calls.flatMap((call) => call.data.map((value) => value[0]))).toEqual([
      '0',
      '1',
      '2',
      '3',
      '4',
      '5',
      '6',
      '7',
    ]);
    for (const size of sizes) expect(size).toBeLessThanOrEqual(6 * 1024 * 1024);
  });
});

describe('function errors', () => {
  it('checkpoints only after success: a failing batch is sent again with the same records', async () => {
    // Prepare
    const streamName = await createTestStream(kinesis, 1);
    const put = await putRecords(kinesis, streamName, makeRecords(4));
    const checkpoints = new RecordingCheckpointStore();
    let checkpointsWhileFailing: number | undefined;
    const fn = recordingInvoker((_, call) => {
      if (call < 2) throw new Error('boom');
      checkpointsWhileFailing = checkpoints.puts.length;
    });

    // Act
    const mapping = await mappings.start({ streamName, invoke: fn.invoke, checkpoints });
    await waitUntil(() => fn.delivered().length === 4 && mapping.isCaughtUp(), 'the batch succeeds');

    // Assess
    expect(indexesOf(fn.calls)).toEqual([range(0, 3), range(0, 3), range(0, 3)]);
    expect(checkpointsWhileFailing).toBe(0);
    expect(checkpoints.puts.map((entry) => entry.sequenceNumber)).toEqual([put[3]?.sequenceNumber]);
    expect(mapping.stats().shards[0]).toMatchObject({ invocations: 3, failedInvocations: 2, recordsDelivered: 4 });
  });

  it('retries forever by default, never passing the failing batch', async () => {
    // Prepare
    const streamName = await createTestStream(kinesis, 1);
    await putRecords(kinesis, streamName, makeRecords(3));
    const fn = recordingInvoker(() => {
      throw new Error('always');
    });

    // Act
    const mapping = await mappings.start({ streamName, invoke: fn.invoke });
    await waitUntil(() => fn.calls.length >= 6, 'six attempts were made');

    // Assess
    expect(new Set(indexesOf(fn.calls).map((indexes) => indexes.join()))).toEqual(new Set(['0,1,2']));
    expect(mapping.stats().shards[0]?.checkpoint).toBeUndefined();
    expect(mapping.isCaughtUp()).toBe(false);
  });

  it('discards a batch after maximumRetryAttempts retries, reports it to onFailure and moves on', async () => {
    // Prepare
    const streamName = await createTestStream(kinesis, 1);
    const put = await putRecords(kinesis, streamName, makeRecords(6));
    const failures: OnFailureRecord[] = [];
    const fn = recordingInvoker((invocation) => {
      if (invocation.data.includes('r1')) throw new Error('poison');
    });

    // Act
    const mapping = await mappings.start({
      streamName,
      invoke: fn.invoke,
      batchSize: 3,
      maximumRetryAttempts: 2,
      onFailure: async (record) => {
        failures.push(record);
      },
      awsRegion: region,
      accountId,
      functionName: 'my-function',
    });
    await waitUntil(() => mapping.isCaughtUp() && fn.delivered().length === 3, 'the second batch is delivered');

    // Assess
    expect(indexesOf(fn.calls)).toEqual([range(0, 2), range(0, 2), range(0, 2), range(3, 5)]);
    expect(failures).toEqual([
      {
        requestContext: {
          requestId: expect.stringMatching(/^[0-9a-f-]{36}$/),
          functionArn: `arn:aws:lambda:${region}:${accountId}:function:my-function`,
          condition: 'RetryAttemptsExhausted',
          approximateInvokeCount: 3,
        },
        responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
        version: '1.0',
        timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        KinesisBatchInfo: {
          shardId: 'shardId-000000000000',
          startingSequenceNumber: put[0]?.sequenceNumber,
          endingSequenceNumber: put[2]?.sequenceNumber,
          approximateArrivalOfFirstRecord: new Date(
            (fn.calls[0]?.event.Records[0]?.kinesis.approximateArrivalTimestamp ?? 0) * 1000,
          ).toISOString(),
          approximateArrivalOfLastRecord: new Date(
            (fn.calls[0]?.event.Records[2]?.kinesis.approximateArrivalTimestamp ?? 0) * 1000,
          ).toISOString(),
          batchSize: 3,
          streamArn: `arn:aws:kinesis:${region}:${accountId}:stream/${streamName}`,
        },
      },
    ]);
    expect(mapping.stats().shards[0]).toMatchObject({
      checkpoint: put[5]?.sequenceNumber,
      recordsDelivered: 3,
      recordsSentToOnFailure: 3,
      invocations: 4,
      failedInvocations: 3,
    });
  });

  it('keeps retrying the on-failure destination until it accepts, then moves on', async () => {
    // Prepare
    const streamName = await createTestStream(kinesis, 1);
    await putRecords(kinesis, streamName, makeRecords(2));
    let destinationCalls = 0;
    const fn = recordingInvoker(() => {
      throw new Error('always');
    });

    // Act
    const mapping = await mappings.start({
      streamName,
      invoke: fn.invoke,
      maximumRetryAttempts: 0,
      onFailure: async () => {
        destinationCalls += 1;
        if (destinationCalls < 3) throw new Error('destination down');
      },
    });
    await waitUntil(() => mapping.isCaughtUp(), 'the batch is discarded');

    // Assess
    expect(destinationCalls).toBe(3);
    expect(fn.calls).toHaveLength(1);
    expect(mapping.stats().shards[0]?.recordsSentToOnFailure).toBe(2);
  });

  it('bisects a failing batch until the bad record is alone; splits use no retries', async () => {
    // Prepare
    const streamName = await createTestStream(kinesis, 1);
    await putRecords(kinesis, streamName, makeRecords(8));
    const failures: OnFailureRecord[] = [];
    const fn = recordingInvoker((invocation) => {
      if (invocation.data.includes('r5')) throw new Error('poison r5');
    });

    // Act
    const mapping = await mappings.start({
      streamName,
      invoke: fn.invoke,
      batchSize: 8,
      bisectBatchOnFunctionError: true,
      maximumRetryAttempts: 1,
      onFailure: async (record) => {
        failures.push(record);
      },
    });
    await waitUntil(() => mapping.isCaughtUp() && fn.delivered().length === 7, 'everything but r5 is delivered');

    // Assess
    expect(indexesOf(fn.calls)).toEqual([range(0, 7), range(0, 3), range(4, 7), [4, 5], [4], [5], [5], [6, 7]]);
    expect(fn.delivered()).toEqual(['r0', 'r1', 'r2', 'r3', 'r4', 'r6', 'r7']);
    expect(failures.map((failure) => [failure.requestContext, failure.KinesisBatchInfo.batchSize])).toEqual([
      [expect.objectContaining({ condition: 'RetryAttemptsExhausted', approximateInvokeCount: 2 }), 1],
    ]);
    expect(failures[0]?.KinesisBatchInfo.startingSequenceNumber).toBe(fn.calls[5]?.sequenceNumbers[0]);
    // Three splits (8 → 4 + 4, 4 → 2 + 2, 2 → 1 + 1); r5 alone fails twice more, as retries.
    expect(mapping.stats().shards[0]).toMatchObject({ bisects: 3, failedInvocations: 5 });
  });

  it('discards records older than maximumRecordAgeSeconds, even while they are being retried', async () => {
    // Prepare: the clock jumps two minutes ahead after the second failure, so the records become too old.
    const streamName = await createTestStream(kinesis, 1);
    const put = await putRecords(kinesis, streamName, makeRecords(3));
    let clockOffsetMs = 0;
    const failures: OnFailureRecord[] = [];
    const fn = recordingInvoker((_, call) => {
      if (call === 1) clockOffsetMs = 120_000;
      throw new Error('always');
    });

    // Act
    const mapping = await mappings.start({
      streamName,
      invoke: fn.invoke,
      maximumRecordAgeSeconds: 60,
      clock: () => Date.now() + clockOffsetMs,
      onFailure: async (record) => {
        failures.push(record);
      },
    });
    await waitUntil(() => mapping.isCaughtUp(), 'the old records are discarded');

    // Assess
    expect(fn.calls).toHaveLength(2);
    expect(failures).toHaveLength(1);
    expect(failures[0]?.requestContext).toMatchObject({ condition: 'RecordAgeExceeded', approximateInvokeCount: 2 });
    expect(failures[0]?.KinesisBatchInfo).toMatchObject({
      startingSequenceNumber: put[0]?.sequenceNumber,
      endingSequenceNumber: put[2]?.sequenceNumber,
      batchSize: 3,
    });
    expect(mapping.stats().shards[0]).toMatchObject({ checkpoint: put[2]?.sequenceNumber, recordsSentToOnFailure: 3 });
  });

  it('never sends records that are already too old when read', async () => {
    // Prepare
    const streamName = await createTestStream(kinesis, 1);
    await putRecords(kinesis, streamName, makeRecords(2));
    const failures: OnFailureRecord[] = [];
    const fn = recordingInvoker();

    // Act
    const mapping = await mappings.start({
      streamName,
      invoke: fn.invoke,
      maximumRecordAgeSeconds: 60,
      clock: () => Date.now() + 61_000,
      onFailure: async (record) => {
        failures.push(record);
      },
    });
    await waitUntil(() => mapping.isCaughtUp(), 'the records are discarded');

    // Assess
    expect(fn.calls).toHaveLength(0);
    expect(failures.map((failure) => failure.requestContext)).toEqual([
      expect.objectContaining({ condition: 'RecordAgeExceeded', approximateInvokeCount: 0 }),
    ]);
  });
});

describe('partial batch responses', () => {
  it('checkpoints before the lowest failed record and sends everything from it again', async () => {
    // Prepare
    const streamName = await createTestStream(kinesis, 1);
    const put = await putRecords(kinesis, streamName, makeRecords(10));
    const checkpoints = new RecordingCheckpointStore();
    const fn = recordingInvoker((invocation, call) =>
      call === 0
        ? {
            batchItemFailures: [
              { itemIdentifier: invocation.sequenceNumbers[6] },
              { itemIdentifier: invocation.sequenceNumbers[3] },
            ],
          }
        : { batchItemFailures: [] },
    );

    // Act
    const mapping = await mappings.start({ streamName, invoke: fn.invoke, reportBatchItemFailures: true, checkpoints });
    await waitUntil(() => mapping.isCaughtUp(), 'the rest of the batch succeeds');

    // Assess
    expect(indexesOf(fn.calls)).toEqual([range(0, 9), range(3, 9)]);
    expect(checkpoints.puts.map((entry) => entry.sequenceNumber)).toEqual([
      put[2]?.sequenceNumber,
      put[9]?.sequenceNumber,
    ]);
    expect(mapping.stats().shards[0]).toMatchObject({ recordsDelivered: 10, failedInvocations: 1, invocations: 2 });
  });

  it('counts a partial failure as a retry: the remainder is discarded when retries run out', async () => {
    // Prepare
    const streamName = await createTestStream(kinesis, 1);
    const put = await putRecords(kinesis, streamName, makeRecords(10));
    const failures: OnFailureRecord[] = [];
    const fn = recordingInvoker(() => ({ batchItemFailures: [{ itemIdentifier: put[3]?.sequenceNumber }] }));

    // Act
    const mapping = await mappings.start({
      streamName,
      invoke: fn.invoke,
      reportBatchItemFailures: true,
      maximumRetryAttempts: 0,
      onFailure: async (record) => {
        failures.push(record);
      },
    });
    await waitUntil(() => mapping.isCaughtUp(), 'the remainder is discarded');

    // Assess
    expect(indexesOf(fn.calls)).toEqual([range(0, 9)]);
    expect(failures.map((failure) => failure.KinesisBatchInfo)).toEqual([
      expect.objectContaining({
        startingSequenceNumber: put[3]?.sequenceNumber,
        endingSequenceNumber: put[9]?.sequenceNumber,
        batchSize: 7,
      }),
    ]);
    expect(mapping.stats().shards[0]).toMatchObject({ recordsDelivered: 3, recordsSentToOnFailure: 7 });
  });

  it('with bisect on, splits at the failed record without using a retry', async () => {
    // Prepare
    const streamName = await createTestStream(kinesis, 1);
    const put = await putRecords(kinesis, streamName, makeRecords(10));
    const failures: OnFailureRecord[] = [];
    const fn = recordingInvoker((_, call) =>
      call === 0 ? { batchItemFailures: [{ itemIdentifier: put[3]?.sequenceNumber }] } : undefined,
    );

    // Act
    const mapping = await mappings.start({
      streamName,
      invoke: fn.invoke,
      reportBatchItemFailures: true,
      bisectBatchOnFunctionError: true,
      maximumRetryAttempts: 0,
      onFailure: async (record) => {
        failures.push(record);
      },
    });
    await waitUntil(() => mapping.isCaughtUp(), 'the remainder succeeds');

    // Assess
    expect(indexesOf(fn.calls)).toEqual([range(0, 9), range(3, 9)]);
    expect(failures).toEqual([]);
    expect(mapping.stats().shards[0]).toMatchObject({ recordsDelivered: 10, bisects: 1 });
  });

  it('fails the whole batch for an empty, null, unknown or misnamed itemIdentifier or a malformed response', async () => {
    // Prepare
    const streamName = await createTestStream(kinesis, 1);
    const put = await putRecords(kinesis, streamName, makeRecords(5));
    const checkpoints = new RecordingCheckpointStore();
    const badResponses: unknown[] = [
      { batchItemFailures: [{ itemIdentifier: '' }] },
      { batchItemFailures: [{ itemIdentifier: null }] },
      { batchItemFailures: [{ itemIdentifier: '123' }] },
      { batchItemFailures: [{ id: put[1]?.sequenceNumber }] },
      { batchItemFailures: 'all' },
      'not an object',
    ];
    const fn = recordingInvoker((_, call) => badResponses[call]);

    // Act
    const mapping = await mappings.start({ streamName, invoke: fn.invoke, reportBatchItemFailures: true, checkpoints });
    await waitUntil(() => mapping.isCaughtUp(), 'the batch finally succeeds');

    // Assess
    expect(indexesOf(fn.calls)).toEqual(Array.from({ length: 7 }, () => range(0, 4)));
    expect(mapping.stats().shards[0]).toMatchObject({ failedInvocations: 6, recordsDelivered: 5 });
    expect(checkpoints.puts.map((entry) => entry.sequenceNumber)).toEqual([put[4]?.sequenceNumber]);
  });

  it('treats an empty or missing batchItemFailures as success', async () => {
    // Prepare
    const streamName = await createTestStream(kinesis, 1);
    await putRecords(kinesis, streamName, makeRecords(6));
    const responses: unknown[] = [{ batchItemFailures: [] }, {}, null];
    const fn = recordingInvoker((_, call) => responses[call]);

    // Act
    const mapping = await mappings.start({
      streamName,
      invoke: fn.invoke,
      reportBatchItemFailures: true,
      batchSize: 2,
    });
    await waitUntil(() => mapping.isCaughtUp() && fn.calls.length === 3, 'all batches succeed');

    // Assess
    expect(indexesOf(fn.calls)).toEqual([range(0, 1), range(2, 3), range(4, 5)]);
    expect(mapping.stats().shards[0]?.failedInvocations).toBe(0);
  });

  it('ignores the response when reportBatchItemFailures is off', async () => {
    // Prepare
    const streamName = await createTestStream(kinesis, 1);
    const put = await putRecords(kinesis, streamName, makeRecords(5));
    const fn = recordingInvoker((invocation) => ({
      batchItemFailures: [{ itemIdentifier: invocation.sequenceNumbers[2] }],
    }));

    // Act
    const mapping = await mappings.start({ streamName, invoke: fn.invoke });
    await waitUntil(() => mapping.isCaughtUp(), 'the batch is done');

    // Assess
    expect(indexesOf(fn.calls)).toEqual([range(0, 4)]);
    expect(mapping.stats().shards[0]).toMatchObject({ checkpoint: put[4]?.sequenceNumber, failedInvocations: 0 });
  });
});

describe('configuration', () => {
  it.each([
    [{ batchSize: 0 }, 'batchSize 0 must be an integer from 1 to 10000'],
    [{ batchSize: 10_001 }, 'batchSize 10001 must be an integer from 1 to 10000'],
    [{ maxBatchingWindowSeconds: 301 }, 'maxBatchingWindowSeconds 301 must be an integer from 0 to 300'],
    [{ parallelizationFactor: 11 }, 'parallelizationFactor 11 must be an integer from 1 to 10'],
    [{ maximumRetryAttempts: -2 }, 'maximumRetryAttempts -2 must be -1 (no limit) or an integer from 0 to 10000'],
    [
      { maximumRecordAgeSeconds: 59 },
      'maximumRecordAgeSeconds 59 must be -1 (no limit) or an integer from 60 to 604800',
    ],
    [{ startingPosition: 'AT_TIMESTAMP' as const }, 'startingPositionTimestamp must be a valid Date with AT_TIMESTAMP'],
  ])('rejects %o', (options, message) => {
    // Prepare
    const create = (): KinesisEventSourceMapping =>
      new KinesisEventSourceMapping({ kinesis, streamName: 'any', invoke: async () => undefined, ...options });

    // Act / Assess
    expect(create).toThrow(EventSourceMappingConfigError);
    expect(create).toThrow(message);
  });
});
