import { PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { LocalPipeline } from '../../local/runner/local-pipeline.js';
import { pipeline } from '../../shared/index.js';
import { count, tumbling, tumblingProcessingTime } from '../../shared/windows/index.js';
import { waitUntil } from '../helpers/emulators.js';

const Event = z.object({ key: z.string(), ts: z.number() });

interface Result {
  key: string;
  windowStart: number;
  windowEnd: number;
  value: number;
}

/** A source of 2 shards into a 10 s tumbling count: with data on shard 0 only, shard 1 sends no watermark. */
function counts(idleTimeout: '1s' | undefined) {
  const p = pipeline(idleTimeout === undefined ? 'held' : 'idle', { eventSource: { maxBatchingWindowSeconds: 0 } });
  p.source('events', {
    schema: Event,
    eventTime: (e) => e.ts,
    maxOutOfOrderness: 0,
    shards: 2,
    ...(idleTimeout !== undefined && { idleTimeout }),
  })
    .keyBy((e) => e.key, { shards: 1 })
    .window(tumbling('10s'))
    .aggregate(count())
    .sink('counts');
  return p;
}

/** Event times 0 s to 45 s, two keys, all routed to shard 0 of the source. */
async function putIntoShardZero(local: LocalPipeline): Promise<void> {
  const events = Array.from({ length: 20 }, (_, i) => ({ key: i % 2 === 0 ? 'a' : 'b', ts: i * 2500 }));
  const response = await local.kinesis.send(
    new PutRecordsCommand({
      StreamName: local.physicalName('events'),
      Records: events.map((e) => ({ PartitionKey: e.key, ExplicitHashKey: '0', Data: Buffer.from(JSON.stringify(e)) })),
    }),
  );
  expect(response.FailedRecordCount ?? 0).toBe(0);
  expect(new Set(response.Records?.map((r) => r.ShardId))).toEqual(new Set(['shardId-000000000000']));
}

async function results(local: LocalPipeline): Promise<Result[]> {
  return (await local.readStream('counts')).map((r) => JSON.parse(Buffer.from(r.data).toString('utf8')) as Result);
}

describe('idle source shards on the local stack', () => {
  it('fires windows with no end of input once the empty shard is marked idle', async () => {
    // Prepare
    const local = await LocalPipeline.start({ pipeline: counts('1s'), idleCheckIntervalMs: 250 });
    try {
      // Act
      await putIntoShardZero(local);
      await waitUntil(async () => (await results(local)).length >= 8, 'the windows before 40 s fired', {
        timeoutMs: 30_000,
        intervalMs: 200,
        progress: () => local.status().map((s) => s.stats),
      });

      // Assess: the watermark is shard 0's highest event time, 47.5 s: [40 s, 50 s) stays open.
      const fired = (await results(local)).map((r) => `${r.key} ${r.windowStart}-${r.windowEnd} ${r.value}`).sort();
      expect(fired).toEqual([
        'a 0-10000 2',
        'a 10000-20000 2',
        'a 20000-30000 2',
        'a 30000-40000 2',
        'b 0-10000 2',
        'b 10000-20000 2',
        'b 20000-30000 2',
        'b 30000-40000 2',
      ]);
      expect(local.failedBatches).toEqual([]);
    } finally {
      await local.stop();
    }
  });

  it('(control) fires nothing in the same time when the source has no idle timeout', async () => {
    const local = await LocalPipeline.start({ pipeline: counts(undefined), idleCheckIntervalMs: 250 });
    try {
      await putIntoShardZero(local);
      // Shard 0's records reached the window stage: only the silent shard 1 holds the watermark back.
      await waitUntil(() => local.status().every((s) => s.stats.invocations > 0), 'every stage ran', {
        timeoutMs: 30_000,
        progress: () => local.status().map((s) => s.stats),
      });
      await new Promise((resolve) => setTimeout(resolve, 4000));

      expect(await results(local)).toEqual([]);
    } finally {
      await local.stop();
    }
  });
});

describe('processing-time windows on the local stack', () => {
  it('fire when their time has passed although no record comes after them (clock ticks)', async () => {
    // Prepare: 1 s windows on the clock; every record is put at once, then the stream is quiet.
    const p = pipeline('clock', { eventSource: { maxBatchingWindowSeconds: 0 } });
    p.source('events', { schema: Event })
      .keyBy((e) => e.key, { shards: 2 })
      .window(tumblingProcessingTime('1s'))
      .aggregate(count())
      .sink('counts');
    const local = await LocalPipeline.start({ pipeline: p, idleCheckIntervalMs: 250 });
    try {
      const events = Array.from({ length: 30 }, (_, i) => ({ key: `k${i % 3}`, ts: i }));
      await local.kinesis.send(
        new PutRecordsCommand({
          StreamName: local.physicalName('events'),
          Records: events.map((e) => ({ PartitionKey: e.key, Data: Buffer.from(JSON.stringify(e)) })),
        }),
      );

      // Act: nothing more is put; only the clock's ticks reach the window stage.
      // Every record ends in a fired window or on the late output. Ticks are invocations, so they are
      // not progress: the wait fails when no record was counted, went late or passed the source
      // stage for 60 s.
      const counted = async () => (await results(local)).reduce((sum, r) => sum + r.value, 0);
      const late = async () => (await local.readStream('clock-window-1-late')).length;
      await waitUntil(async () => (await counted()) + (await late()) >= 30, 'every record counted in a fired window', {
        timeoutMs: 60_000,
        intervalMs: 200,
        progress: async () => [await counted(), await late(), local.status()[0]?.stats],
      });
      // A stage reading its shard late (a loaded machine) must not call its own records late.
      expect(await late()).toBe(0);

      // Assess: every record once, in windows that ended; no window fired before its end.
      const fired = await results(local);
      expect(fired.reduce((sum, r) => sum + r.value, 0)).toBe(30);
      expect(new Set(fired.map((r) => r.key))).toEqual(new Set(['k0', 'k1', 'k2']));
      expect(fired.every((r) => r.windowEnd - r.windowStart === 1000)).toBe(true);
      expect(local.failedBatches).toEqual([]);
    } finally {
      await local.stop();
    }
  });
});
