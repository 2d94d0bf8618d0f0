import type { z } from 'zod';
import type { JoinType } from '../dag/graph.js';
import type { EventSourceSettings } from '../dag/plan-types.js';
import type { InputLimits } from '../operators/input-limits.js';
import type { Duration, WindowAssigner } from '../windows/types.js';

export interface OperatorOptions {
  /** Names the operator in errors, logs and metrics. @default '<kind>-<n>' */
  readonly name?: string;
}

export interface SourceOptions<S extends z.ZodType> {
  /** Validates every record read from the stream; a record that fails goes to the dead-letter stream. */
  readonly schema: S;
  /** The record's event time in epoch milliseconds (a Date is accepted too). */
  readonly eventTime?: (value: z.output<S>) => number | Date;
  /**
   * How far out of order event times may arrive: the watermark trails the highest event time seen on
   * a shard by this much (Flink's forBoundedOutOfOrderness). @default 0
   */
  readonly maxOutOfOrderness?: Duration;
  /**
   * A source shard with no records for this long no longer holds back the watermark (Flink's
   * withIdleness). @default never: an idle shard holds the watermark back
   */
  readonly idleTimeout?: Duration;
  /** @default the pipeline's `defaultShards` */
  readonly shards?: number;
  /** Event source mapping settings of the stage this source triggers. */
  readonly eventSource?: Partial<EventSourceSettings>;
  /**
   * The largest record and the deepest JSON the source stage will parse; a record over either goes to
   * the dead-letter stream unparsed. @default { maxRecordBytes: 1 MiB, maxDepth: 64 }
   */
  readonly limits?: InputLimits;
}

/** What a key extractor may return; the key becomes the Kinesis partition key of the next hop. */
export type KeyValue = string | number;

export interface KeyByOptions extends OperatorOptions {
  /** The shuffle stream's name. @default '<pipeline>-<operator name>' */
  readonly stream?: string;
  /** @default the pipeline's `defaultShards` */
  readonly shards?: number;
  /** Event source mapping settings of the stage that reads the shuffle stream. */
  readonly eventSource?: Partial<EventSourceSettings>;
}

/** How two streams are joined: by key, and by event time (an interval, or a shared window). */
export interface JoinOptions<L, R> extends OperatorOptions {
  /** The join key of a left record. */
  readonly left: (value: L) => KeyValue;
  /** The join key of a right record. */
  readonly right: (value: R) => KeyValue;
  /**
   * Interval join (Flink's intervalJoin): a left record at t joins every right record of its key
   * with an event time in [t - before, t + after].
   */
  readonly within?: { readonly before?: Duration; readonly after?: Duration };
  /** Window join: left and right records of a key in the same window (tumbling or hopping). */
  readonly window?: WindowAssigner;
  /**
   * Interval joins only: 'left', 'right' or 'full' also emit each record of that side that found no
   * partner, with `null` for the other side, once the watermark has passed its interval. @default 'inner'
   */
  readonly type?: JoinType;
  /** How far behind the watermark a record may still join. @default 0 */
  readonly allowedLateness?: Duration;
  /** Stream that receives records too late to join. @default '<pipeline>-<join name>-late' */
  readonly lateOutput?: string;
  /** The join stream's name (both sides write it). @default '<pipeline>-<join name>' */
  readonly stream?: string;
  /** @default the pipeline's `defaultShards` */
  readonly shards?: number;
  /** Event source mapping settings of the stage that joins. */
  readonly eventSource?: Partial<EventSourceSettings>;
}

export interface SinkOptions extends OperatorOptions {
  /** @default the pipeline's `defaultShards` */
  readonly shards?: number;
}
