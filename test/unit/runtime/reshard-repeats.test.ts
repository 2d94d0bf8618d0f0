import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemoryRecordWriter } from '../../../shared/runtime/io/memory-record-writer.js';
import { MemoryWindowStore } from '../../../shared/runtime/io/memory-window-store.js';
import { StageRunner } from '../../../shared/runtime/stage-runner.js';
import { seededRandom } from '../../../shared/util/random.js';
import { tumbling } from '../../../shared/windows/index.js';
import { crashingStore, faultyDeliver } from '../../helpers/chain-run.js';
import { expectIdWindows, idWindowsPipeline } from '../../helpers/id-windows.js';
import { ReshardingKinesis } from '../../helpers/resharding-kinesis.js';
import { deliver, instantWriter, sourceShardRecords } from '../../helpers/unreliable-kinesis.js';

const SHUFFLE = 'p-by-key';
const assigner = tumbling(100);

/** Envelope ids read from a list of shuffle records. */
function envelopeIds(records: readonly { readonly data: Uint8Array }[]): string[] {
  return records.flatMap((r) => (JSON.parse(Buffer.from(r.data).toString()).e ?? []).map((e: { id: string }) => e.id));
}

describe('a producer repeats envelopes across a reshard of the shuffle stream', () => {
  it.each(['split', 'merge'] as const)(
    '%s: the windows downstream count each record once (the children start from their parents positions)',
    async (reshard) => {
      let repeatsAcross = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.array(
            fc.record({
              key: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'),
              t: fc.integer({ min: 0, max: 900 }),
            }),
            { minLength: 1, maxLength: 80 },
          ),
          fc.integer({ min: 1, max: 2 }),
          fc.integer({ min: reshard === 'merge' ? 2 : 1, max: 3 }),
          fc.double({ min: 0, max: 1, noNaN: true }),
          fc.integer({ min: 0, max: 4 }),
          fc.integer({ min: 150, max: 1500 }),
          fc.integer(),
          async (raw, sourceShards, shuffleShards, where, callsBeforeCrash, maxPackBytes, seed) => {
            // Prepare
            const events = raw.map((e, i) => ({ key: e.key, t: e.t + i * 5, id: `e${i}` }));
            const random = seededRandom(seed);
            const p = idWindowsPipeline(assigner, sourceShards, shuffleShards);
            const counts = new Map(p.plan().streams.map((s) => [s.name, s.shardCount]));
            const kinesis = new ReshardingKinesis(SHUFFLE, shuffleShards, random, counts);
            const upstream = new StageRunner({
              pipeline: p,
              stageId: 'from-events',
              maxPackBytes,
              shards: kinesis,
              writer: instantWriter(kinesis),
            });
            const sink = new MemoryRecordWriter();
            const downstream = new StageRunner({
              pipeline: p,
              stageId: `from-${SHUFFLE}`,
              writer: sink,
              store: crashingStore(new MemoryWindowStore(), random),
              shards: kinesis,
            });
            const sources = Array.from({ length: sourceShards }, (_, shard) =>
              sourceShardRecords(
                'events',
                shard,
                events.filter((_, i) => i % sourceShards === shard),
              ),
            );

            // Act: each source shard up to a batch whose invocation dies in the middle of its writes
            // (some lanes further on than others), the shuffle stream resharded, then that batch
            // delivered again and the rest after it; the end of input comes after the reshard.
            const cuts = sources.map((records) => Math.floor(where * (records.length - 1)));
            for (const [shard, records] of sources.entries()) {
              await deliver(upstream, records.slice(0, cuts[shard]), random);
              kinesis.callsBeforeCrash = callsBeforeCrash;
              const dying = records.slice(cuts[shard], (cuts[shard] as number) + 1 + Math.floor(random() * 20));
              await upstream.run(dying, Date.now() + 60_000).catch(() => undefined);
              kinesis.callsBeforeCrash = undefined;
            }
            const open = kinesis.shards.length;
            if (reshard === 'split') kinesis.split(Math.floor(random() * open));
            else kinesis.merge(Math.floor(random() * (open - 1)));
            for (const [shard, records] of sources.entries())
              await deliver(upstream, records.slice(cuts[shard]), random);
            // Lambda reads a child only once its parents are read to their end.
            for (const shard of kinesis.shards) await faultyDeliver(downstream, shard.records, random);

            // Assess
            expectIdWindows(sink.values('out'), events, assigner);
            const parents = new Set(kinesis.shards.flatMap((s) => s.parents));
            const before = new Set(
              envelopeIds(kinesis.shards.filter((s) => parents.has(s.shardId)).flatMap((s) => s.records)),
            );
            const children = kinesis.shards.filter((s) => s.parents.length > 0).flatMap((s) => s.records);
            repeatsAcross += envelopeIds(children).filter((id) => before.has(id)).length;
          },
        ),
        { numRuns: 200 },
      );
      // Envelopes a parent had were written again to its children: the property held under such repeats.
      expect(repeatsAcross).toBeGreaterThan(100);
    },
    120_000,
  );
});
