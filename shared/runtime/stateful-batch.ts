import { DeadLetterReasons, RecordProcessingError } from '../operators/record-errors.js';
import { describeValue } from '../windows/duration.js';
import type { AppliedPositions } from './applied-positions.js';
import { ChannelWatermarks } from './channel-watermarks.js';
import type { Decoded } from './decode.js';
import { type PositionLineage, startingPoint } from './inherited-positions.js';
import type { WatermarkStore } from './io/state-store.js';
import type { JoinLateRecord } from './join-stage.js';
import type { OperatorTally } from './operator-counts.js';
import type { Element, InputRecord } from './records.js';
import type { Emitted } from './stage-program.js';
import { END_OF_TIME } from './watermark-records.js';
import type { LateOutputRecord } from './window-stage.js';

/**
 * Receives what a stateful operator's batch (window, join or process function) produced, each output
 * tied to the input record it is reported under.
 */
export interface StatefulBatchSink {
  output(record: Emitted, origin: InputRecord): void;
  filtered(operator: string): void;
  late(record: InputRecord, output: LateOutputRecord | JoinLateRecord): void;
  /** @param correlationId the record's own, when it is known past decoding */
  deadLetter(record: InputRecord, error: RecordProcessingError, correlationId?: string): void;
  /** The batch's per-operator counters, handed to the operators after the stateful one. */
  readonly tally?: OperatorTally;
}

/** A data record of a stateful stage's batch, with what its operator needs beside it. */
export interface Arrival {
  /** The record (for a packed envelope, the envelope as a record of its own). */
  readonly record: InputRecord;
  readonly element: Element;
  readonly key: string;
  readonly time: number;
  /** The stage's watermark when the record arrived (docs/watermarks.md). */
  readonly watermark: number;
}

/** A batch of a stateful stage walked in shard order: its records, and time as they moved it. */
export interface WalkedBatch {
  readonly arrivals: Arrival[];
  /** The watermark after the whole batch. */
  readonly watermark: number;
  /** The watermark before the batch: what the batches before it left. */
  readonly watermarkBefore: number;
  /** The watermark after each record of the batch, by index: where time moved (recordReaching). */
  readonly watermarkAfter: readonly number[];
  readonly channels: ChannelWatermarks;
  /** The highest envelope position applied per upstream channel, saved with the channel watermarks. */
  readonly positions: AppliedPositions;
  readonly channelsVersion: number;
  /** Envelopes the stage before wrote again when it was retried (docs/shuffle.md), dropped. */
  readonly repeats: number;
  /** Envelopes of packs meant for another shard (a stale shard list), dropped: their producer writes them again. */
  readonly misrouted: number;
}

export interface WalkOptions {
  readonly stageId: string;
  /** The stages that write the input stream: the watermark waits until each has spoken. */
  readonly producers: readonly string[];
  /** The stateful operator, for dead letters. */
  readonly operator: string;
  /**
   * Processing time: records are timed by their arrival on the stage's input shard, and the
   * watermark is the latest arrival read (every record still unread arrived later), not the clock
   * when the batch runs: a stage that lags behind its shard would otherwise call its own records late.
   */
  readonly processingTime?: boolean;
  /**
   * The input stream's shard list: a shard born of a reshard starts from its parents' applied
   * positions (a producer's retry can write to it envelopes a parent applied) and from the watermarks
   * they had acted on (a record behind them is late).
   */
  readonly lineage?: PositionLineage;
}

/**
 * Walks a stateful stage's batch in shard order (docs/watermarks.md): watermark records advance the
 * channel watermarks, so that every data record knows the watermark in force when it arrived;
 * envelopes at or below their channel's applied position are repeats and dropped; records that
 * cannot be read, or have no time, are dead-lettered.
 */
export async function walkBatch(
  store: Pick<WatermarkStore, 'loadWatermarks'>,
  records: readonly InputRecord[],
  decoded: readonly (readonly Decoded[] | RecordProcessingError)[],
  deadLetter: (record: InputRecord, error: RecordProcessingError, correlationId?: string) => void,
  options: WalkOptions,
): Promise<WalkedBatch> {
  const first = records[0];
  if (first === undefined) throw new Error(`stage ${options.stageId} got an empty batch`);
  const loaded = await store.loadWatermarks(options.stageId, first.position.shardId);
  const channels = new ChannelWatermarks(loaded?.channels, options.producers);
  const { positions, inherited } = await startingPoint(
    store,
    options.stageId,
    first.position.shardId,
    loaded,
    options.lineage,
    options.producers,
  );
  if (inherited !== undefined) channels.inherit(inherited.floors, inherited.range);
  const processingTime = options.processingTime === true;
  // Processing time: the latest arrival read (Kinesis stamps a shard's records in order, ticks
  // included), or the end of time once every upstream channel has reached the end of its input.
  const watermarkNow = () =>
    !processingTime || channels.current() >= END_OF_TIME ? channels.current() : channels.arrivedBy();
  const watermarkBefore = watermarkNow();
  const arrivals: Arrival[] = [];
  const watermarkAfter: number[] = [];
  let repeats = 0;
  let misrouted = 0;
  decoded.forEach((items, index) => {
    const pack = records[index] as InputRecord;
    // A record stamped at the millisecond that closed a window (or behind it, a clock step on
    // Kinesis's side) is timed just past the progress: in processing time an arrival is never late.
    const earliest = channels.arrivedBy() + 1;
    if (items instanceof RecordProcessingError) {
      deadLetter(pack, items);
      if (processingTime) channels.arrive(pack.position.arrivalTime);
      watermarkAfter.push(watermarkNow());
      return;
    }
    for (const item of items) {
      if (item.kind === 'watermark') {
        // A pack meant for another shard (the producer's shard list was stale): the producer writes it again.
        if (item.record.d !== undefined && item.record.d !== first.position.shardId) continue;
        channels.observe(item.record);
        continue;
      }
      if (item.kind === 'end-of-input') continue;
      if (item.kind === 'invalid') {
        deadLetter(item.record, item.error, item.id);
        continue;
      }
      if (item.from?.dest !== undefined && item.from.dest !== first.position.shardId) {
        misrouted += 1;
        continue;
      }
      if (item.from !== undefined && !positions.admit(item.from.channel, item.from.position, item.element.key)) {
        repeats += 1;
        continue;
      }
      const { element } = item;
      const record = item.record ?? pack;
      const time = processingTime ? Math.max(record.position.arrivalTime, earliest) : element.eventTime;
      if (time === undefined) {
        const error = new RecordProcessingError({
          reason: DeadLetterReasons.operatorError,
          operator: options.operator,
          message: 'record has no event time: give its source an eventTime extractor',
        });
        deadLetter(record, error, element.id);
        continue;
      }
      const key = element.key ?? '';
      // A record behind what its key's parent shard had acted on is late here too (docs/watermarks.md).
      const watermark = processingTime ? watermarkNow() : channels.currentFor(key);
      arrivals.push({ record, element, key, time, watermark });
    }
    if (processingTime) channels.arrive(pack.position.arrivalTime);
    watermarkAfter.push(watermarkNow());
  });
  return {
    arrivals,
    watermark: watermarkNow(),
    watermarkBefore,
    watermarkAfter,
    channels,
    positions,
    channelsVersion: loaded?.version ?? 0,
    repeats,
    misrouted,
  };
}

/**
 * The record of the batch at which the watermark first reached `time`: what a result that time
 * fires (a window's end, a join's outer row, a timer) is reported under, so that its position on the
 * shuffle stream (docs/shuffle.md) is the same however Lambda cuts the batch. Reported under the
 * batch's last record, or the last record of its key, a result fired by a crashed attempt and fired
 * again by a bisected retry would come with a higher position, and the next stage would take it as
 * new. The watermark after a record depends only on the records up to it (the channel watermarks
 * only rise, and are saved with the state of a batch that committed whole), so every attempt finds
 * the same record. A watermark that was past `time` before the batch: the first record.
 */
export function recordReaching(records: readonly InputRecord[], walked: WalkedBatch, time: number): InputRecord {
  const index = walked.watermarkAfter.findIndex((watermark) => watermark >= time);
  return (records[index] ?? records.at(-1)) as InputRecord;
}

/**
 * What a stateful stage made (a window's result or state, a join's pair) as a record of its own, for
 * a dead letter: at the position of the batch record it is reported under, with its own JSON as the
 * payload, so that the letter shows what failed rather than the record that happened to fire it.
 */
export function producedRecord(origin: InputRecord, value: unknown): InputRecord {
  let data: string | undefined;
  try {
    data = JSON.stringify(value);
  } catch {
    data = undefined;
  }
  return { position: origin.position, data: Buffer.from(data ?? JSON.stringify({ notJson: describeValue(value) })) };
}
