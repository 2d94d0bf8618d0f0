import { createHash } from 'node:crypto';
import type { DeadLetterError, FieldIssue } from '../operators/record-errors.js';
import type { DeadLetterEnvelope } from './dead-letter.js';

/**
 * Dead letters always fit their destination (docs/reliability.md, "Dead letters"): a Kinesis record
 * holds 1 MiB with its partition key, an SQS message 256 KiB. A letter that would not fit is
 * retried and then discarded with its batch, and in a stateless stage the rest of the batch is
 * written again at every retry: the one letter that must never be lost would take good records down.
 *
 * So every envelope's error is bounded (message, issues), and an envelope still too large keeps only
 * the first bytes of its payload, with the original's size and SHA-256 in `payloadTruncated`. Its
 * source position is always kept: the record can be read again from its stream until its retention
 * ends.
 */

/** The longest error message a dead letter keeps, in UTF-16 units. */
export const MAX_ERROR_MESSAGE_CHARS = 4096;
/** The most field issues a dead letter keeps (a schema violation of a large record can have thousands). */
export const MAX_ISSUES = 20;
/** The longest field path and issue message kept, each. */
export const MAX_ISSUE_CHARS = 512;

/** A dead letter ready for its destination: the (possibly cut) envelope and its JSON. */
export interface FittedDeadLetter {
  readonly envelope: DeadLetterEnvelope;
  readonly data: string;
}

/** Thrown when an envelope cannot fit even without payload: a bug, its other fields are bounded. */
export class DeadLetterFitError extends Error {
  override readonly name = 'DeadLetterFitError';
}

/**
 * The envelope, its error bounded, and its payload cut when the whole would exceed `maxBytes` (the
 * destination's limit for the JSON, in UTF-8 bytes, less what else the destination counts, e.g. the
 * partition key). `destination` names the limit in the reason. Idempotent: a letter fitted for the
 * stream can be fitted again for a smaller queue; the original's size and hash stay.
 */
export function fitDeadLetter(envelope: DeadLetterEnvelope, maxBytes: number, destination: string): FittedDeadLetter {
  const bounded = boundError(envelope);
  const data = JSON.stringify(bounded);
  if (fits(data, maxBytes)) return { envelope: bounded, data };

  const prefix = Buffer.from(bounded.payload, 'base64');
  const original = bounded.payloadTruncated ?? { bytes: prefix.length, sha256: sha256(prefix) };
  const cut = (kept: number, error: DeadLetterError): DeadLetterEnvelope => {
    const position = bounded.source;
    return {
      ...bounded,
      error,
      payload: prefix.subarray(0, kept).toString('base64'),
      payloadTruncated: {
        bytes: original.bytes,
        sha256: original.sha256,
        keptBytes: kept,
        reason:
          `the envelope was over the limit of ${destination}: the payload keeps its first ${kept} of ${original.bytes} ` +
          `bytes; the record stays in stream ${position.stream} at shard ${position.shardId}, sequence number ` +
          `${position.sequenceNumber}, until its retention ends`,
      },
    };
  };
  for (const error of [bounded.error, shortened(bounded.error)]) {
    // Base64 takes 4 characters per 3 bytes; the numbers in the reason take at most as many digits as with 0.
    const skeleton = Buffer.byteLength(JSON.stringify(cut(0, error)));
    const digitsSlack = 2 * String(prefix.length).length;
    let kept = Math.min(prefix.length, Math.max(0, Math.floor((maxBytes - skeleton - digitsSlack) / 4) * 3));
    for (;;) {
      const fitted = cut(kept, error);
      const json = JSON.stringify(fitted);
      if (fits(json, maxBytes)) return { envelope: fitted, data: json };
      if (kept === 0) break;
      kept = Math.max(0, kept - 3 * Math.ceil((Buffer.byteLength(json) - maxBytes) / 4) - 3);
    }
  }
  throw new DeadLetterFitError(
    `dead letter of ${bounded.correlationId} does not fit in ${maxBytes} bytes (${destination}) even without payload`,
  );
}

/** The error with its message and issues within the module's bounds (a note says what was cut). */
export function boundError(envelope: DeadLetterEnvelope): DeadLetterEnvelope {
  const { error } = envelope;
  const issues = error.issues;
  const longMessage = error.message.length > MAX_ERROR_MESSAGE_CHARS;
  const longIssues =
    issues !== undefined &&
    (issues.length > MAX_ISSUES ||
      issues.some((i) => i.field.length > MAX_ISSUE_CHARS || i.message.length > MAX_ISSUE_CHARS));
  if (!longMessage && !longIssues) return envelope;
  return { ...envelope, error: bounded(error, MAX_ERROR_MESSAGE_CHARS, MAX_ISSUES) };
}

function shortened(error: DeadLetterError): DeadLetterError {
  return bounded(error, 1024, 0);
}

function bounded(error: DeadLetterError, messageChars: number, issueCount: number): DeadLetterError {
  const message =
    error.message.length > messageChars
      ? `${error.message.slice(0, messageChars)}... (${error.message.length - messageChars} more characters)`
      : error.message;
  if (error.issues === undefined) return { ...error, message };
  const kept: FieldIssue[] = error.issues.slice(0, issueCount).map((issue) => ({
    field: clip(issue.field),
    message: clip(issue.message),
  }));
  const left = error.issues.length - kept.length;
  if (left > 0) kept.push({ field: '(more)', message: `${left} more issue(s) left out to fit the dead letter` });
  return { ...error, message, issues: kept };
}

function clip(text: string): string {
  return text.length > MAX_ISSUE_CHARS ? `${text.slice(0, MAX_ISSUE_CHARS)}...` : text;
}

function fits(json: string, maxBytes: number): boolean {
  // A UTF-16 unit is at most 3 bytes of UTF-8: most letters are far below the limit without counting.
  return json.length * 3 <= maxBytes || Buffer.byteLength(json) <= maxBytes;
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
