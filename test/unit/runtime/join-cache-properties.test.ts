import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { pipeline } from '../../../shared/index.js';
import type { BufferedRecord } from '../../../shared/joins/join-operator.js';
import type { BufferedPut } from '../../../shared/runtime/io/join-store.js';
import { MemoryRecordWriter } from '../../../shared/runtime/io/memory-record-writer.js';
import { MemoryWindowStore } from '../../../shared/runtime/io/memory-window-store.js';
import type { OpenShard, ShardDirectory, ShardLineage } from '../../../shared/runtime/io/shard-directory.js';
import type { StateStore } from '../../../shared/runtime/io/state-store.js';
import type { InputRecord } from '../../../shared/runtime/records.js';
import { StageRunner } from '../../../shared/runtime/stage-runner.js';
import { seededRandom } from '../../../shared/util/random.js';
import { IdEvent } from '../../helpers/id-windows.js';
import { events, outputsOf } from '../../helpers/join-run.js';
import { nestedLoopJoin } from '../../helpers/nested-loop-join.js';
import { sourceShardRecords } from '../../helpers/unreliable-kinesis.js';

const JOIN_STREAM = 'j-j';
const shardId = (n: number) => `shardId-${String(n).padStart(12, '0')}`;

/**
 * Shards as after a reshard of the join's stream: shard 0 takes the first part of the input, then is
 * closed, and its child, shard 1, takes the rest, so every key moves to a new shard. The sources'
 * streams have one shard each and no parents.
 */
class ReshardedDirectory implements ShardDirectory {
  open = 0;

  async openShards(stream: string): Promise<readonly OpenShard[]> {
    return [{ shardId: shardId(stream === JOIN_STREAM ? this.open : 0), startingHashKey: '0' }];
  }

  async describeShard(stream: string, id: string): Promise<ShardLineage | undefined> {
    const parents = stream === JOIN_STREAM && id === shardId(1) ? [shardId(0)] : [];
    return { shardId: id, parents, startingHashKey: 0n, endingHashKey: 2n ** 128n - 1n };
  }
}

/** A store whose buffer writes crash part-way (any part of them written), and whose watermark saves sometimes fail. */
function crashingStore(random: () => number, crashRate: number, crashes: { count: number }): StateStore {
  return new Proxy(new MemoryWindowStore(), {
    get(target, property, receiver) {
      if (property === 'writeBuffered') {
        return async (stageId: string, puts: readonly BufferedPut[], deletes: readonly BufferedRecord[]) => {
          if (random() >= crashRate) return target.writeBuffered(stageId, puts, deletes);
          crashes.count += 1;
          await target.writeBuffered(
            stageId,
            puts.filter(() => random() < 0.5),
            deletes.filter(() => random() < 0.5),
          );
          throw new Error('crashed among the buffer writes');
        };
      }
      if (property === 'saveWatermarks' && random() < crashRate / 6) {
        crashes.count += 1;
        return async () => {
          throw new Error('crashed around a save of the channel watermarks');
        };
      }
      const value = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/**
 * Lambda's event source mapping over one shard, with two execution environments that each keep their
 * cache: a batch goes to either (mostly the last one), a failed batch is delivered again from its
 * first record, half the time bisected, and a batch that succeeded is sometimes delivered again.
 */
async function deliverAcross(
  environments: readonly StageRunner[],
  records: readonly InputRecord[],
  random: () => number,
): Promise<void> {
  let cursor = 0;
  let size = 1 + Math.floor(random() * 4);
  let environment = 0;
  while (cursor < records.length) {
    if (random() < 0.3) environment = 1 - environment;
    const batch = records.slice(cursor, cursor + size);
    try {
      await (environments[environment] as StageRunner).run(batch, Date.now() + 60_000);
    } catch {
      if (random() < 0.5) size = Math.max(1, Math.floor(batch.length / 2));
      continue;
    }
    if (random() < 0.15) continue;
    cursor += batch.length;
    size = 1 + Math.floor(random() * 4);
  }
}

/** The sources' records in two parts, each part's packs read from its own shard of the join stream. */
async function runResharded(
  lefts: IdEvent[],
  rights: IdEvent[],
  within: { before: number; after: number },
  cut: number,
  crashRate: number,
  seed: number,
) {
  const random = seededRandom(seed);
  const p = pipeline('j');
  const left = p.source('lefts', { schema: IdEvent, eventTime: (e) => e.t, maxOutOfOrderness: 100_000 });
  const right = p.source('rights', { schema: IdEvent, eventTime: (e) => e.t, maxOutOfOrderness: 100_000 });
  left
    .join(right, { name: 'j', left: (e) => e.key, right: (e) => e.key, within, type: 'inner' })
    .map(([l, r]) => ({ l: l?.id ?? null, r: r?.id ?? null }))
    .sink('out');
  const directory = new ReshardedDirectory();
  const shuffle = new MemoryRecordWriter();
  const packs: InputRecord[][] = [[], []];
  let sequence = 1_000_000n;
  for (const part of [0, 1]) {
    directory.open = part;
    // Each source in small batches, the two sources' batches interleaved: many small packs.
    const batches = (['lefts', 'rights'] as const).map((stream) => {
      const list = stream === 'lefts' ? lefts : rights;
      // One source shard cut in two: the first part ends without the end of input (the join's stream
      // goes on in the child shard), and the second goes on with the shard's sequence numbers, the
      // envelopes' positions (a child starts from its parent's positions, docs/shuffle.md).
      const all = sourceShardRecords(stream, 0, list);
      const at = Math.min(cut, list.length);
      const records = part === 0 ? all.slice(0, at) : all.slice(at);
      const runner = new StageRunner({ pipeline: p, stageId: `from-${stream}`, writer: shuffle, shards: directory });
      return { runner, records };
    });
    while (batches.some((b) => b.records.length > 0)) {
      for (const { runner, records } of batches) {
        const batch = records.splice(0, 1 + Math.floor(random() * 4));
        if (batch.length > 0) await runner.run(batch, Date.now() + 60_000);
      }
    }
    for (const pack of shuffle.streams.get(JOIN_STREAM)?.splice(0) ?? []) {
      sequence += 1n;
      const position = {
        stream: JOIN_STREAM,
        shardId: shardId(part),
        sequenceNumber: `${sequence}`,
        partitionKey: pack.partitionKey,
        arrivalTime: 0,
      };
      (packs[part] as InputRecord[]).push({ position, data: Buffer.from(pack.data) });
    }
  }
  const crashes = { count: 0 };
  const store = crashingStore(random, crashRate, crashes);
  const sink = new MemoryRecordWriter();
  const environments = [0, 1].map(
    () => new StageRunner({ pipeline: p, stageId: `from-${JOIN_STREAM}`, writer: sink, store, shards: directory }),
  );
  // Lambda reads a child shard only once its parent is read to the end.
  for (const records of packs) await deliverAcross(environments, records, random);
  return {
    run: {
      emitted: sink.values('out') as { l: string | null; r: string | null }[],
      late: sink.values('j-j-late'),
      repeats: 0,
    },
    crashes: crashes.count,
    queries: (store as MemoryWindowStore).counter.snapshot().byOperation.Query,
  };
}

describe('the join buffer cache (property-based)', () => {
  it('two environments with stale caches, crashes among the buffer writes, retries, bisects and a reshard: every pair, no other', async () => {
    let crashes = 0;
    await fc.assert(
      fc.asyncProperty(
        events('l', 20),
        events('r', 20),
        fc.record({ before: fc.integer({ min: 0, max: 300 }), after: fc.integer({ min: 0, max: 300 }) }),
        fc.nat({ max: 40 }),
        fc.constantFrom(0, 0.3),
        fc.integer(),
        async (lefts, rights, within, cut, crashRate, seed) => {
          const { run, crashes: count } = await runResharded(lefts, rights, within, cut, crashRate, seed);
          crashes += count;
          const lateIds = new Set((run.late as { value: IdEvent }[]).map((l) => l.value.id));
          const onTime = (list: IdEvent[]) => list.filter((e) => !lateIds.has(e.id));
          expect(outputsOf(run)).toEqual(
            nestedLoopJoin(onTime(lefts), onTime(rights), { kind: 'interval', ...within }, 'inner'),
          );
        },
      ),
      { numRuns: 150 },
    );
    expect(crashes).toBeGreaterThan(50);
  });
});
