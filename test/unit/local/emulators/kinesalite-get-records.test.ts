import { createRequire } from 'node:module';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  type GetRecordsOutput,
  getRecords,
  type KinesaliteStore,
} from '../../../../local/emulators/kinesalite/get-records.js';

const require = createRequire(import.meta.url);

type Action = (store: KinesaliteStore, data: object, callback: (error: Error | null, output?: unknown) => void) => void;
type Batch = (ops: unknown, options: unknown, callback: (error?: Error) => void) => void;

const db = require('kinesalite/db') as { create(options: object): KinesaliteStore };
const createStream = require('kinesalite/actions/createStream') as Action;
const getShardIterator = require('kinesalite/actions/getShardIterator') as Action;
const putRecords = require('kinesalite/actions/putRecords') as Action;

/** kinesalite's own GetRecords action, loaded beside the fixed one whatever the require cache holds. */
function originalGetRecords(): Action {
  const file = require.resolve('kinesalite/actions/getRecords');
  const cached = require.cache[file];
  delete require.cache[file];
  try {
    return require(file) as Action;
  } finally {
    if (cached !== undefined) require.cache[file] = cached;
  }
}

const call = <T>(action: Action, store: KinesaliteStore, data: object) =>
  new Promise<T>((resolve, reject) =>
    action(store, data, (error, output) => (error ? reject(error) : resolve(output as T))),
  );

/**
 * The race the fix closes: PutRecords numbers a record by the clock, then writes the stream's
 * metadata, then the record. An empty GetRecords that runs in between, a second later by the clock,
 * must not move its iterator past the record still being written.
 */
async function putDuringEmptyRead(read: Action): Promise<{ first: GetRecordsOutput; second: GetRecordsOutput }> {
  const start = Date.now();
  const clock = vi.spyOn(Date, 'now').mockReturnValue(start);
  const store = db.create({ createStreamMs: 0, deleteStreamMs: 0, updateStreamMs: 0, shardLimit: 10 });
  await call(createStream, store, { StreamName: 'clicks', ShardCount: 1 });
  await new Promise((resolve) => setTimeout(resolve, 10)); // ACTIVE after createStreamMs
  const { ShardIterator } = await call<{ ShardIterator: string }>(getShardIterator, store, {
    StreamName: 'clicks',
    ShardId: 'shardId-000000000000',
    ShardIteratorType: 'TRIM_HORIZON',
  });

  // The record's write waits until the read is over.
  // PutRecords writes its records with batch(ops, options, callback).
  const streamDb = store.getStreamDb('clicks') as unknown as { batch: Batch };
  const write = streamDb.batch.bind(streamDb);
  let release = () => {};
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  let numbered = () => {};
  const writing = new Promise<void>((resolve) => {
    numbered = resolve;
  });
  streamDb.batch = (ops: unknown, options: unknown, callback: (error?: Error) => void) => {
    numbered();
    void released.then(() => write(ops, options, callback));
  };
  const put = call(putRecords, store, {
    StreamName: 'clicks',
    Records: [{ PartitionKey: 'clicks.jsonl:1', Data: Buffer.from('{"page":"/page/7"}').toString('base64') }],
  });
  await writing;

  clock.mockReturnValue(start + 2_000);
  const first = await call<GetRecordsOutput>(read, store, { ShardIterator });
  release();
  await put;
  clock.mockReturnValue(start + 3_000);
  const second = await call<GetRecordsOutput>(read, store, { ShardIterator: first.NextShardIterator });
  return { first, second };
}

describe("the embedded Kinesis' GetRecords (kinesalite with Eddy's fix)", () => {
  afterEach(() => vi.restoreAllMocks());

  it('an empty read does not move past a record that is being written: the next read returns it', async () => {
    const { first, second } = await putDuringEmptyRead(getRecords as unknown as Action);
    expect(first.Records).toEqual([]);
    expect(second.Records.map((record) => record.PartitionKey)).toEqual(['clicks.jsonl:1']);
  });

  it('the embedded stack serves the fixed action', async () => {
    const { isFixedGetRecords } = await import('../../../../local/emulators/kinesalite/load-kinesalite.js');
    expect(isFixedGetRecords(require('kinesalite/actions/getRecords'))).toBe(true);
    expect(isFixedGetRecords(originalGetRecords())).toBe(false);
  });

  it("kinesalite 3.3.3's own action skips that record (remove the fix once it does not)", async () => {
    const { first, second } = await putDuringEmptyRead(originalGetRecords());
    expect(first.Records).toEqual([]);
    expect(second.Records).toEqual([]);
  });

  it('answers MillisBehindLatest as time behind the newest record: > 0 while records remain, 0 at the tip', async () => {
    const start = Date.now();
    const clock = vi.spyOn(Date, 'now').mockReturnValue(start);
    const store = db.create({ createStreamMs: 0, deleteStreamMs: 0, updateStreamMs: 0, shardLimit: 10 });
    await call(createStream, store, { StreamName: 'lag', ShardCount: 1 });
    await new Promise((resolve) => setTimeout(resolve, 10));
    const put = (at: number, count: number) => {
      clock.mockReturnValue(at);
      return call(putRecords, store, {
        StreamName: 'lag',
        Records: Array.from({ length: count }, (_, i) => ({ PartitionKey: `k${i}`, Data: 'e30=' })),
      });
    };
    // Three bursts: 5 records at start, 5 a second later, 5 three seconds after that.
    await put(start, 5);
    await put(start + 1_000, 5);
    await put(start + 4_000, 5);
    clock.mockReturnValue(start + 10_000);
    const { ShardIterator } = await call<{ ShardIterator: string }>(getShardIterator, store, {
      StreamName: 'lag',
      ShardId: 'shardId-000000000000',
      ShardIteratorType: 'TRIM_HORIZON',
    });
    const reads: number[] = [];
    let iterator: string | undefined = ShardIterator;
    for (let i = 0; i < 6 && iterator !== undefined; i += 1) {
      const output: GetRecordsOutput = await call<GetRecordsOutput>(getRecords as unknown as Action, store, {
        ShardIterator: iterator,
        Limit: 3,
      });
      reads.push(output.MillisBehindLatest);
      iterator = output.NextShardIterator;
    }
    // Reads of 3: records 1-3 (burst 1), 4-6 (ends in burst 2), 7-9, 10-12 (burst 3), 13-15 (the tip), none.
    expect(reads).toEqual([4_000, 3_000, 3_000, 1, 0, 0]);
  });
});
