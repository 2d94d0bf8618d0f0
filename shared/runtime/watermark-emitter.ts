import type { PipelinePlan, StageSpec } from '../dag/plan-types.js';
import type { ShardDirectory } from './io/shard-directory.js';
import type { OutputRecord } from './records.js';
import { channelId, type WatermarkRecord } from './watermark-records.js';

/**
 * Writes a stage's watermark, in-band, to every shard of each shuffle stream that feeds a stateful
 * stage (docs/watermarks.md): the consumer takes the minimum over channels, so each of its shards
 * must hear from each channel.
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

  /** The records that carry `watermark` for the channel of `inputShardId`, one per target shard. */
  async records(inputShardId: string, watermark: number, origin: string): Promise<OutputRecord[]> {
    return this.#toEveryTargetShard(inputShardId, origin, (ch, n) => ({ wm: watermark, ch, n }));
  }

  /**
   * The idle marks of the channel of `inputShardId`, one per target shard: the consumers leave it out
   * of their minimum until it sends a watermark again.
   */
  async idleRecords(inputShardId: string, origin: string): Promise<OutputRecord[]> {
    return this.#toEveryTargetShard(inputShardId, origin, (ch, n) => ({ ch, n, idle: true }));
  }

  async #toEveryTargetShard(
    inputShardId: string,
    origin: string,
    record: (ch: string, n: number) => WatermarkRecord,
  ): Promise<OutputRecord[]> {
    if (this.targets.length === 0) return [];
    const channels = (await this.directory.openShards(this.stage.input)).length;
    const ch = channelId(this.stage.id, inputShardId);
    const data = JSON.stringify(record(ch, Math.max(1, channels)));
    const records: OutputRecord[] = [];
    for (const stream of this.targets) {
      for (const shard of await this.directory.openShards(stream)) {
        records.push({ stream, partitionKey: ch, explicitHashKey: shard.startingHashKey, data, origin });
      }
    }
    return records;
  }
}
