import type { KinesisClient } from '@aws-sdk/client-kinesis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createKinesisClient } from '../../local/aws-clients.js';
import type { ShardLag } from '../../local/event-source-mapping/index.js';
import { createTestStream, useEmulators } from '../helpers/emulators.js';
import { delay, makeRecords, mappingFactory, putRecords, recordingInvoker } from './event-source-mapping.support.js';

const emulators = useEmulators({ dynamodb: false });
let kinesis: KinesisClient;
const mappings = mappingFactory(() => kinesis);
const RECORDS = 600;
/** GetRecords slower than the function: the mapping holds nothing between a batch's end and the next read. */
const GET_RECORDS_DELAY_MS = 150;
const PROGRESS_DEADLINE_MS = 30_000;

beforeAll(() => {
  kinesis = createKinesisClient(emulators().kinesisEndpoint);
});
afterEach(async () => {
  await mappings.stopAll();
});
afterAll(() => {
  kinesis.destroy();
});

/** A client whose GetRecords answers only after a delay, as a loaded or remote Kinesis does. */
function slowReads(endpoint: string): KinesisClient {
  const client = createKinesisClient(endpoint);
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'GetRecordsCommand') await delay(GET_RECORDS_DELAY_MS);
      return next(args);
    },
    { step: 'initialize', name: 'slowGetRecords' },
  );
  return client;
}

describe("a shard mapping's lag during a backlog (docs/lag.md)", () => {
  it('stays above 0 between batches while records wait, where the oldest-pending age reads 0', async () => {
    // Arrange: the whole backlog in the stream before the mapping starts; a fast function.
    const streamName = await createTestStream(kinesis, 1);
    await putRecords(kinesis, streamName, makeRecords(RECORDS));
    const fn = recordingInvoker();
    const reader = slowReads(emulators().kinesisEndpoint);
    const samples: { delivered: number; lag: ShardLag }[] = [];

    // Act
    const mapping = await mappings.start({ kinesis: reader, streamName, invoke: fn.invoke, batchSize: 20 });
    let lastProgress = Date.now();
    let delivered = 0;
    for (;;) {
      const [shard] = mapping.stats().shards;
      if (shard !== undefined) {
        samples.push({ delivered: shard.recordsDelivered, lag: shard.lag });
        if (shard.recordsDelivered > delivered) {
          delivered = shard.recordsDelivered;
          lastProgress = Date.now();
        }
        if (delivered >= RECORDS && shard.lag.lagMs === 0) break;
      }
      if (Date.now() - lastProgress > PROGRESS_DEADLINE_MS) throw new Error(`no progress at ${delivered}/${RECORDS}`);
      await delay(5);
    }
    reader.destroy();

    // Assess
    const waiting = samples.filter((s) => s.delivered < RECORDS);
    const oldZeros = waiting.filter((s) => s.lag.iteratorAgeMs === 0).length;
    console.log(`${waiting.length} samples while records waited; the oldest-pending age read 0 in ${oldZeros}`);
    expect(waiting.length).toBeGreaterThan(20);
    // The finding of issue 17, reproduced: between batches the mapping holds nothing and that age reads 0.
    expect(oldZeros).toBeGreaterThan(0);
    for (const s of waiting) expect(s.lag.lagMs, `at ${s.delivered} delivered`).toBeGreaterThan(0);
    expect(samples.at(-1)?.lag.lagMs).toBe(0);
    expect(fn.delivered()).toHaveLength(RECORDS);
  });
});
