/**
 * The control records that carry time between stages (docs/watermarks.md): watermark records on
 * shuffle streams, and the end-of-input marker a bounded run writes to its source streams.
 */

/** The largest time a JavaScript Date holds: the watermark of a finished bounded input. */
export const END_OF_TIME = 8_640_000_000_000_000;

/** Partition key of control records in source streams; producers must not use it. */
export const CONTROL_PARTITION_KEY = '__eddy_control__';

export const END_OF_INPUT_DATA = '{"eddy":"end-of-input"}';

/**
 * A clock tick, written by the scheduled check to every shard feeding a processing-time window
 * stage: it carries nothing but makes the stage run, so windows whose time has passed fire even when
 * no record comes.
 */
export const TICK_DATA = '{"eddy":"tick"}';

/** On a shuffle stream, beside data envelopes (which always have `id`, `k` and `v`). */
export interface WatermarkRecord {
  /** Watermark in epoch ms; absent for an idle mark. */
  readonly wm?: number;
  /** The channel: `<producing stage>/<its input shard>`. */
  readonly ch: string;
  /** How many channels the producing stage has (its input stream's open shards). */
  readonly n: number;
  /** The channel has gone idle: leave it out of the minimum until it sends a watermark again. */
  readonly idle?: true;
  /** The shard the pack was meant for (packs only). */
  readonly d?: string;
  /** Channels this one continues: retired. */
  readonly p?: readonly string[];
}

export function isWatermarkRecord(value: unknown): value is WatermarkRecord {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as Record<string, unknown>;
  return (
    typeof record.ch === 'string' &&
    typeof record.n === 'number' &&
    !('v' in record) &&
    (typeof record.wm === 'number' || record.idle === true)
  );
}

/** The channel id of a stage's input shard. */
export function channelId(stageId: string, shardId: string): string {
  return `${stageId}/${shardId}`;
}

export function isTick(partitionKey: string, data: Uint8Array): boolean {
  return partitionKey === CONTROL_PARTITION_KEY && Buffer.from(data).toString('utf8') === TICK_DATA;
}

export function isEndOfInput(partitionKey: string, data: Uint8Array): boolean {
  return partitionKey === CONTROL_PARTITION_KEY && Buffer.from(data).toString('utf8') === END_OF_INPUT_DATA;
}
