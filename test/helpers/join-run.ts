import type { KinesisClient } from '@aws-sdk/client-kinesis';
import fc from 'fast-check';
import type { JoinType } from '../../shared/dag/graph.js';
import { pipeline } from '../../shared/index.js';
import { KinesisRecordWriter } from '../../shared/runtime/io/kinesis-record-writer.js';
import { MemoryRecordWriter } from '../../shared/runtime/io/memory-record-writer.js';
import { MemoryWindowStore } from '../../shared/runtime/io/memory-window-store.js';
import type { StateStore } from '../../shared/runtime/io/state-store.js';
import type { InputRecord } from '../../shared/runtime/records.js';
import { StageRunner } from '../../shared/runtime/stage-runner.js';
import { seededRandom } from '../../shared/util/random.js';
import { hopping, tumbling } from '../../shared/windows/index.js';
import { IdEvent } from './id-windows.js';
import type { Condition } from './nested-loop-join.js';
import { deliver, sourceShardRecords, UnreliableKinesis } from './unreliable-kinesis.js';

/** What a run of the join property tests emitted; the reference to compare it with is nested-loop-join.ts. */
export interface Run {
  readonly emitted: { l: string | null; r: string | null }[];
  readonly late: unknown[];
  readonly repeats: number;
}

/** The join stage's state store, and how Lambda delivers the join stage its shards' records. */
export interface JoinStageHarness {
  store(random: () => number): StateStore;
  deliver(runner: StageRunner, records: readonly InputRecord[], random: () => number): Promise<unknown>;
}

const reliableJoinStage: JoinStageHarness = { store: () => new MemoryWindowStore(), deliver };

/** The two source stages and the join stage, through an unreliable Kinesis, with redeliveries. */
export async function runJoin(
  lefts: IdEvent[],
  rights: IdEvent[],
  condition: Condition,
  type: JoinType,
  shards: { left: number; right: number; join: number },
  seed: number,
  bound: number,
  allowedLateness = 0,
  joinStage: JoinStageHarness = reliableJoinStage,
): Promise<Run> {
  const random = seededRandom(seed);
  const p = pipeline('j');
  const left = p.source('lefts', {
    schema: IdEvent,
    eventTime: (e) => e.t,
    maxOutOfOrderness: bound,
    shards: shards.left,
  });
  const right = p.source('rights', {
    schema: IdEvent,
    eventTime: (e) => e.t,
    maxOutOfOrderness: bound,
    shards: shards.right,
  });
  const options = {
    name: 'j',
    allowedLateness,
    left: (e: IdEvent) => e.key,
    right: (e: IdEvent) => e.key,
    shards: shards.join,
    ...(condition.kind === 'interval'
      ? { within: { before: condition.before, after: condition.after }, type }
      : {
          window:
            condition.size === condition.slide ? tumbling(condition.size) : hopping(condition.size, condition.slide),
        }),
  };
  (left.join(right, options as Parameters<typeof left.join>[1]) as ReturnType<typeof left.join<IdEvent>>)
    .map(([l, r]) => ({ l: l?.id ?? null, r: r?.id ?? null }))
    .sink('out');

  const kinesis = new UnreliableKinesis('j-j', shards.join, random);
  const writer = new KinesisRecordWriter({
    client: kinesis as unknown as KinesisClient,
    backoff: { baseMs: 0, capMs: 0 },
    safetyMarginMs: 0,
  });
  const sources: [string, IdEvent[], number][] = [
    ['lefts', lefts, shards.left],
    ['rights', rights, shards.right],
  ];
  for (const [stream, events, count] of random() < 0.5 ? sources : [...sources].reverse()) {
    const runner = new StageRunner({
      pipeline: p,
      stageId: `from-${stream}`,
      writer,
      maxPackBytes: 400 + Math.floor(random() * 2000),
    });
    for (let shard = 0; shard < count; shard += 1) {
      await deliver(
        runner,
        sourceShardRecords(
          stream,
          shard,
          events.filter((_, i) => i % count === shard),
        ),
        random,
      );
    }
  }
  const sink = new MemoryRecordWriter();
  const joiner = new StageRunner({ pipeline: p, stageId: 'from-j-j', writer: sink, store: joinStage.store(random) });
  for (const records of kinesis.shards) await joinStage.deliver(joiner, records, random);
  const shuffled = kinesis.shards.flat().flatMap((r) => JSON.parse(Buffer.from(r.data).toString()).e ?? []);
  return {
    emitted: sink.values('out') as Run['emitted'],
    late: sink.values('j-j-late'),
    repeats: shuffled.length - new Set(shuffled.map((e: { id: string }) => e.id)).size,
  };
}

export const events = (prefix: string, spread: number) =>
  fc
    .array(fc.record({ key: fc.constantFrom('a', 'b', 'c'), t: fc.integer({ min: 0, max: 600 }) }), { maxLength: 40 })
    .map((raw) => raw.map((e, i) => ({ key: e.key, t: e.t + i * spread, id: `${prefix}${i}` })));

/** Every distinct output, by the ids of its records (repeats carry the same identity). */
export function outputsOf(run: Run): Set<string> {
  return new Set(run.emitted.map((o) => `${o.l ?? ''}|${o.r ?? ''}`));
}
