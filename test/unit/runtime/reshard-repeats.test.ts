import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Pipeline, type ProcessFunction, pipeline, state } from '../../../shared/index.js';
import { MemoryRecordWriter } from '../../../shared/runtime/io/memory-record-writer.js';
import { MemoryWindowStore } from '../../../shared/runtime/io/memory-window-store.js';
import { StageRunner } from '../../../shared/runtime/stage-runner.js';
import { seededRandom } from '../../../shared/util/random.js';
import { tumbling } from '../../../shared/windows/index.js';
import { crashingStore, faultyDeliver } from '../../helpers/chain-run.js';
import { expectIdWindows, IdEvent, idWindowsPipeline } from '../../helpers/id-windows.js';
import { ReshardingKinesis } from '../../helpers/resharding-kinesis.js';
import { deliver, instantWriter, sourceShardRecords } from '../../helpers/unreliable-kinesis.js';

const SHUFFLE = 'p-by-key';
const assigner = tumbling(100);

type Reshard = 'split' | 'merge';

/** Envelope ids read from a list of shuffle records. */
function envelopeIds(records: readonly { readonly data: Uint8Array }[]): string[] {
  return records.flatMap((r) => (JSON.parse(Buffer.from(r.data).toString()).e ?? []).map((e: { id: string }) => e.id));
}

/**
 * The property over random inputs, shard counts, places of the reshard and faults: `assess` checks
 * the stateful stage's sink against the input; `totals` counts the envelopes repeated across it.
 */
function acrossReshard(
  reshard: Reshard,
  pipelineOf: (sourceShards: number, shuffleShards: number) => Pipeline,
  assess: (out: readonly unknown[], events: readonly IdEvent[]) => void,
  totals: { repeatsAcross: number },
) {
  return fc.asyncProperty(
    fc.array(
      fc.record({ key: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'), t: fc.integer({ min: 0, max: 900 }) }),
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
      const p = pipelineOf(sourceShards, shuffleShards);

      // Act
      const draws = { sourceShards, shuffleShards, where, callsBeforeCrash, maxPackBytes };
      const run = await runAcrossReshard(p, reshard, events, draws, seededRandom(seed));

      // Assess
      assess(run.sink.values('out'), events);
      totals.repeatsAcross += run.repeatsAcross;
    },
  );
}

/**
 * Runs the producing stage and the stateful stage after it: each source shard up to a batch whose
 * invocation dies in the middle of its writes (some lanes further on than others), the shuffle
 * stream split or merged, then that batch delivered again and the rest after it (the end of input
 * comes after the reshard). The stateful stage reads every shard, parents before their children,
 * with Lambda's retries and bisects and crashes among its state writes. Returns its sink and how
 * many envelopes a parent had that reached a child again.
 */
async function runAcrossReshard(
  p: Pipeline,
  reshard: Reshard,
  events: readonly IdEvent[],
  draws: { sourceShards: number; shuffleShards: number; where: number; callsBeforeCrash: number; maxPackBytes: number },
  random: () => number,
) {
  const counts = new Map(p.plan().streams.map((s) => [s.name, s.shardCount]));
  const kinesis = new ReshardingKinesis(SHUFFLE, draws.shuffleShards, random, counts);
  const upstream = new StageRunner({
    pipeline: p,
    stageId: 'from-events',
    maxPackBytes: draws.maxPackBytes,
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
  const sources = Array.from({ length: draws.sourceShards }, (_, shard) =>
    sourceShardRecords(
      'events',
      shard,
      events.filter((_, i) => i % draws.sourceShards === shard),
    ),
  );
  const cuts = sources.map((records) => Math.floor(draws.where * (records.length - 1)));
  for (const [shard, records] of sources.entries()) {
    await deliver(upstream, records.slice(0, cuts[shard]), random);
    kinesis.callsBeforeCrash = draws.callsBeforeCrash;
    const dying = records.slice(cuts[shard], (cuts[shard] as number) + 1 + Math.floor(random() * 20));
    await upstream.run(dying, Date.now() + 60_000).catch(() => undefined);
    kinesis.callsBeforeCrash = undefined;
  }
  const open = kinesis.shards.length;
  if (reshard === 'split') kinesis.split(Math.floor(random() * open));
  else kinesis.merge(Math.floor(random() * (open - 1)));
  for (const [shard, records] of sources.entries()) await deliver(upstream, records.slice(cuts[shard]), random);
  // Lambda reads a child only once its parents are read to their end.
  for (const shard of kinesis.shards) await faultyDeliver(downstream, shard.records, random);

  const parents = new Set(kinesis.shards.flatMap((s) => s.parents));
  const before = new Set(envelopeIds(kinesis.shards.filter((s) => parents.has(s.shardId)).flatMap((s) => s.records)));
  const children = kinesis.shards.filter((s) => s.parents.length > 0).flatMap((s) => s.records);
  return { sink, repeatsAcross: envelopeIds(children).filter((id) => before.has(id)).length };
}

const declared = { count: state.value<number>() };
/** Per record, its rank among its key's records: a record applied twice takes a second rank. */
const ranks: ProcessFunction<IdEvent, { key: string; id: string; rank: number }, typeof declared> = {
  processElement(event, context) {
    const rank = (context.state.count.value() ?? 0) + 1;
    context.state.count.update(rank);
    context.emit({ key: context.key, id: event.id, rank });
  },
};

/** Outputs are at least once, each with one rank; each key's ranks are 1..n over its records. */
function expectRanks(out: readonly unknown[], events: readonly IdEvent[]) {
  const emitted = new Map<string, number>();
  for (const { id, rank } of out as { id: string; rank: number }[]) {
    expect(emitted.get(id) ?? rank, `${id} ranked twice`).toBe(rank);
    emitted.set(id, rank);
  }
  expect([...emitted.keys()].sort()).toEqual(events.map((e) => e.id).sort());
  for (const key of new Set(events.map((e) => e.key))) {
    const ofKey = events.filter((e) => e.key === key).map((e) => emitted.get(e.id) ?? 0);
    expect(ofKey.sort((a, b) => a - b)).toEqual(ofKey.map((_, i) => i + 1));
  }
}

describe('a producer repeats envelopes across a reshard of the shuffle stream (children start from their parents positions)', () => {
  it.each(['split', 'merge'] as const)('%s: the windows downstream count each record once', async (reshard) => {
    const totals = { repeatsAcross: 0 };
    await fc.assert(
      acrossReshard(
        reshard,
        (sourceShards, shuffleShards) => idWindowsPipeline(assigner, sourceShards, shuffleShards),
        (out, events) => expectIdWindows(out, events, assigner),
        totals,
      ),
      { numRuns: 200 },
    );
    // Envelopes a parent had were written again to its children: the property held under such repeats.
    expect(totals.repeatsAcross).toBeGreaterThan(100);
  });

  it.each(['split', 'merge'] as const)(
    '%s: a process function downstream applies each record once',
    async (reshard) => {
      const totals = { repeatsAcross: 0 };
      const ranked = (sourceShards: number, shuffleShards: number) =>
        pipeline('p')
          .source('events', { schema: IdEvent, eventTime: (e) => e.t, shards: sourceShards })
          .keyBy((e) => e.key, { name: 'by-key', shards: shuffleShards })
          .process(ranks, { state: declared })
          .sink('out');
      await fc.assert(acrossReshard(reshard, ranked, expectRanks, totals), { numRuns: 100 });
      expect(totals.repeatsAcross).toBeGreaterThan(50);
    },
  );
});
