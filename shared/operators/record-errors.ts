/**
 * Why one record failed, in the words of the operator that refused it: what operators throw and the
 * runtime turns into a dead letter (shared/runtime/dead-letter.ts). Pure vocabulary, so that operator
 * semantics need nothing from the runtime.
 */
/** Why a record was dead-lettered. */
export const DeadLetterReasons = {
  /** The payload is not valid JSON (or not UTF-8). */
  malformedJson: 'malformed-json',
  /** The payload does not match the source's schema. */
  schemaViolation: 'schema-violation',
  /**
   * The record says a schema version its source does not accept (`versions()`,
   * shared/operators/schema-versions.ts); the message names it and the versions accepted.
   */
  unknownSchemaVersion: 'unknown-schema-version',
  /** A shuffle record that is not an Eddy envelope. */
  malformedEnvelope: 'malformed-envelope',
  /**
   * The source's `eventTime` returned no valid event time (not a number or Date, not finite, or
   * outside ±2^51 ms: shared/windows/event-time.ts); not processed further.
   */
  invalidEventTime: 'invalid-event-time',
  /** A user function threw or returned something the runtime cannot use. */
  operatorError: 'operator-error',
  /** The output cannot be written to Kinesis (too large, not serialisable). */
  unwritableOutput: 'unwritable-output',
  /** Applying the record would grow a window's state past what a DynamoDB item can hold. */
  stateTooLarge: 'state-too-large',
  /** A source record over its source's `limits.maxRecordBytes`; not parsed. */
  recordTooLarge: 'record-too-large',
  /**
   * A source record that starts with the KPL's magic bytes but cannot be de-aggregated (its MD5 does
   * not match, its protobuf is truncated, or a key index points outside its table): one dead letter
   * for the whole Kinesis record, since none of its user records can be trusted.
   */
  malformedAggregate: 'malformed-aggregate',
  /**
   * A DynamoDB stream record that is not a change Eddy can read: an unknown eventName, no Keys, an
   * image missing for its eventName (the stream's StreamViewType is not NEW_AND_OLD_IMAGES), or an
   * attribute value that cannot be unmarshalled; the issues name the field.
   */
  malformedChange: 'malformed-change',
  /** A source record whose JSON nests deeper than its source's `limits.maxDepth`; not parsed. */
  tooDeeplyNested: 'too-deeply-nested',
  /**
   * A record too late for a window or join that has no late stream (the pipeline's `lateRecords:
   * 'dead-letter'`): `late` says its key, event time and the watermark it missed.
   */
  late: 'late',
} as const;
export type DeadLetterReason = (typeof DeadLetterReasons)[keyof typeof DeadLetterReasons];

export interface FieldIssue {
  /** Dotted path of the offending field, `(root)` for the record itself. */
  readonly field: string;
  readonly message: string;
}

export interface DeadLetterError {
  readonly reason: DeadLetterReason;
  readonly message: string;
  /** The operator that failed (its name in the pipeline). */
  readonly operator: string;
  /** For schema violations: every field that failed. */
  readonly issues?: readonly FieldIssue[];
  /** For late records: the record's key and event time and the watermark it missed, epoch ms. */
  readonly late?: { readonly key: string; readonly time: number; readonly watermark: number };
}

/** Raised inside a stage for one record; turned into a dead letter, never into a failed batch. */
export class RecordProcessingError extends Error {
  override readonly name = 'RecordProcessingError';

  constructor(
    readonly detail: DeadLetterError,
    options?: ErrorOptions,
  ) {
    super(`${detail.operator}: ${detail.message}`, options);
  }
}
