import type { DeadLetterError } from '../operators/record-errors.js';
import type { RecordPosition } from './records.js';

/** What the dead-letter stream (or queue) receives: the error, where the record came from, and its bytes. */
export interface DeadLetterEnvelope {
  readonly pipeline: string;
  readonly stage: string;
  readonly correlationId: string;
  readonly error: DeadLetterError;
  readonly source: RecordPosition;
  /**
   * The original payload, base64, so that any bytes (even invalid UTF-8) survive; only its first
   * bytes when `payloadTruncated` says it was cut.
   */
  readonly payload: string;
  /**
   * Set when the payload was cut to fit the destination (a Kinesis record holds 1 MiB, an SQS
   * message 256 KiB; shared/runtime/fit-dead-letter.ts): the original's size and SHA-256, how many
   * of its first bytes `payload` keeps (0: none), and why. The record itself stays in its source
   * stream at `source`, until the stream's retention ends.
   */
  readonly payloadTruncated?: {
    readonly bytes: number;
    readonly sha256: string;
    readonly keptBytes: number;
    readonly reason: string;
  };
  /** Epoch milliseconds. */
  readonly deadLetteredAt: number;
}
