import type { z } from 'zod';
import type { EventSourceSettings } from '../dag/plan-types.js';
import type { Duration } from '../windows/types.js';

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

export interface SinkOptions extends OperatorOptions {
  /** @default the pipeline's `defaultShards` */
  readonly shards?: number;
}
