import type { PipelinePlan, StageSpec } from '../dag/plan-types.js';
import type { ShardDirectory } from './io/shard-directory.js';
import type { OutputRecord } from './records.js';
import { channelId, type WatermarkRecord } from './watermark-records.js';

/**
 * Where a stage's time goes: every shard of each shuffle stream that feeds a stateful stage
 * (docs/watermarks.md), since the consumer takes the minimum over channels and each of its shards
 * must hear from each channel. Watermarks ride in the stage's packs (shuffle-outputs.ts); idle marks,
 * which have no data to ride with, are records of their own.
 */
export class WatermarkEmitter {
  /** Shuffle streams whose consumer keeps state; only those need time. */
  readonly targets: readonly string[];

  constructor(
    plan: PipelinePlan,
    private readonly stage: StageSpec,
    private readonly directory: ShardDirectory,
  ) {
    const stateful = new Set(plan.stages.filter((s) => s.stateful).map((s) => s.id));
    this.targets = plan.streams
      .filter((s) => s.role === 'shuffle' && stage.outputs.includes(s.name) && s.consumers.some((c) => stateful.has(c)))
      .map((s) => s.name);
  }

  /**
   * The idle marks of the channel of `inputShardId`, one per target shard: the consumers leave it out
   * of their minimum until it sends a watermark again.
   */
  async idleRecords(inputShardId: string, origin: string): Promise<OutputRecord[]> {
    return this.#toEveryTargetShard(inputShardId, origin, (ch, n) => ({ ch, n, idle: true }));
  }

  /** The producer's channel count: its input stream's open shards. */
  async channelCount(): Promise<number> {
    return Math.max(1, (await this.directory.openShards(this.stage.input)).length);
  }

  async #toEveryTargetShard(
    inputShardId: string,
    origin: string,
    record: (ch: string, n: number) => WatermarkRecord,
  ): Promise<OutputRecord[]> {
    if (this.targets.length === 0) return [];
    const ch = channelId(this.stage.id, inputShardId);
    const data = JSON.stringify(record(ch, await this.channelCount()));
    const records: OutputRecord[] = [];
    for (const stream of this.targets) {
      for (const shard of await this.directory.openShards(stream)) {
        records.push({ stream, partitionKey: ch, explicitHashKey: shard.startingHashKey, data, origin });
      }
    }
    return records;
  }
}
