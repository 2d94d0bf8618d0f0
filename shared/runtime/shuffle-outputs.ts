import type { PipelinePlan, StageSpec } from '../dag/plan-types.js';
import { DEFAULT_SHUFFLE_FORMAT, type ShuffleFormat } from '../dag/shuffle-format.js';
import { compareSequenceNumbers } from './io/sequence-numbers.js';
import type { OpenShard, ShardDirectory } from './io/shard-directory.js';
import type { OutputRecord } from './records.js';
import { packShuffleOutputs } from './shuffle-pack.js';
import type { WatermarkEmitter } from './watermark-emitter.js';
import { channelId } from './watermark-records.js';

/**
 * Turns a batch's outputs into what the stage writes: envelopes for shuffle streams go into packs
 * per destination shard (shuffle-pack.ts), with the stage's watermark at the end of each pack bound
 * for a stateful consumer; records for sinks, side outputs and dead letters stay as they are.
 */
export class ShuffleOutputs {
  readonly #shuffleStreams: ReadonlySet<string>;
  readonly #format: ShuffleFormat;

  constructor(
    plan: PipelinePlan,
    private readonly stage: StageSpec,
    private readonly directory: ShardDirectory,
    private readonly watermarks: WatermarkEmitter,
    private readonly maxPackBytes?: number,
    /** The current invocation's X-Ray trace id, if tracing is on. */
    private readonly traceId: () => string | undefined = () => undefined,
    /** The format to write. @default the plan's */
    format: ShuffleFormat | undefined = plan.shuffleFormat,
  ) {
    this.#format = format ?? DEFAULT_SHUFFLE_FORMAT;
    this.#shuffleStreams = new Set(
      plan.streams.filter((s) => s.role === 'shuffle' && stage.outputs.includes(s.name)).map((s) => s.name),
    );
  }

  /**
   * @param outputs the batch's outputs; `inInputOrder` when they were emitted in input order
   * @param watermark the stage's watermark on `inputShardId` after the batch, if it has one
   * @param lastOrigin the batch's last input record (the origin of watermark-only packs)
   */
  async prepare(
    outputs: readonly OutputRecord[],
    inputShardId: string,
    watermark: number | undefined,
    lastOrigin: string,
    inInputOrder: boolean,
  ): Promise<readonly OutputRecord[]> {
    // The watermark goes only to shuffle streams: a stage that writes none writes its outputs as they are.
    if (this.#shuffleStreams.size === 0) return outputs;
    const shuffled: OutputRecord[] = [];
    const others: OutputRecord[] = [];
    for (const record of outputs) (this.#shuffleStreams.has(record.stream) ? shuffled : others).push(record);
    const sendsTime = watermark !== undefined && this.watermarks.targets.length > 0;
    if (shuffled.length === 0 && !sendsTime) return outputs;
    const shards = new Map<string, readonly OpenShard[]>();
    for (const stream of this.#shuffleStreams) shards.set(stream, await this.directory.openShards(stream));
    // Positions must rise within each destination shard: order the envelopes by input record.
    const ordered = inInputOrder ? shuffled : shuffled.sort((a, b) => compareSequenceNumbers(a.origin, b.origin));
    const lineage = await this.directory.describeShard?.(this.stage.input, inputShardId);
    const parents = (lineage?.parents ?? []).map((parent) => channelId(this.stage.id, parent));
    const packs = packShuffleOutputs(ordered, {
      channel: channelId(this.stage.id, inputShardId),
      parents,
      ...(this.traceId() !== undefined && { trace: this.traceId() }),
      shards,
      lastOrigin,
      format: this.#format,
      ...(this.maxPackBytes !== undefined && { maxPackBytes: this.maxPackBytes }),
      ...(sendsTime && {
        watermark: {
          streams: this.watermarks.targets,
          value: watermark,
          channels: await this.watermarks.channelCount(),
        },
      }),
    });
    for (const pack of packs) others.push(pack);
    return others;
  }
}
