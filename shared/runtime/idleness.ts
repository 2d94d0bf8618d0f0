import type { PipelinePlan, StageSpec } from '../dag/plan-types.js';
import type { Pipeline } from '../dsl/pipeline.js';
import type { RecordWriter } from './io/record-writer.js';
import type { ShardDirectory } from './io/shard-directory.js';
import type { OutputRecord } from './records.js';
import { WatermarkEmitter } from './watermark-emitter.js';
import { CONTROL_PARTITION_KEY, TICK_DATA } from './watermark-records.js';

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
  /** Clock ticks written to the shards that feed processing-time window stages. */
  readonly ticks: number;
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
 * The pipeline's clock, run on a schedule (EventBridge in the cloud, a timer locally):
 *
 * - Flink's withIdleness for source shards (docs/watermarks.md, "Idle shards"): a source shard that
 *   took no record for the source's `idleTimeout` sends no watermark, and would hold back every
 *   window downstream. Each run finds those shards and writes an idle mark for their channel to every
 *   shard the source stage sends watermarks to. Marks are written again on every run while the shard
 *   stays idle: the check keeps no state (a scheduled Lambda), and a repeated mark changes nothing.
 * - Processing-time windows: a tick to every shard that feeds a processing-time window stage, so
 *   that its windows fire when their time has passed although no record comes (a Lambda stage only
 *   runs when records arrive).
 */
export class IdlenessCheck {
  readonly #sources: readonly IdleSource[];
  /** Input streams of stages with processing-time windows. */
  readonly #ticked: readonly string[];

  constructor(private readonly options: IdlenessCheckOptions) {
    this.#sources = idleSources(options.pipeline, options.shards);
    this.#ticked = processingTimeInputs(options.pipeline);
  }

  /** Whether there is anything to do: a source with an idle timeout, or a processing-time window. */
  get enabled(): boolean {
    return this.#sources.length > 0 || this.#ticked.length > 0;
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
    const marks = records.length;
    for (const stream of this.#ticked) {
      for (const shard of await this.options.shards.openShards(stream)) {
        records.push({
          stream,
          partitionKey: CONTROL_PARTITION_KEY,
          explicitHashKey: shard.startingHashKey,
          data: TICK_DATA,
          origin: `tick:${shard.shardId}`,
        });
      }
    }
    if (records.length === 0) return { idle, checked, marks: 0, ticks: 0, failed: 0 };
    const outcome = await this.options.writer.write(records, deadline);
    const failed = new Set(outcome.failed);
    return {
      idle,
      checked,
      marks: records.slice(0, marks).filter((record) => !failed.has(record)).length,
      ticks: records.slice(marks).filter((record) => !failed.has(record)).length,
      failed: outcome.failed.length,
    };
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

/**
 * The input streams of stateful stages whose window runs on processing time, or whose process
 * function has processing-time timers; each once, though several stages may read one (a tick on
 * the stream reaches them all).
 */
export function processingTimeInputs(pipeline: Pipeline): string[] {
  const stages = pipeline.plan().stages.filter((stage) => {
    if (!stage.stateful) return false;
    const input = pipeline.graph.node(stage.nodes[0] ?? '');
    return pipeline.graph
      .children(input.name)
      .some(
        (node) =>
          stage.nodes.includes(node.name) &&
          ((node.kind === 'window' && node.assigner.timeDomain === 'processing') ||
            (node.kind === 'process' && node.processingTimers)),
      );
  });
  return [...new Set(stages.map((stage) => stage.input))];
}
