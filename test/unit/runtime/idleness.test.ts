import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { pipeline } from '../../../shared/index.js';
import { IdlenessCheck, type LatestArrival } from '../../../shared/runtime/idleness.js';
import { MemoryRecordWriter } from '../../../shared/runtime/io/memory-record-writer.js';
import { UniformShardDirectory } from '../../../shared/runtime/io/shard-directory.js';
import { CONTROL_PARTITION_KEY, TICK_DATA } from '../../../shared/runtime/watermark-records.js';
import { count, tumbling, tumblingProcessingTime } from '../../../shared/windows/index.js';

const Click = z.object({ page: z.string(), ts: z.number() });

/** Two sources of 2 shards, each keyed into a windowed stage: only `clicks` has an idle timeout. */
function twoSources() {
  const p = pipeline('idle', { defaultShards: 2 });
  p.source('clicks', { schema: Click, eventTime: (c) => c.ts, idleTimeout: '10s' })
    .keyBy((c) => c.page, { name: 'by-page', shards: 3 })
    .window(tumbling('1m'))
    .aggregate(count())
    .sink('clicks-per-page');
  p.source('views', { schema: Click, eventTime: (c) => c.ts })
    .keyBy((c) => c.page, { name: 'views-by-page', shards: 2 })
    .window(tumbling('1m'))
    .aggregate(count())
    .sink('views-per-page');
  return p;
}

/** Answers from a fixed set of `<stream>/<shard>` that took a record recently, and remembers the questions. */
class FakeArrivals implements LatestArrival {
  readonly asked: { stream: string; shardId: string; since: Date }[] = [];
  constructor(private readonly active: ReadonlySet<string>) {}

  async latestArrival(stream: string, shardId: string, since: Date): Promise<boolean> {
    this.asked.push({ stream, shardId, since });
    return this.active.has(`${stream}/${shardId}`);
  }
}

function setUp(active: string[]) {
  const p = twoSources();
  const shards = new UniformShardDirectory(new Map(p.plan().streams.map((s) => [s.name, s.shardCount])));
  const arrivals = new FakeArrivals(new Set(active));
  const writer = new MemoryRecordWriter();
  const check = new IdlenessCheck({ pipeline: p, arrivals, shards, writer });
  return { p, shards, arrivals, writer, check };
}

const shard = (i: number) => `shardId-${String(i).padStart(12, '0')}`;

describe('IdlenessCheck', () => {
  it('marks an idle source shard on every shard of the shuffle target, and leaves an active one alone', async () => {
    // Prepare
    const { p, shards, writer, check } = setUp([`clicks/${shard(0)}`]);
    const stage = p.plan().stages.find((s) => s.input === 'clicks');
    const target = (await shards.openShards('idle-by-page')).map((s) => s.startingHashKey);

    // Act
    const report = await check.run(new Date(100_000));

    // Assess
    expect(report).toEqual({ idle: [`${stage?.id}/${shard(1)}`], checked: 2, marks: 3, ticks: 0, failed: 0 });
    const marks = writer.streams.get('idle-by-page') ?? [];
    expect(marks.map((r) => r.explicitHashKey)).toEqual(target);
    expect(marks.map((r) => JSON.parse(r.data))).toEqual(
      target.map(() => ({ ch: `${stage?.id}/${shard(1)}`, n: 2, idle: true })),
    );
  });

  it('asks about arrivals since now minus the idle timeout, and ignores sources without one', async () => {
    // Prepare
    const { arrivals, writer, check } = setUp([]);

    // Act
    await check.run(new Date(100_000));

    // Assess
    expect(arrivals.asked).toEqual([
      { stream: 'clicks', shardId: shard(0), since: new Date(90_000) },
      { stream: 'clicks', shardId: shard(1), since: new Date(90_000) },
    ]);
    expect([...writer.streams.keys()]).toEqual(['idle-by-page']);
    expect(writer.streams.get('idle-by-page')).toHaveLength(6);
  });

  it('writes nothing when every source shard is active', async () => {
    const { writer, check } = setUp([`clicks/${shard(0)}`, `clicks/${shard(1)}`]);

    const report = await check.run(new Date(100_000));

    expect(report).toEqual({ idle: [], checked: 2, marks: 0, ticks: 0, failed: 0 });
    expect(writer.streams.size).toBe(0);
    expect(check.enabled).toBe(true);
  });

  it('is disabled for a pipeline with no idle timeout', () => {
    const p = pipeline('none');
    p.source('views', { schema: Click }).sink('out');
    const check = new IdlenessCheck({
      pipeline: p,
      arrivals: new FakeArrivals(new Set()),
      shards: new UniformShardDirectory(new Map()),
      writer: new MemoryRecordWriter(),
    });
    expect(check.enabled).toBe(false);
  });

  it('ticks every shard that feeds a processing-time window stage, so its windows fire in a quiet stream', async () => {
    // Prepare
    const p = pipeline('clock');
    p.source('views', { schema: Click })
      .keyBy((c) => c.page, { name: 'by-page', shards: 3 })
      .window(tumblingProcessingTime('1m'))
      .aggregate(count())
      .sink('views-per-minute');
    const shards = new UniformShardDirectory(new Map(p.plan().streams.map((s) => [s.name, s.shardCount])));
    const writer = new MemoryRecordWriter();
    const check = new IdlenessCheck({ pipeline: p, arrivals: new FakeArrivals(new Set()), shards, writer });

    // Act
    const report = await check.run(new Date(100_000));

    // Assess: one tick a shard, routed to it, as a control record
    expect(check.enabled).toBe(true);
    expect(report).toEqual({ idle: [], checked: 0, marks: 0, ticks: 3, failed: 0 });
    const ticks = writer.streams.get('clock-by-page') ?? [];
    expect(ticks.map((t) => t.explicitHashKey)).toEqual(
      (await shards.openShards('clock-by-page')).map((s) => s.startingHashKey),
    );
    expect(ticks.every((t) => t.partitionKey === CONTROL_PARTITION_KEY && t.data === TICK_DATA)).toBe(true);
  });
});
