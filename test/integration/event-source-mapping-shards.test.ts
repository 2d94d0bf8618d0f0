import {
  ExpiredIteratorException,
  type KinesisClient,
  ListShardsCommand,
  MergeShardsCommand,
  ProvisionedThroughputExceededException,
  SplitShardCommand,
} from '@aws-sdk/client-kinesis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createKinesisClient } from '../../local/aws-clients.js';
import {
  compareSequenceNumbers,
  type KinesisEventSourceMapping,
  laneOf,
} from '../../local/event-source-mapping/index.js';
import { createTestStream, useEmulators, waitForStreamActive, waitUntil } from '../helpers/emulators.js';
import {
  deferred,
  delay,
  type Invocation,
  makeRecords,
  mappingFactory,
  putRecords,
  RecordingCheckpointStore,
  recordingInvoker,
} from './event-source-mapping.support.js';

const emulators = useEmulators({ dynamodb: false });
let kinesis: KinesisClient;
const mappings = mappingFactory(() => kinesis);

beforeAll(() => {
  kinesis = createKinesisClient(emulators().kinesisEndpoint);
});
afterEach(async () => {
  await mappings.stopAll();
});
afterAll(() => {
  kinesis.destroy();
});

/** `key-<k>` records numbered per key: `<key>#<n>`, so per-key order can be checked. */
function keyedRecords(count: number, keys: number, firstNumber: Map<string, number>): { key: string; data: string }[] {
  return Array.from({ length: count }, (_, index) => {
    const key = `key-${index % keys}`;
    const number = firstNumber.get(key) ?? 0;
    firstNumber.set(key, number + 1);
    return { key, data: `${key}#${number}` };
  });
}

/** For each key, the record numbers in the order the function received them. */
function numbersByKey(data: readonly string[]): Map<string, number[]> {
  const byKey = new Map<string, number[]>();
  for (const value of data) {
    const [key = '', number = ''] = value.split('#');
    byKey.set(key, [...(byKey.get(key) ?? []), Number(number)]);
  }
  return byKey;
}

function firstAndLastCall(calls: readonly Invocation[], shardId: string): { first: number; last: number } {
  const indexes = calls.flatMap((call, index) => (call.shardId === shardId ? [index] : []));
  return { first: indexes[0] ?? -1, last: indexes.at(-1) ?? -1 };
}

describe('resharding', () => {
  it('follows a split and a merge made while running: every record, children after parents, key order kept', async () => {
    // Prepare
    const streamName = await createTestStream(kinesis, 1);
    const counters = new Map<string, number>();
    const fn = recordingInvoker(async () => {
      await delay(2);
    });
    const mapping = await mappings.start({ streamName, invoke: fn.invoke, batchSize: 7 });

    // Act
    await putRecords(kinesis, streamName, keyedRecords(60, 6, counters));
    await kinesis.send(
      new SplitShardCommand({
        StreamName: streamName,
        ShardToSplit: 'shardId-000000000000',
        NewStartingHashKey: (2n ** 127n).toString(),
      }),
    );
    await waitForStreamActive(kinesis, streamName);
    await putRecords(kinesis, streamName, keyedRecords(60, 6, counters));
    await kinesis.send(
      new MergeShardsCommand({
        StreamName: streamName,
        ShardToMerge: 'shardId-000000000001',
        AdjacentShardToMerge: 'shardId-000000000002',
      }),
    );
    await waitForStreamActive(kinesis, streamName);
    await putRecords(kinesis, streamName, keyedRecords(60, 6, counters));
    await waitUntil(() => fn.delivered().length >= 180 && mapping.isCaughtUp(), 'all 180 records are delivered', {
      progress: () => fn.delivered().length,
    });

    // Assess
    const { Shards: shards = [] } = await kinesis.send(new ListShardsCommand({ StreamName: streamName }));
    expect(shards.map((shard) => [shard.ShardId, shard.ParentShardId, shard.AdjacentParentShardId])).toEqual([
      ['shardId-000000000000', undefined, undefined],
      ['shardId-000000000001', 'shardId-000000000000', undefined],
      ['shardId-000000000002', 'shardId-000000000000', undefined],
      ['shardId-000000000003', 'shardId-000000000001', 'shardId-000000000002'],
    ]);
    expect(fn.delivered()).toHaveLength(180);
    const expectedNumbers = Array.from({ length: 30 }, (_, index) => index);
    const byKey = numbersByKey(fn.delivered());
    expect([...byKey.keys()].sort()).toEqual(['key-0', 'key-1', 'key-2', 'key-3', 'key-4', 'key-5']);
    for (const numbers of byKey.values()) expect(numbers).toEqual(expectedNumbers);
    const calls = (shardId: string) => firstAndLastCall(fn.calls, shardId);
    for (const [child, parents] of [
      ['shardId-000000000001', ['shardId-000000000000']],
      ['shardId-000000000002', ['shardId-000000000000']],
      ['shardId-000000000003', ['shardId-000000000001', 'shardId-000000000002']],
    ] as const) {
      expect(calls(child).first).toBeGreaterThan(-1);
      for (const parent of parents) {
        expect(calls(child).first).toBeGreaterThan(calls(parent).last);
        const parentEnd = fn.calls[calls(parent).last]?.endedAtMs ?? Number.POSITIVE_INFINITY;
        expect(fn.calls[calls(child).first]?.startedAtMs).toBeGreaterThanOrEqual(parentEnd);
      }
    }
    expect(mapping.stats().shards.map((shard) => [shard.shardId, shard.state, shard.parentShardIds])).toEqual([
      ['shardId-000000000000', 'finished', []],
      ['shardId-000000000001', 'finished', ['shardId-000000000000']],
      ['shardId-000000000002', 'finished', ['shardId-000000000000']],
      ['shardId-000000000003', 'polling', ['shardId-000000000001', 'shardId-000000000002']],
    ]);
  });

  it('holds a child back while its parent is still retrying a batch', async () => {
    // Prepare
    const streamName = await createTestStream(kinesis, 1);
    await putRecords(kinesis, streamName, makeRecords(3));
    let parentFails = true;
    const fn = recordingInvoker((invocation) => {
      if (invocation.shardId === 'shardId-000000000000' && parentFails) throw new Error('parent batch fails');
    });
    const mapping = await mappings.start({ streamName, invoke: fn.invoke });
    await kinesis.send(
      new SplitShardCommand({
        StreamName: streamName,
        ShardToSplit: 'shardId-000000000000',
        NewStartingHashKey: (2n ** 127n).toString(),
      }),
    );
    await waitForStreamActive(kinesis, streamName);
    await putRecords(kinesis, streamName, makeRecords(6, undefined, 3));

    // Act
    await waitUntil(() => fn.calls.length >= 5, 'the parent batch was retried a few times', {
      progress: () => fn.calls.length,
    });
    const shardsWhileFailing = mapping.stats().shards.map((shard) => [shard.shardId, shard.state]);
    const childCallsWhileFailing = fn.calls.filter((call) => call.shardId !== 'shardId-000000000000').length;
    parentFails = false;
    await waitUntil(() => fn.delivered().length === 9 && mapping.isCaughtUp(), 'all records are delivered', {
      progress: () => fn.delivered().length,
    });

    // Assess
    expect(childCallsWhileFailing).toBe(0);
    expect(shardsWhileFailing).toEqual([
      ['shardId-000000000000', 'polling'],
      ['shardId-000000000001', 'waiting-for-parents'],
      ['shardId-000000000002', 'waiting-for-parents'],
    ]);
    expect(fn.delivered().slice(0, 3)).toEqual(['r0', 'r1', 'r2']);
    expect(fn.delivered().slice(3).sort()).toEqual(['r3', 'r4', 'r5', 'r6', 'r7', 'r8']);
  });
});

describe('parallelization factor', () => {
  it('runs up to N batches of a shard at once, one lane per partition key, in key order', async () => {
    // Prepare
    const streamName = await createTestStream(kinesis, 1);
    await putRecords(kinesis, streamName, keyedRecords(120, 12, new Map()));
    let inFlight = 0;
    let maxInFlight = 0;
    const fn = recordingInvoker(async () => {
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await delay(30);
      inFlight -= 1;
    });

    // Act
    const mapping = await mappings.start({ streamName, invoke: fn.invoke, batchSize: 5, parallelizationFactor: 4 });
    await waitUntil(() => fn.delivered().length === 120 && mapping.isCaughtUp(), 'all records are delivered', {
      progress: () => fn.delivered().length,
    });

    // Assess
    expect(maxInFlight).toBeGreaterThan(1);
    expect(maxInFlight).toBeLessThanOrEqual(4);
    for (const call of fn.calls) expect(new Set(call.keys.map((key) => laneOf(key, 4))).size).toBe(1);
    const expected = Array.from({ length: 10 }, (_, index) => index);
    const byKey = numbersByKey(fn.delivered());
    expect(byKey.size).toBe(12);
    for (const numbers of byKey.values()) expect(numbers).toEqual(expected);
    for (const call of fn.calls) {
      const sorted = [...call.sequenceNumbers].sort(compareSequenceNumbers);
      expect(call.sequenceNumbers).toEqual(sorted);
    }
  });

  it('never checkpoints past a record a lane has not finished', async () => {
    // Prepare: key-1 fails a few times in its lane while the other lanes go ahead.
    const streamName = await createTestStream(kinesis, 1);
    const put = await putRecords(kinesis, streamName, keyedRecords(40, 8, new Map()));
    const firstKey1 = put.find((record) => record.key === 'key-1')?.sequenceNumber ?? '';
    const checkpoints = new RecordingCheckpointStore();
    let failuresLeft = 4;
    const seenWhileFailing: { checkpoint: string | undefined; deliveredAfterKey1: number }[] = [];
    let mapping: KinesisEventSourceMapping | undefined;
    const fn = recordingInvoker(async (invocation) => {
      if (invocation.keys.includes('key-1') && failuresLeft > 0) {
        failuresLeft -= 1;
        // Give the other lanes time to go ahead before looking at the checkpoint.
        await delay(40);
        seenWhileFailing.push({
          checkpoint: mapping?.stats().shards[0]?.checkpoint,
          deliveredAfterKey1: fn.calls.filter((call) => call.endedAtMs !== undefined && !call.keys.includes('key-1'))
            .length,
        });
        throw new Error('key-1 fails');
      }
    });

    // Act
    mapping = await mappings.start({
      streamName,
      invoke: fn.invoke,
      batchSize: 5,
      parallelizationFactor: 4,
      checkpoints,
    });
    await waitUntil(() => fn.delivered().length === 40 && mapping?.isCaughtUp() === true, 'all records are delivered', {
      progress: () => fn.delivered().length,
    });

    // Assess
    expect(seenWhileFailing).toHaveLength(4);
    expect(seenWhileFailing.at(-1)?.deliveredAfterKey1).toBeGreaterThan(0);
    for (const { checkpoint } of seenWhileFailing) {
      if (checkpoint !== undefined) expect(compareSequenceNumbers(checkpoint, firstKey1)).toBeLessThan(0);
    }
    const persisted = checkpoints.puts.map((entry) => entry.sequenceNumber);
    expect(persisted.at(-1)).toBe(put.at(-1)?.sequenceNumber);
    expect([...persisted].sort(compareSequenceNumbers)).toEqual(persisted);
    expect(fn.delivered()).toHaveLength(40);
    expect(new Set(fn.delivered())).toEqual(new Set(put.map((record) => record.data)));
  });
});

describe('life cycle', () => {
  it('stop() waits for the invocation in flight, checkpoints it, and invokes nothing after', async () => {
    // Prepare
    const streamName = await createTestStream(kinesis, 1);
    const put = await putRecords(kinesis, streamName, makeRecords(3));
    const release = deferred();
    const fn = recordingInvoker(() => release.promise);
    const checkpoints = new RecordingCheckpointStore();
    const mapping = await mappings.start({ streamName, invoke: fn.invoke, checkpoints });
    await waitUntil(() => fn.calls.length === 1, 'the batch is in flight');

    // Act
    let stopped = false;
    const stopping = mapping.stop().then(() => {
      stopped = true;
    });
    await delay(150);
    const stoppedBeforeRelease = stopped;
    release.resolve();
    await stopping;
    await putRecords(kinesis, streamName, makeRecords(2, undefined, 3));
    await delay(150);

    // Assess
    expect(stoppedBeforeRelease).toBe(false);
    expect(fn.calls).toHaveLength(1);
    expect(checkpoints.puts.map((entry) => entry.sequenceNumber)).toEqual([put[2]?.sequenceNumber]);
    expect(mapping.stats().running).toBe(false);
  });

  it('a new mapping with the same checkpoint store resumes after the checkpoint', async () => {
    // Prepare
    const streamName = await createTestStream(kinesis, 1);
    await putRecords(kinesis, streamName, makeRecords(4));
    const checkpoints = new RecordingCheckpointStore();
    const first = recordingInvoker();
    const firstMapping = await mappings.start({ streamName, invoke: first.invoke, checkpoints });
    await waitUntil(() => firstMapping.isCaughtUp(), 'the first mapping is caught up');
    await firstMapping.stop();
    await putRecords(kinesis, streamName, makeRecords(2, undefined, 4));
    const second = recordingInvoker();

    // Act
    const secondMapping = await mappings.start({ streamName, invoke: second.invoke, checkpoints });
    await waitUntil(
      () => secondMapping.isCaughtUp() && second.delivered().length === 2,
      'the new records are delivered',
    );

    // Assess
    expect(first.delivered()).toEqual(['r0', 'r1', 'r2', 'r3']);
    expect(second.delivered()).toEqual(['r4', 'r5']);
  });

  it('LATEST skips records written before the mapping started', async () => {
    // Prepare
    const streamName = await createTestStream(kinesis, 2);
    await putRecords(kinesis, streamName, makeRecords(6));
    const fn = recordingInvoker();
    const mapping = await mappings.start({ streamName, invoke: fn.invoke, startingPosition: 'LATEST' });

    // Act
    await putRecords(kinesis, streamName, makeRecords(4, undefined, 6));
    await waitUntil(() => fn.delivered().length === 4 && mapping.isCaughtUp(), 'the new records are delivered', {
      progress: () => fn.delivered().length,
    });

    // Assess
    expect(fn.delivered().sort()).toEqual(['r6', 'r7', 'r8', 'r9']);
  });

  it('AT_TIMESTAMP starts at the first record that arrived at or after the timestamp', async () => {
    // Prepare
    const streamName = await createTestStream(kinesis, 1);
    await putRecords(kinesis, streamName, makeRecords(3));
    await delay(20);
    const timestamp = new Date();
    await delay(5);
    const put = await putRecords(kinesis, streamName, makeRecords(2, undefined, 3));
    const fn = recordingInvoker();

    // Act
    const mapping = await mappings.start({
      streamName,
      invoke: fn.invoke,
      startingPosition: 'AT_TIMESTAMP',
      startingPositionTimestamp: timestamp,
    });
    await waitUntil(() => fn.delivered().length === 2 && mapping.isCaughtUp(), 'the later records are delivered', {
      progress: () => fn.delivered().length,
    });

    // Assess
    expect(fn.delivered()).toEqual(['r3', 'r4']);
    expect(mapping.stats().shards[0]?.checkpoint).toBe(put[1]?.sequenceNumber);
  });
});

describe('Kinesis errors', () => {
  it('re-obtains an expired iterator after the last record read and backs off when throttled', async () => {
    // Prepare: a second client whose GetRecords expires the iterator once and is throttled twice.
    const streamName = await createTestStream(kinesis, 1);
    await putRecords(kinesis, streamName, makeRecords(4));
    const flaky = createKinesisClient(emulators().kinesisEndpoint);
    const script = ['ok', 'expired', 'throttled', 'throttled'];
    const iteratorRequests: unknown[] = [];
    flaky.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'GetShardIteratorCommand') iteratorRequests.push(args.input);
        if (context.commandName === 'GetRecordsCommand') {
          const step = script.shift();
          const $metadata = {};
          if (step === 'expired') throw new ExpiredIteratorException({ message: 'Iterator expired', $metadata });
          if (step === 'throttled') {
            throw new ProvisionedThroughputExceededException({ message: 'Rate exceeded', $metadata });
          }
        }
        return next(args);
      },
      { step: 'initialize', name: 'flakyGetRecords' },
    );
    const fn = recordingInvoker();
    const errors: string[] = [];

    // Act
    const mapping = await mappings.start({
      streamName,
      kinesis: flaky,
      invoke: fn.invoke,
      batchSize: 2,
      onInternalError: (error) => errors.push((error as Error).name),
    });
    await putRecords(kinesis, streamName, makeRecords(2, undefined, 4));
    await waitUntil(() => fn.delivered().length === 6 && mapping.isCaughtUp(), 'all records are delivered', {
      progress: () => fn.delivered().length,
    });
    flaky.destroy();

    // Assess
    expect(fn.delivered()).toEqual(['r0', 'r1', 'r2', 'r3', 'r4', 'r5']);
    expect(errors).toEqual(['ProvisionedThroughputExceededException', 'ProvisionedThroughputExceededException']);
    expect(iteratorRequests).toEqual([
      expect.objectContaining({ ShardIteratorType: 'TRIM_HORIZON' }),
      expect.objectContaining({
        ShardIteratorType: 'AFTER_SEQUENCE_NUMBER',
        StartingSequenceNumber: fn.calls[0]?.sequenceNumbers[1],
      }),
    ]);
  });
});
