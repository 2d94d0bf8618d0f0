import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { pipeline } from '../../../shared/index.js';
import { MemoryRecordWriter } from '../../../shared/runtime/io/memory-record-writer.js';
import { MemoryWindowStore } from '../../../shared/runtime/io/memory-window-store.js';
import type { InputRecord } from '../../../shared/runtime/records.js';
import { StageRunner } from '../../../shared/runtime/stage-runner.js';
import { CONTROL_PARTITION_KEY, TICK_DATA } from '../../../shared/runtime/watermark-records.js';
import { count, tumblingProcessingTime } from '../../../shared/windows/index.js';

const Event = z.object({ key: z.string() });

const p = pipeline('clock');
p.source('events', { schema: Event })
  .keyBy((e) => e.key, { name: 'by-key' })
  .window(tumblingProcessingTime(1000))
  .aggregate(count())
  .sink('counts');

interface Counted {
  key: string;
  windowStart: number;
  windowEnd: number;
  value: number;
}

let sequence = 1000;
function arriving(arrivalTime: number, data: string, partitionKey = 'k'): InputRecord {
  sequence += 1;
  const position = { stream: 'clock-by-key', shardId: 'shardId-000000000000', sequenceNumber: String(sequence) };
  return { position: { ...position, partitionKey, arrivalTime }, data: Buffer.from(data) };
}
const event = (key: string, arrivalTime: number) =>
  arriving(arrivalTime, JSON.stringify({ id: `events/s/${sequence + 1}`, k: key, v: { key } }));
const tick = (arrivalTime: number) => arriving(arrivalTime, TICK_DATA, CONTROL_PARTITION_KEY);

/** A window stage whose clock is far ahead of its shard: the consumer lags, as under backpressure. */
function laggingStage(clock: number) {
  const writer = new MemoryRecordWriter();
  const runner = new StageRunner({
    pipeline: p,
    stageId: 'from-clock-by-key',
    writer,
    store: new MemoryWindowStore({ now: () => clock }),
    now: () => clock,
  });
  const run = (records: InputRecord[]) => runner.run(records, Date.now() + 60_000);
  const counted = () => writer.values('counts') as Counted[];
  return { run, counted, writer };
}

describe('processing-time windows of a stage that lags behind its shard', () => {
  it('count every record in the window of its arrival, none late, although the clock passed them all', async () => {
    // Prepare: records arrived from 0.1 s to 2.9 s; the stage reads them at 60 s.
    const stage = laggingStage(60_000);
    const arrivals = Array.from({ length: 15 }, (_, i) => 100 + i * 200);

    // Act: two batches, then a tick stamped after them all.
    await stage.run(arrivals.slice(0, 7).map((t, i) => event(`k${i % 2}`, t)));
    await stage.run(arrivals.slice(7).map((t, i) => event(`k${(i + 7) % 2}`, t)));
    await stage.run([tick(5_000)]);

    // Assess: the batch computation by arrival time, and nothing on the late output.
    const expected = new Map<string, number>();
    arrivals.forEach((t, i) => {
      const name = `k${i % 2} ${Math.floor(t / 1000) * 1000}`;
      expected.set(name, (expected.get(name) ?? 0) + 1);
    });
    const fired = new Map(stage.counted().map((c) => [`${c.key} ${c.windowStart}`, c.value]));
    expect(fired).toEqual(expected);
    expect(stage.writer.values('clock-window-1-late')).toEqual([]);
  });

  it('time a record stamped at the millisecond that closed a window into the next one, across batches', async () => {
    // Prepare: the first batch's record, stamped at 999, closes [0, 1000) (its last millisecond).
    const stage = laggingStage(60_000);
    await stage.run([event('a', 999)]);
    expect(stage.counted()).toEqual([expect.objectContaining({ key: 'a', windowStart: 0, value: 1 })]);

    // Act: the next batch starts with a record stamped at the same millisecond.
    await stage.run([event('a', 999)]);
    await stage.run([tick(2_500)]);

    // Assess: counted once, in the next window, not late.
    expect(stage.counted()).toEqual([
      expect.objectContaining({ key: 'a', windowStart: 0, value: 1 }),
      expect.objectContaining({ key: 'a', windowStart: 1000, value: 1 }),
    ]);
    expect(stage.writer.values('clock-window-1-late')).toEqual([]);
  });
});

describe('processing-time windows: property', () => {
  it('equal the batch computation by arrival stamp however the shard is cut into batches and however far the clock is ahead', async () => {
    await fc.assert(
      fc.asyncProperty(
        // Stamps of one shard never go back; many share a millisecond at high rates.
        fc.array(fc.tuple(fc.integer({ min: 0, max: 700 }), fc.constantFrom('a', 'b', 'c')), { maxLength: 40 }),
        fc.array(fc.integer({ min: 1, max: 8 }), { minLength: 1, maxLength: 10 }),
        fc.integer({ min: 0, max: 100_000 }),
        async (steps, cuts, lag) => {
          let stamp = 0;
          const records = steps.map(([step, key]) => {
            stamp += step % 3 === 0 ? 0 : step;
            return { key, stamp };
          });
          const stage = laggingStage(stamp + lag);
          const input = records.map((r) => event(r.key, r.stamp));
          for (let at = 0, cut = 0; at < input.length; cut += 1) {
            const size = cuts[cut % cuts.length] as number;
            await stage.run(input.slice(at, at + size));
            at += size;
          }
          await stage.run([tick(stamp + 10_000)]);

          // Reference: a record's time is its stamp, or just past the latest stamp before it when that
          // is not behind it (the millisecond may have closed a window already).
          const expected = new Map<string, number>();
          let latest = Number.NEGATIVE_INFINITY;
          for (const r of records) {
            const time = Math.max(r.stamp, latest + 1);
            latest = Math.max(latest, r.stamp);
            const name = `${r.key} ${Math.floor(time / 1000) * 1000}`;
            expected.set(name, (expected.get(name) ?? 0) + 1);
          }
          const fired = new Map(stage.counted().map((c) => [`${c.key} ${c.windowStart}`, c.value]));
          expect(fired).toEqual(expected);
          expect(stage.counted()).toHaveLength(expected.size);
          expect(stage.writer.values('clock-window-1-late')).toEqual([]);
        },
      ),
      { numRuns: 200 },
    );
  });
});
