import type { PipelinePlan, StageSpec } from '../dag/plan-types.js';
import type { Pipeline } from '../dsl/pipeline.js';
import type { RecordWriter } from './io/record-writer.js';
import type { ShardDirectory } from './io/shard-directory.js';
import type { OutputRecord } from './records.js';
import { WatermarkEmitter } from './watermark-emitter.js';

/** Whether a shard of a stream took a record at or after a time (its arrival time, not its event time). */
export interface LatestArrival {
  latestArrival(stream: string, shardId: string, since: Date): Promise<boolean>;
}

export interface IdlenessCheckOptions {
  readonly pipeline: Pipeline;
  readonly arrivals: LatestArrival;
  readonly shards: ShardDirectory;
  readonly writer: RecordWriter;
}

/** What one run of the check found and wrote. */
export interface IdlenessReport {
  /** Channels (`<stage>/<shard>`) found idle, whose marks were written. */
  readonly idle: readonly string[];
  /** Source shards looked at. */
  readonly checked: number;
  /** Idle marks written. */
  readonly marks: number;
  /** Idle marks that could not be written; the next run writes them again. */
  readonly failed: number;
}

interface IdleSource {
  readonly stage: StageSpec;
  readonly idleTimeout: number;
  readonly emitter: WatermarkEmitter;
}

/**
 * Flink's withIdleness for source shards (docs/watermarks.md, "Idle shards"): a source shard that
 * took no record for the source's `idleTimeout` sends no watermark, and would hold back every window
 * downstream. Each run finds those shards and writes an idle mark for their channel to every shard
 * the source stage sends watermarks to. Marks are written again on every run while the shard stays
 * idle: the check keeps no state (a scheduled Lambda), and a repeated mark changes nothing.
 */
export class IdlenessCheck {
  readonly #sources: readonly IdleSource[];

  constructor(private readonly options: IdlenessCheckOptions) {
    this.#sources = idleSources(options.pipeline, options.shards);
  }

  /** Whether any source has an idle timeout: without one there is nothing to check. */
  get enabled(): boolean {
    return this.#sources.length > 0;
  }

  async run(now: Date = new Date(), deadline: number = now.getTime() + 30_000): Promise<IdlenessReport> {
    const idle: string[] = [];
    const records: OutputRecord[] = [];
    let checked = 0;
    for (const { stage, idleTimeout, emitter } of this.#sources) {
      if (emitter.targets.length === 0) continue;
      const since = new Date(now.getTime() - idleTimeout);
      const shards = await this.options.shards.openShards(stage.input);
      const answers = await Promise.all(
        shards.map((shard) => this.options.arrivals.latestArrival(stage.input, shard.shardId, since)),
      );
      checked += shards.length;
      for (const [index, shard] of shards.entries()) {
        if (answers[index] === true) continue;
        idle.push(`${stage.id}/${shard.shardId}`);
        // No input record to trace the marks back to: the origin names the check instead.
        records.push(...(await emitter.idleRecords(shard.shardId, `idleness:${shard.shardId}`)));
      }
    }
    if (records.length === 0) return { idle, checked, marks: 0, failed: 0 };
    const outcome = await this.options.writer.write(records, deadline);
    return { idle, checked, marks: records.length - outcome.failed.length, failed: outcome.failed.length };
  }
}

function idleSources(pipeline: Pipeline, shards: ShardDirectory): IdleSource[] {
  const plan: PipelinePlan = pipeline.plan();
  const sourceStreams = new Set(plan.streams.filter((s) => s.role === 'source').map((s) => s.name));
  const sources: IdleSource[] = [];
  for (const stage of plan.stages) {
    if (!sourceStreams.has(stage.input)) continue;
    const node = pipeline.graph.node(stage.nodes[0] ?? '');
    if (node.kind !== 'source' || node.idleTimeout === undefined) continue;
    sources.push({ stage, idleTimeout: node.idleTimeout, emitter: new WatermarkEmitter(plan, stage, shards) });
  }
  return sources;
}
