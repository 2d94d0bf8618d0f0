import { PipelineDefinitionError } from '../dag/errors.js';
import { DeadLetterReasons, RecordProcessingError } from './record-errors.js';

/**
 * What a source stage agrees to parse. A source record is read from a stream that producers outside
 * the pipeline write: a record over either limit goes to the dead-letter stream with the reason,
 * without its schema running (and, over 64 KiB, without JSON.parse: decode.ts parses a small record
 * first when its schema bounds the depth), so a hostile or broken producer cannot make a stage spend
 * its memory or time on it.
 */
export interface InputLimits {
  /** Largest payload, in bytes. @default 1 MiB (1,048,576), Kinesis' usual record limit */
  readonly maxRecordBytes?: number;
  /**
   * Deepest nesting of JSON objects and arrays: `{}` and `[]` are depth 1, `{"a":[1]}` depth 2,
   * a scalar depth 0. @default 64
   */
  readonly maxDepth?: number;
}

export const DEFAULT_INPUT_LIMITS: Required<InputLimits> = Object.freeze({ maxRecordBytes: 1024 * 1024, maxDepth: 64 });

/** Kinesis' largest record (data blob), since records of up to 10 MiB were allowed. */
const MAX_KINESIS_RECORD_BYTES = 10 * 1024 * 1024;
const MAX_DEPTH = 10_000;

/** The limits with their defaults, checked; mistakes are reported when the pipeline is built. */
export function resolveInputLimits(limits: InputLimits | undefined, label: string): Required<InputLimits> {
  const resolved = { ...DEFAULT_INPUT_LIMITS, ...stripUndefined(limits ?? {}) };
  const { maxRecordBytes, maxDepth } = resolved;
  if (!Number.isInteger(maxRecordBytes) || maxRecordBytes < 1 || maxRecordBytes > MAX_KINESIS_RECORD_BYTES) {
    throw new PipelineDefinitionError(
      `limits.maxRecordBytes must be an integer from 1 to ${MAX_KINESIS_RECORD_BYTES} (10 MiB), got ${maxRecordBytes}`,
      label,
    );
  }
  if (!Number.isInteger(maxDepth) || maxDepth < 1 || maxDepth > MAX_DEPTH) {
    throw new PipelineDefinitionError(
      `limits.maxDepth must be an integer from 1 to ${MAX_DEPTH}, got ${maxDepth}`,
      label,
    );
  }
  return resolved;
}

function stripUndefined(limits: InputLimits): InputLimits {
  return Object.fromEntries(Object.entries(limits).filter(([, value]) => value !== undefined));
}

const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * Whether JSON text nests objects and arrays deeper than `maxDepth`, by one pass over its bytes,
 * without parsing it: brackets inside strings do not count. UTF-8 is safe to scan byte by byte (no
 * byte of a multi-byte character is below 0x80). Malformed text gives some answer; JSON.parse
 * reports it afterwards.
 */
export function exceedsDepth(data: Uint8Array, maxDepth: number): boolean {
  // Nesting deeper than maxDepth takes more than maxDepth opening brackets: most records have a few,
  // and counting them is a simpler loop than following strings.
  if (!hasMoreOpenings(data, maxDepth)) return false;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < data.length; i += 1) {
    const byte = data[i];
    if (inString) {
      if (byte === BACKSLASH) i += 1;
      else if (byte === QUOTE) inString = false;
    } else if (byte === QUOTE) {
      inString = true;
    } else if (byte === OPEN_BRACE || byte === OPEN_BRACKET) {
      depth += 1;
      if (depth > maxDepth) return true;
    } else if (byte === CLOSE_BRACE || byte === CLOSE_BRACKET) {
      depth -= 1;
    }
  }
  return false;
}

/** Whether the bytes hold more than `limit` of '{' and '[' together, inside strings or not. */
function hasMoreOpenings(data: Uint8Array, limit: number): boolean {
  let openings = 0;
  for (let i = 0; i < data.length; i += 1) {
    // '{' (0x7b) and '[' (0x5b) differ in bit 0x20 only: no other byte gives 0x7b with it set.
    if (((data[i] as number) | 0x20) === OPEN_BRACE) {
      openings += 1;
      if (openings > limit) return true;
    }
  }
  return false;
}

/**
 * Throws RecordProcessingError (reason `record-too-large` or `too-deeply-nested`) for a payload
 * over the limits; called before the payload is decoded.
 */
export function checkInputLimits(data: Uint8Array, limits: Required<InputLimits>, operator: string): void {
  if (data.byteLength > limits.maxRecordBytes) {
    throw new RecordProcessingError({
      reason: DeadLetterReasons.recordTooLarge,
      operator,
      message: `record is ${data.byteLength} bytes, over the source's limit of ${limits.maxRecordBytes} (limits.maxRecordBytes); not parsed`,
    });
  }
  if (exceedsDepth(data, limits.maxDepth)) {
    throw new RecordProcessingError({
      reason: DeadLetterReasons.tooDeeplyNested,
      operator,
      message: `record nests objects and arrays deeper than the source's limit of ${limits.maxDepth} (limits.maxDepth); not parsed`,
    });
  }
}
