import type { Pipeline } from '../../shared/index.js';
import { MemoryRecordWriter } from '../../shared/runtime/io/memory-record-writer.js';
import type { OpenShard, ShardDirectory, ShardLineage } from '../../shared/runtime/io/shard-directory.js';
import type { StateStore } from '../../shared/runtime/io/state-store.js';
import type { InputRecord } from '../../shared/runtime/records.js';
import { StageRunner } from '../../shared/runtime/stage-runner.js';
import { CONTROL_PARTITION_KEY, END_OF_INPUT_DATA, TICK_DATA } from '../../shared/runtime/watermark-records.js';

/** One reshard of a keyed stream: 1 shard split into 2, or 2 merged into 1. */
export type Reshard = 'split' | 'merge';

const shardName = (n: number) => `shardId-${String(n).padStart(12, '0')}`;
const LAST = 2n ** 128n - 1n;
const HALF = 2n ** 127n;

/** Every shard the keyed stream ever has, and which are open before (phase 0) and after (phase 1) the reshard. */
function lineageOf(reshard: Reshard): { shards: ShardLineage[]; phases: [string[], string[]] } {
  const [s0, s1, s2] = [0, 1, 2].map(shardName) as [string, string, string];
  const shard = (shardId: string, parents: string[], startingHashKey: bigint, endingHashKey: bigint) => ({
    shardId,
    parents,
    startingHashKey,
    endingHashKey,
  });
  return reshard === 'split'
    ? {
        shards: [shard(s0, [], 0n, LAST), shard(s1, [s0], 0n, HALF - 1n), shard(s2, [s0], HALF, LAST)],
        phases: [[s0], [s1, s2]],
      }
    : {
        shards: [shard(s0, [], 0n, HALF - 1n), shard(s1, [], HALF, LAST), shard(s2, [s0, s1], 0n, LAST)],
        phases: [[s0, s1], [s2]],
      };
}

/**
 * The shards of a pipeline's streams around one reshard of the keyed stream, as ListShards tells them:
 * the keyed stream's open shards are those of the current phase, closed ones keep their lineage; every
 * other stream has one shard with no parent.
 */
class ReshardDirectory implements ShardDirectory {
  phase: 0 | 1 = 0;
  readonly lineage: ReturnType<typeof lineageOf>;

  constructor(
    readonly stream: string,
    reshard: Reshard,
  ) {
    this.lineage = lineageOf(reshard);
  }

  async openShards(stream: string): Promise<readonly OpenShard[]> {
    if (stream !== this.stream) return [{ shardId: shardName(0), startingHashKey: '0' }];
    return this.lineage.phases[this.phase].map((id) => {
      const shard = this.lineage.shards.find((s) => s.shardId === id) as ShardLineage;
      return { shardId: id, startingHashKey: shard.startingHashKey.toString() };
    });
  }

  async describeShard(stream: string, shardId: string): Promise<ShardLineage | undefined> {
    if (stream !== this.stream) return { shardId, parents: [], startingHashKey: 0n, endingHashKey: LAST };
    return this.lineage.shards.find((s) => s.shardId === shardId);
  }
}

/** A source stream's one shard, from its `from`-th record on; the end of input last when `end`. */
function sourceRecords(stream: string, values: readonly unknown[], from: number, end: boolean): InputRecord[] {
  const data = values.map((value) => JSON.stringify(value));
  if (end) data.push(END_OF_INPUT_DATA);
  return data.map((text, i) => ({
    position: {
      stream,
      shardId: shardName(0),
      sequenceNumber: String(1_000_000 + (from + i) * 7),
      partitionKey: end && i === values.length ? CONTROL_PARTITION_KEY : `pk${from + i}`,
      arrivalTime: 0,
    },
    data: Buffer.from(text),
  }));
}

export interface ReshardRun {
  readonly pipeline: Pipeline;
  /** The source streams and their values, in order. */
  readonly sources: readonly { readonly stream: string; readonly values: readonly unknown[] }[];
  /** The keyed stream (a keyBy's or a join's) that is resharded, and the stage that reads it. */
  readonly keyed: string;
  readonly reshard: Reshard;
  /** How many of each source's values are read before the reshard. */
  readonly cut: number;
  /** The keyed stage's state, shared by its shards and execution environments. */
  readonly store: StateStore;
  readonly random: () => number;
  /** The keyed stage's clock (processing-time timers). @default Date.now */
  readonly now?: () => number;
  /** Clock ticks appended to each shard after the reshard: batches after the last record. @default 0 */
  readonly ticks?: number;
}

/**
 * The sources read in two parts, the keyed stream resharded between them: the first part's packs go
 * to the shards open before the reshard, the rest (and the end of input) to those after it. The keyed
 * stage then reads its shards as Lambda does: the children only once their parents are read to the
 * end, a shard's batches one at a time, shards open together concurrently, over two execution
 * environments (a shard's batch goes to either), failed batches delivered again (half the time bisected) and
 * successful ones sometimes again. Returns what the keyed stage wrote.
 */
export async function runResharded(run: ReshardRun): Promise<MemoryRecordWriter> {
  const { pipeline, keyed, random } = run;
  const directory = new ReshardDirectory(keyed, run.reshard);
  const shuffle = new MemoryRecordWriter();
  const byShard = new Map<string, InputRecord[]>();
  let sequence = 5_000_000n;
  for (const phase of [0, 1] as const) {
    directory.phase = phase;
    const open = await directory.openShards(keyed);
    const sources = run.sources.map(({ stream, values }) => ({
      runner: new StageRunner({ pipeline, stageId: `from-${stream}`, writer: shuffle, shards: directory }),
      records:
        phase === 0
          ? sourceRecords(stream, values.slice(0, run.cut), 0, false)
          : sourceRecords(stream, values.slice(run.cut), Math.min(run.cut, values.length), true),
    }));
    // Each source in small batches, the sources' batches interleaved: many small packs.
    while (sources.some((s) => s.records.length > 0)) {
      for (const { runner, records } of sources) {
        const batch = records.splice(0, 1 + Math.floor(random() * 4));
        if (batch.length > 0) await runner.run(batch, Date.now() + 60_000);
      }
    }
    for (const record of shuffle.streams.get(keyed)?.splice(0) ?? []) {
      const shard = open.find((s) => s.startingHashKey === record.explicitHashKey) as OpenShard;
      sequence += 1n;
      const list = byShard.get(shard.shardId) ?? [];
      byShard.set(shard.shardId, list);
      list.push({
        position: {
          stream: keyed,
          shardId: shard.shardId,
          sequenceNumber: `${sequence}`,
          partitionKey: record.partitionKey,
          arrivalTime: 0,
        },
        data: Buffer.from(record.data),
      });
    }
  }
  for (const shardId of directory.lineage.phases[1]) {
    const list = byShard.get(shardId) ?? [];
    byShard.set(shardId, list);
    for (let i = 0; i < (run.ticks ?? 0); i += 1) {
      sequence += 1n;
      const position = { stream: keyed, shardId, sequenceNumber: `${sequence}`, arrivalTime: 0 };
      list.push({ position: { ...position, partitionKey: CONTROL_PARTITION_KEY }, data: Buffer.from(TICK_DATA) });
    }
  }
  const sink = new MemoryRecordWriter();
  const environments = [0, 1].map(
    () =>
      new StageRunner({
        pipeline,
        stageId: `from-${keyed}`,
        writer: sink,
        store: run.store,
        shards: directory,
        ...(run.now !== undefined && { now: run.now }),
      }),
  );
  for (const shards of directory.lineage.phases) {
    await deliverTogether(
      environments,
      shards.map((id) => byShard.get(id) ?? []),
      random,
    );
  }
  return sink;
}

/**
 * Lambda over shards open at the same time: each shard in order, one batch at a time, and the shards'
 * batches concurrently, each in an execution environment of its own for that round.
 */
async function deliverTogether(
  environments: readonly StageRunner[],
  shards: readonly (readonly InputRecord[])[],
  random: () => number,
): Promise<void> {
  const cursors = shards.map(() => 0);
  const sizes = shards.map(() => 1 + Math.floor(random() * 6));
  for (let rounds = 0; ; rounds += 1) {
    if (rounds > 20_000) throw new Error('no progress: a batch keeps failing');
    const pending = shards.flatMap((records, i) => ((cursors[i] as number) < records.length ? [i] : []));
    if (pending.length === 0) return;
    const first = random() < 0.5 ? 0 : 1;
    await Promise.all(
      pending.map(async (i, n) => {
        const records = shards[i] as readonly InputRecord[];
        const cursor = cursors[i] as number;
        const batch = records.slice(cursor, cursor + (sizes[i] as number));
        const environment = environments[(first + n) % environments.length] as StageRunner;
        let failed: readonly string[];
        try {
          failed = (await environment.run(batch, Date.now() + 60_000)).failedSequenceNumbers;
        } catch {
          if (random() < 0.5) sizes[i] = Math.max(1, Math.floor(batch.length / 2));
          return;
        }
        if (failed.length > 0) {
          // A partial batch response: Lambda resumes from the lowest record reported.
          const lowest = failed.reduce((a, b) => (BigInt(a) < BigInt(b) ? a : b));
          cursors[i] = cursor + batch.findIndex((r) => r.position.sequenceNumber === lowest);
          return;
        }
        if (random() < 0.15) return;
        cursors[i] = cursor + batch.length;
        sizes[i] = 1 + Math.floor(random() * 6);
      }),
    );
  }
}
