import type { KinesisClient } from '@aws-sdk/client-kinesis';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KinesisRecordWriter } from '../../../shared/runtime/io/kinesis-record-writer.js';
import { MemoryRecordWriter } from '../../../shared/runtime/io/memory-record-writer.js';
import { MemoryWindowStore } from '../../../shared/runtime/io/memory-window-store.js';
import type { InputRecord } from '../../../shared/runtime/records.js';
import { StageRunner } from '../../../shared/runtime/stage-runner.js';
import { seededRandom } from '../../../shared/util/random.js';
import { session, tumbling } from '../../../shared/windows/index.js';
import type { WindowAssigner } from '../../../shared/windows/types.js';
import { expectIdWindows, idWindowsPipeline } from '../../helpers/id-windows.js';
import { deliver, sourceShardRecords, UnreliableKinesis } from '../../helpers/unreliable-kinesis.js';

/** Lambda's event source mapping over one shard (helpers' deliver), with the function updated after `switchAt` invocations. */
async function deliverAcrossUpdate(
  before: StageRunner,
  after: StageRunner,
  records: readonly InputRecord[],
  random: () => number,
  invocations: { count: number; switchAt: number },
): Promise<void> {
  const updating = {
    run: (batch: readonly InputRecord[], deadline: number) => {
      invocations.count += 1;
      return (invocations.count > invocations.switchAt ? after : before).run(batch, deadline);
    },
  } as StageRunner;
  await deliver(updating, records, random);
}

const formatOf = (record: InputRecord) => (JSON.parse(Buffer.from(record.data).toString()).f === 2 ? 2 : 1);

/**
 * A deployment that moves a pipeline from shuffle format 1 to 2 (docs/operations.md, "Changing the
 * shuffle format"), in process: the producing stage writes format 1, then, from an invocation drawn
 * at random, format 2 (its function updated mid-stream), while Kinesis fails some of its writes and
 * Lambda retries and re-delivers its batches; retries after the switch write again, in format 2,
 * envelopes first written in format 1. The consuming stage, which reads both, must count each record
 * once: its windows equal the batch computation.
 */
describe('a rollout of shuffle format 2: the producer switches mid-stream, the consumer stays exact', () => {
  it.each([
    ['tumbling', tumbling(100)],
    ['session', session(30)],
  ] as [string, WindowAssigner][])(
    '%s: packs of both formats in one shard and one batch, repeats across the switch dropped',
    async (_, assigner) => {
      const seen = { repeatsAcrossFormats: 0, mixedBatches: 0 };
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.record({ key: fc.constantFrom('a', 'b', 'c', 'd', 'e'), t: fc.integer({ min: 0, max: 900 }) }), {
            minLength: 1,
            maxLength: 80,
          }),
          fc.integer({ min: 1, max: 2 }),
          fc.integer({ min: 1, max: 3 }),
          fc.integer({ min: 0, max: 12 }),
          fc.integer(),
          async (raw, sourceShards, shuffleShards, switchAt, seed) => {
            // Prepare
            const events = raw.map((e, i) => ({ key: e.key, t: e.t + i * 5, id: `e${i}` }));
            const random = seededRandom(seed);
            const p = idWindowsPipeline(assigner, sourceShards, shuffleShards);
            const kinesis = new UnreliableKinesis('p-by-key', shuffleShards, random);
            const producer = (shuffleFormat: 1 | 2) =>
              new StageRunner({
                pipeline: p,
                stageId: 'from-events',
                shuffleFormat,
                // Small packs: a batch writes several to a shard, so a partial failure splits a lane.
                maxPackBytes: 150 + Math.floor(random() * 1000),
                writer: new KinesisRecordWriter({
                  client: kinesis as unknown as KinesisClient,
                  backoff: { baseMs: 0, capMs: 0 },
                  safetyMarginMs: 0,
                }),
              });
            const [before, after] = [producer(1), producer(2)];
            const sink = new MemoryRecordWriter();
            const consumer = new StageRunner({
              pipeline: p,
              stageId: 'from-p-by-key',
              writer: sink,
              store: new MemoryWindowStore(),
            });
            const reading = {
              run: (batch: readonly InputRecord[], deadline: number) => {
                if (new Set(batch.map(formatOf)).size === 2) seen.mixedBatches += 1;
                return consumer.run(batch, deadline);
              },
            } as StageRunner;

            // Act: the source shards, the producer updated after `switchAt` invocations; then the consumer.
            const invocations = { count: 0, switchAt };
            for (let shard = 0; shard < sourceShards; shard += 1) {
              const mine = events.filter((_, i) => i % sourceShards === shard);
              await deliverAcrossUpdate(before, after, sourceShardRecords('events', shard, mine), random, invocations);
            }
            for (const records of kinesis.shards) await deliver(reading, records, random);

            // Assess
            expectIdWindows(sink.values('out'), events, assigner);
            const formats = new Map<string, Set<number>>();
            for (const record of kinesis.shards.flat()) {
              const pack = JSON.parse(Buffer.from(record.data).toString()) as { ch?: string; e?: { q: string }[] };
              for (const e of pack.e ?? []) {
                const place = `${pack.ch}@${e.q}`;
                formats.set(place, (formats.get(place) ?? new Set()).add(formatOf(record)));
              }
            }
            seen.repeatsAcrossFormats += [...formats.values()].filter((f) => f.size === 2).length;
          },
        ),
        { numRuns: 150 },
      );
      // The switch did meet retries: envelopes written in both formats, and batches holding both.
      // Counts over the property's random runs (about 20 to 60 each): a handful shows the case is met.
      expect(seen.repeatsAcrossFormats).toBeGreaterThan(5);
      expect(seen.mixedBatches).toBeGreaterThan(5);
    },
  );
});
