import type { KinesisClient, PutRecordsCommand, PutRecordsResultEntry } from '@aws-sdk/client-kinesis';
import type { Pipeline } from '../../shared/dsl/pipeline.js';
import type { BufferedRecord } from '../../shared/joins/join-operator.js';
import type { BufferedPut } from '../../shared/runtime/io/join-store.js';
import { KinesisRecordWriter } from '../../shared/runtime/io/kinesis-record-writer.js';
import { MemoryWindowStore } from '../../shared/runtime/io/memory-window-store.js';
import type { StateStore, WindowChange } from '../../shared/runtime/io/state-store.js';
import type { InputRecord } from '../../shared/runtime/records.js';
import { StageRunner } from '../../shared/runtime/stage-runner.js';
import { sourceShardRecords, UnreliableKinesis } from './unreliable-kinesis.js';

/** What a chained run left: the values on each stream that leaves Eddy (sinks, late outputs, dead letters). */
export interface ChainRun {
  values(stream: string): unknown[];
  /** Envelopes the shuffle streams carried more than once (retries of the stage before): the faults happened. */
  readonly repeats: number;
  /** Failed invocations (thrown batches) over every stage. */
  readonly crashes: number;
}

/**
 * Runs every stage of a pipeline, in plan order, on in-memory Kinesis and state that fail the way the
 * real ones do: every shuffle stream an UnreliableKinesis (partial PutRecords failures, whole calls
 * refused), small packs so that a shard's lane holds several, a state store that crashes part-way
 * through a batch's writes, and Lambda's event source mapping (faultyDeliver) with partial batch
 * responses, retries of thrown batches bisected at random, and batches delivered again after they
 * succeeded. Sinks, side outputs and dead letters are written reliably, to be read back. Every fault
 * is drawn from `random`: a property's seed replays a failure exactly.
 */
export async function runChain(
  p: Pipeline,
  sources: Readonly<Record<string, readonly unknown[]>>,
  random: () => number,
): Promise<ChainRun> {
  const plan = p.plan();
  const shuffles = new Map(
    plan.streams
      .filter((s) => s.role === 'shuffle')
      .map((s) => [s.name, new UnreliableKinesis(s.name, s.shardCount, random)]),
  );
  const leaving = new Map<string, unknown[]>();
  const client = {
    send: async (command: PutRecordsCommand) => {
      const stream = command.input.StreamName as string;
      const kinesis = shuffles.get(stream);
      if (kinesis !== undefined) return kinesis.send(command);
      const records: PutRecordsResultEntry[] = [];
      for (const entry of command.input.Records ?? []) {
        leaving.set(stream, [
          ...(leaving.get(stream) ?? []),
          JSON.parse(Buffer.from(entry.Data as Uint8Array).toString()),
        ]);
        records.push({ SequenceNumber: '1', ShardId: 'shardId-000000000000' });
      }
      return { FailedRecordCount: 0, Records: records };
    },
  };
  const writer = new KinesisRecordWriter({
    client: client as unknown as KinesisClient,
    backoff: { baseMs: 0, capMs: 0 },
    safetyMarginMs: 0,
  });
  const store = crashingStore(new MemoryWindowStore(), random);
  let crashes = 0;
  for (const stage of plan.stages) {
    const runner = new StageRunner({
      pipeline: p,
      stageId: stage.id,
      writer,
      ...(stage.stateful && { store }),
      maxPackBytes: 400 + Math.floor(random() * 2000),
    });
    const input = plan.streams.find((s) => s.name === stage.input);
    const kinesis = shuffles.get(stage.input);
    const shards =
      kinesis !== undefined
        ? kinesis.shards
        : Array.from({ length: input?.shardCount ?? 1 }, (_, shard) =>
            sourceShardRecords(
              stage.input,
              shard,
              (sources[stage.input] ?? []).filter((_, i) => i % (input?.shardCount ?? 1) === shard),
            ),
          );
    for (const records of shards) crashes += await faultyDeliver(runner, records, random);
  }
  const shuffled = [...shuffles.values()].flatMap((k) =>
    k.shards.flat().flatMap((r) => (JSON.parse(Buffer.from(r.data).toString()).e ?? []) as { id: string }[]),
  );
  return {
    values: (stream) => leaving.get(stream) ?? [],
    repeats: shuffled.length - new Set(shuffled.map((e) => e.id)).size,
    crashes,
  };
}

/**
 * Lambda's event source mapping over one shard, with BisectBatchOnFunctionError: batches of random
 * sizes; a partial batch response resumes from its lowest failed record; a batch whose invocation
 * fails (it throws, or crashes after its work is done) is retried as it was, or split in two and each
 * half retried the same way, before the mapping reads on. Returns the failed invocations.
 */
export async function faultyDeliver(
  runner: StageRunner,
  records: readonly InputRecord[],
  random: () => number,
): Promise<number> {
  let crashes = 0;
  let invocations = 0;
  /** Delivers `batch` until it succeeds; resolves with how many of its records are done. */
  const attempt = async (batch: readonly InputRecord[]): Promise<number> => {
    for (;;) {
      invocations += 1;
      if (invocations > 20_000) throw new Error('no progress');
      let failed: readonly string[] | undefined;
      try {
        ({ failedSequenceNumbers: failed } = await runner.run(batch, Date.now() + 60_000));
      } catch {
        // A function error: the batch is delivered again below, whole or bisected.
      }
      if (failed !== undefined && failed.length > 0) {
        const lowest = failed.reduce((a, b) => (BigInt(a) < BigInt(b) ? a : b));
        return batch.findIndex((r) => r.position.sequenceNumber === lowest);
      }
      // Succeeded, unless the invocation crashed after its work (then Lambda saw a function error).
      if (failed !== undefined && random() >= 0.2) return batch.length;
      crashes += 1;
      if (batch.length > 1 && random() < 0.5) {
        const half = Math.ceil(batch.length / 2);
        const first = await attempt(batch.slice(0, half));
        return first < half ? first : half + (await attempt(batch.slice(half)));
      }
    }
  };
  for (let cursor = 0; cursor < records.length; ) {
    cursor += await attempt(records.slice(cursor, cursor + 1 + Math.floor(random() * 10)));
  }
  return crashes;
}

/**
 * A state store that crashes in the middle of a batch's writes now and then: part of a window's or
 * process function's conditional changes, or of a join's buffer writes, is written, then it throws.
 */
export function crashingStore(inner: MemoryWindowStore, random: () => number): StateStore {
  const crashes = () => random() < 0.15;
  return new Proxy(inner, {
    get(target, property, receiver) {
      if (property === 'commitAll') {
        return async (changes: readonly WindowChange[]) => {
          if (!crashes()) return target.commitAll(changes);
          await target.commitAll(changes.filter(() => random() < 0.5));
          throw new Error('crashed in the middle of the state writes');
        };
      }
      if (property === 'writeBuffered') {
        return async (stageId: string, puts: readonly BufferedPut[], deletes: readonly BufferedRecord[]) => {
          if (!crashes()) return target.writeBuffered(stageId, puts, deletes);
          const some = <T>(items: readonly T[]) => items.filter(() => random() < 0.5);
          await target.writeBuffered(stageId, some(puts), some(deletes));
          throw new Error('crashed in the middle of the buffer writes');
        };
      }
      const value = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
