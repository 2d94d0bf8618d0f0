/**
 * Runs a whole pipeline in process, stage after stage, on in-memory I/O: each stage's StageRunner
 * (the code the Lambda handler runs, without middy and Powertools) reads its input stream's records
 * in Lambda-sized batches per shard, and writes to a writer that keeps its records for the stages
 * that read them, with a MemoryWindowStore for state. No emulator and no network: what is left is
 * Eddy's own work per event, the figure to set beside a stream processor's per-core throughput.
 *
 * A stage runs once every record of its input stream is there (stages in plan order; the planner
 * emits a stage after the stages that write its input), so every batch of a stage is full and
 * every watermark has arrived: the fastest order for Eddy, the order a backlog gives Lambda.
 */
import { createHash } from 'node:crypto';
import type { Pipeline } from '../shared/dsl/pipeline.js';
import { MemoryWindowStore } from '../shared/runtime/io/memory-window-store.js';
import type { RecordWriter, WriteOutcome } from '../shared/runtime/io/record-writer.js';
import { UniformShardDirectory } from '../shared/runtime/io/shard-directory.js';
import type { InputRecord, OutputRecord } from '../shared/runtime/records.js';
import { StageRunner } from '../shared/runtime/stage-runner.js';
import { CONTROL_PARTITION_KEY, END_OF_INPUT_DATA } from '../shared/runtime/watermark-records.js';

export interface StageCost {
  readonly stageId: string;
  /** Data and control records the stage's batches held. */
  readonly records: number;
  readonly batches: number;
  /** CPU time of the stage's batches (user + system), ms. */
  readonly cpuMs: number;
}

export interface InProcessRun {
  /** The data of every record written to each stream that no stage reads (sinks, late outputs, dead letters). */
  readonly outputs: ReadonlyMap<string, readonly string[]>;
  readonly stages: readonly StageCost[];
  /** CPU time of every stage together, ms. */
  readonly cpuMs: number;
}

/** A record as Kinesis routes it: by its explicit hash key, else by the MD5 of its partition key. */
export interface RoutedRecord {
  readonly data: string;
  readonly partitionKey: string;
  readonly explicitHashKey?: string;
}

const HASH_SPACE = 2n ** 128n;

/** The shard of a stream of `shards` uniform shards (UniformShardDirectory's) that Kinesis puts the record in. */
export function uniformShardIndex(record: RoutedRecord, shards: number): number {
  const key =
    record.explicitHashKey !== undefined
      ? BigInt(record.explicitHashKey)
      : BigInt(`0x${createHash('md5').update(record.partitionKey).digest('hex')}`);
  return Number((key * BigInt(shards)) / HASH_SPACE);
}

class KeepingWriter implements RecordWriter {
  readonly kept: OutputRecord[] = [];

  async write(records: readonly OutputRecord[]): Promise<WriteOutcome> {
    for (const record of records) this.kept.push(record);
    return { failed: [], requests: 1 };
  }
}

/**
 * The records waiting in one shard of a stream, kept a few strings per batch rather than an object
 * and strings per record: held per record, a stage's outputs survived every young collection of the
 * stages timed after them, each copied once or twice by the garbage collector of the very runs being
 * measured, where a Lambda function's outputs leave it at the end of its batch. A batch's records are
 * joined into one text (`seal`), with their bounds in a number array: a large string is not copied
 * by young collections. (Bytes in Buffers did as well for stateless queries, but their external
 * memory set off full collections that the joins' large state made slow.)
 */
class Lane {
  #pending: RoutedRecord[] = [];
  readonly #texts: string[] = [];
  /** Per record: its text, and where its data, partition key and explicit hash key (empty when none) end in it. */
  readonly #bounds: number[] = [];

  get length(): number {
    return this.#bounds.length / 4;
  }

  push(record: RoutedRecord): void {
    this.#pending.push(record);
  }

  /** Joins the records pushed since the last seal into one text. */
  seal(): void {
    if (this.#pending.length === 0) return;
    const text = this.#texts.length;
    let end = 0;
    const parts: string[] = [];
    for (const record of this.#pending) {
      const hashKey = record.explicitHashKey ?? '';
      parts.push(record.data, record.partitionKey, hashKey);
      end += record.data.length;
      const dataEnd = end;
      end += record.partitionKey.length;
      const keyEnd = end;
      end += hashKey.length;
      this.#bounds.push(text, dataEnd, keyEnd, end);
    }
    this.#texts.push(parts.join(''));
    this.#pending = [];
  }

  /** Record `i`'s data as bytes, its partition key as text. */
  at(i: number): { readonly data: Buffer; readonly partitionKey: string } {
    const text = this.#texts[this.#bounds[4 * i] as number] as string;
    const start = i === 0 || this.#bounds[4 * i - 4] !== this.#bounds[4 * i] ? 0 : (this.#bounds[4 * i - 1] as number);
    const dataEnd = this.#bounds[4 * i + 1] as number;
    const keyEnd = this.#bounds[4 * i + 2] as number;
    return { data: Buffer.from(text.slice(start, dataEnd)), partitionKey: text.slice(dataEnd, keyEnd) };
  }

  *data(): Generator<string> {
    for (let i = 0; i < this.length; i += 1) yield this.at(i).data.toString('utf8');
  }
}

/**
 * Runs `pipeline` over `inputs` (source stream -> the data of its records, in order), each source
 * ending with an end-of-input mark on every shard. `batchSize` caps each stage's batches (Lambda's
 * default for Eddy's stages is their `eventSource.batchSize`).
 */
export async function runPipelineInProcess(
  pipeline: Pipeline,
  inputs: ReadonlyMap<string, readonly string[]>,
  options: { readonly batchSize?: number } = {},
): Promise<InProcessRun> {
  const plan = pipeline.plan();
  const shardCounts = new Map(plan.streams.map((s) => [s.name, s.shardCount]));
  const shards = new UniformShardDirectory(shardCounts);
  const shardsOf = (stream: string) => shardCounts.get(stream) ?? 1;
  // Per stream, per shard: the records waiting for the stage that reads the stream.
  const waiting = new Map<string, Lane[]>();
  const lanesOf = (stream: string) => {
    let lanes = waiting.get(stream);
    if (lanes === undefined) {
      lanes = Array.from({ length: shardsOf(stream) }, () => new Lane());
      waiting.set(stream, lanes);
    }
    return lanes;
  };
  const put = (stream: string, record: RoutedRecord): void => {
    lanesOf(stream)[uniformShardIndex(record, shardsOf(stream))]?.push(record);
  };
  for (const [stream, lines] of inputs) {
    for (const [i, data] of lines.entries()) put(stream, { data, partitionKey: `p${i % 9973}` });
    for (const lane of lanesOf(stream)) {
      lane.push({ data: END_OF_INPUT_DATA, partitionKey: CONTROL_PARTITION_KEY });
      lane.seal();
    }
  }

  const read = new Set(plan.stages.map((s) => s.input));
  const stages: StageCost[] = [];
  let sequence = 49_000_000_000_000_000_000_000_000n;
  for (const stage of plan.stages) {
    const writer = new KeepingWriter();
    const runner = new StageRunner({
      pipeline,
      stageId: stage.id,
      writer,
      shards,
      ...(stage.stateful && { store: new MemoryWindowStore() }),
    });
    const batchSize = options.batchSize ?? stage.eventSource.batchSize;
    let records = 0;
    let batches = 0;
    let cpuMs = 0;
    const lanes = lanesOf(stage.input);
    waiting.delete(stage.input);
    for (const [shard, lane] of lanes.entries()) {
      const shardId = `shardId-${String(shard).padStart(12, '0')}`;
      for (let from = 0; from < lane.length; from += batchSize) {
        const batch: InputRecord[] = [];
        for (let i = from; i < Math.min(from + batchSize, lane.length); i += 1) {
          const record = lane.at(i);
          sequence += 1n;
          batch.push({
            position: {
              stream: stage.input,
              shardId,
              sequenceNumber: sequence.toString(),
              partitionKey: record.partitionKey,
              arrivalTime: 0,
            },
            data: record.data,
          });
        }
        const before = process.cpuUsage();
        const { report } = await runner.run(batch, Date.now() + 900_000);
        const used = process.cpuUsage(before);
        cpuMs += (used.user + used.system) / 1000;
        if (report.failedRecords > 0) throw new Error(`${stage.id}: ${report.failedRecords} records failed`);
        records += batch.length;
        batches += 1;
        for (const out of writer.kept.splice(0)) {
          put(out.stream, {
            data: out.data,
            partitionKey: out.partitionKey,
            ...(out.explicitHashKey !== undefined && { explicitHashKey: out.explicitHashKey }),
          });
        }
        for (const written of waiting.values()) for (const lane of written) lane.seal();
      }
    }
    stages.push({ stageId: stage.id, records, batches, cpuMs });
  }

  const outputs = new Map<string, string[]>();
  for (const [stream, lanes] of waiting) {
    if (read.has(stream)) throw new Error(`${stream} was written after the stage that reads it ran`);
    outputs.set(
      stream,
      lanes.flatMap((lane) => [...lane.data()]),
    );
  }
  return { outputs, stages, cpuMs: stages.reduce((sum, s) => sum + s.cpuMs, 0) };
}
