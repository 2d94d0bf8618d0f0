import type { z } from 'zod';
import type { SourceNode } from '../dag/graph.js';
import { checkInputLimits, type InputLimits, resolveInputLimits } from '../operators/input-limits.js';
import { compilePlainCheck, type PlainCheck } from '../operators/plain-schema.js';
import { DeadLetterReasons, type FieldIssue, RecordProcessingError } from '../operators/record-errors.js';
import { parseKnownVersion } from '../operators/schema-versions.js';
import { eventTimeProblem, isValidEventTime } from '../windows/event-time.js';
import { CorruptAggregateError, deaggregate, isAggregated, type UserRecord } from './kpl-aggregate.js';
import { idOfLean } from './lean-envelope.js';
import { correlationIdOf, correlationIds, type Element, type InputRecord, type ShuffleEnvelope } from './records.js';
import { isShufflePack, type ShufflePack } from './shuffle-pack.js';
import { toTableChange } from './table-change.js';
import { isEndOfInput, isTick, isWatermarkRecord, type WatermarkRecord } from './watermark-records.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Where a packed envelope sits in the stream of its producing channel (shuffle-pack.ts). */
export interface ChannelPosition {
  readonly channel: string;
  readonly position: string;
  /** The shard the producer meant the envelope's pack for. */
  readonly dest?: string;
  /** The X-Ray trace id of the invocation that wrote the envelope's pack. */
  readonly trace?: string;
}

/** What an input record holds: data for the operators, or a control record that carries time. */
export type Decoded =
  | {
      readonly kind: 'data';
      readonly element: Element;
      /** Packed envelopes: their channel position, to tell a producer's repeats from new envelopes. */
      readonly from?: ChannelPosition;
      /** Packed envelopes: the envelope alone, as its own record (for dead letters and late outputs). */
      readonly record?: InputRecord;
    }
  | { readonly kind: 'watermark'; readonly record: WatermarkRecord }
  | { readonly kind: 'end-of-input' }
  /**
   * One envelope of a pack that cannot be processed (malformed, or an invalid event time): a dead
   * letter of that envelope alone, so that the rest of its pack goes on (a pack cannot be bisected).
   */
  | {
      readonly kind: 'invalid';
      readonly record: InputRecord;
      readonly error: RecordProcessingError;
      readonly id?: string;
    };

/**
 * Turns a stage's input record into what its first operator receives (several items for a shuffle
 * pack), or throws RecordProcessingError.
 */
export type Decoder = (record: InputRecord) => readonly Decoded[];

function parseJson(record: InputRecord, operator: string, reason: 'malformed-json' | 'malformed-envelope'): unknown {
  let text: string;
  try {
    text = utf8.decode(record.data);
  } catch (error) {
    // Said apart from bad JSON: the bytes are not text at all (the envelope's payload keeps them as they were).
    throw new RecordProcessingError(
      { reason, operator, message: `payload is not valid UTF-8: ${(error as Error).message}` },
      { cause: error },
    );
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new RecordProcessingError(
      { reason, operator, message: `payload is not valid JSON: ${(error as Error).message}` },
      { cause: error },
    );
  }
}

export function fieldIssues(error: z.ZodError): FieldIssue[] {
  return error.issues.map((issue) => ({
    field: issue.path.length === 0 ? '(root)' : issue.path.map(String).join('.'),
    message: issue.message,
  }));
}

function describeIssues(issues: readonly FieldIssue[]): string {
  return issues.map((issue) => `field '${issue.field}': ${issue.message}`).join('; ');
}

/**
 * Source records are the producers' plain JSON, checked against the source's schema; a record over
 * the source's input limits (`limits`, set by the builder) is dead-lettered before it is parsed.
 *
 * A KPL aggregate (kpl-aggregate.ts) is read as its user records, in order, each a record of its own
 * at the aggregate's sequence number and its sub-sequence number: one that fails is dead-lettered
 * alone, and the others go on. Their outputs share the aggregate's sequence number as origin (a
 * partial batch response can only name the Kinesis record), and so their shuffle positions
 * `<sequence number>:<i>` count the outputs of the whole aggregate in order: a retry of the aggregate
 * writes the same positions, which the consumer's fences skip (docs/shuffle.md).
 */
export function sourceDecoder(source: SourceNode & { readonly limits?: InputLimits }): Decoder {
  if (source.dynamoDbStream !== undefined) return tableChangeDecoder(source);
  const operator = source.name;
  const limits = resolveInputLimits(source.limits, `source '${source.name}'`);
  const plain = compilePlainCheck(source.schema);
  // A value the plain check passes is no deeper than the schema: when that is within the limit, a
  // small record is parsed first and its depth scanned only if it does not pass (speculativeParse).
  const speculate = plain !== undefined && plain.maxDepth <= limits.maxDepth;
  const speculativeBytes = Math.min(SPECULATIVE_PARSE_BYTES, limits.maxRecordBytes);
  const schemaValue = (parsed: ReturnType<z.ZodType['safeParse']>): unknown => {
    if (parsed.success) return parsed.data;
    const issues = fieldIssues(parsed.error);
    throw new RecordProcessingError({
      reason: DeadLetterReasons.schemaViolation,
      operator,
      message: `record does not match the schema of source '${source.stream}': ${describeIssues(issues)}`,
      issues,
    });
  };
  const parsedValueOf = (record: InputRecord): unknown => {
    if (speculate && record.data.byteLength <= speculativeBytes) {
      const json = speculativeParse(record.data);
      if (json !== NOT_JSON) {
        if (plain(json)) return json;
        checkInputLimits(record.data, limits, operator);
        return schemaValue(parseWithSchema(source, json));
      }
    }
    // Limits first, as the speculative path would have ended the same way: the same dead letter.
    checkInputLimits(record.data, limits, operator);
    return schemaValue(parseSource(source, parseJson(record, operator, DeadLetterReasons.malformedJson), plain));
  };
  const idOf = correlationIds();
  const elementOfRecord = (record: InputRecord): Element => {
    const value = parsedValueOf(record);
    const id = idOf(record.position);
    if (source.eventTime === undefined) return { id, value };
    return { id, value, eventTime: extractEventTime(source, value) };
  };
  return (record) => {
    if (isEndOfInput(record.position.partitionKey, record.data)) return [{ kind: 'end-of-input' }];
    if (!isAggregated(record.data)) return [{ kind: 'data', element: elementOfRecord(record) }];
    return userRecordsOf(record, operator).map((user): Decoded => {
      try {
        return { kind: 'data', element: elementOfRecord(user), record: user };
      } catch (error) {
        if (!(error instanceof RecordProcessingError)) throw error;
        return { kind: 'invalid', record: user, error, id: correlationIdOf(user.position) };
      }
    });
  };
}

/**
 * A `dynamoDbStream` source's records are DynamoDB stream records (dynamodb-stream-event.ts keeps
 * each as JSON), read as table changes (table-change.ts) whose images the schema checks.
 */
function tableChangeDecoder(source: SourceNode & { readonly limits?: InputLimits }): Decoder {
  const operator = source.name;
  const limits = resolveInputLimits(source.limits, `source '${source.name}'`);
  return (record) => {
    if (isEndOfInput(record.position.partitionKey, record.data)) return [{ kind: 'end-of-input' }];
    checkInputLimits(record.data, limits, operator);
    const json = parseJson(record, operator, DeadLetterReasons.malformedJson);
    const change = toTableChange(json, source.schema, operator, source.stream);
    const id = correlationIdOf(record.position);
    if (source.eventTime === undefined) return [{ kind: 'data', element: { id, value: change } }];
    return [{ kind: 'data', element: { id, value: change, eventTime: extractEventTime(source, change) } }];
  };
}

/** An aggregate's user records as input records of their own; throws RecordProcessingError when it is corrupt. */
function userRecordsOf(record: InputRecord, operator: string): InputRecord[] {
  let users: UserRecord[];
  try {
    users = deaggregate(record.data);
  } catch (error) {
    if (!(error instanceof CorruptAggregateError)) throw error;
    throw new RecordProcessingError(
      { reason: DeadLetterReasons.malformedAggregate, operator, message: `KPL aggregate is corrupt: ${error.message}` },
      { cause: error },
    );
  }
  return users.map((user) => ({
    position: { ...record.position, partitionKey: user.partitionKey, subSequenceNumber: user.subSequenceNumber },
    data: user.data,
  }));
}

/**
 * Source records up to this size may be parsed before their depth is scanned (sourceDecoder): the
 * scan is a tenth of a small record's decoding, and JSON.parse of 64 KiB, however deep (V8's parser
 * does not recurse), costs little memory and time. Larger records are scanned first, as before.
 */
const SPECULATIVE_PARSE_BYTES = 64 * 1024;

const NOT_JSON: unique symbol = Symbol('not JSON');

/** The record's JSON value, or NOT_JSON when it is not UTF-8 JSON (the checked path then says why). */
function speculativeParse(data: Uint8Array): unknown {
  try {
    return JSON.parse(utf8.decode(data));
  } catch {
    return NOT_JSON;
  }
}

/**
 * The source's schema over a record; a record of a version the schema does not know is its own dead
 * letter. A value the schema's plain check passes is its own result (plain-schema.ts), with no copy.
 */
function parseSource(
  source: SourceNode,
  json: unknown,
  plain: PlainCheck | undefined,
): ReturnType<z.ZodType['safeParse']> {
  if (plain?.(json)) return { success: true, data: json };
  return parseWithSchema(source, json);
}

/** zod's parse of the source's schema (its versions', when it has several). */
function parseWithSchema(source: SourceNode, json: unknown): ReturnType<z.ZodType['safeParse']> {
  return parseKnownVersion(source.schema, json, {
    operator: source.name,
    what: `source '${source.stream}'`,
    field: '(version)',
  });
}

function extractEventTime(source: SourceNode, value: unknown): number {
  let time: unknown;
  try {
    time = source.eventTime?.(value);
  } catch (error) {
    throw new RecordProcessingError(
      {
        reason: DeadLetterReasons.operatorError,
        operator: source.name,
        message: `eventTime threw: ${(error as Error).message}`,
      },
      { cause: error },
    );
  }
  const problem = eventTimeProblem(time);
  if (problem !== undefined) {
    throw new RecordProcessingError({
      reason: DeadLetterReasons.invalidEventTime,
      operator: source.name,
      message: `eventTime of source '${source.stream}' returned ${problem}`,
      issues: [{ field: '(eventTime)', message: problem }],
    });
  }
  // Whole milliseconds, as Flink's long timestamps: the join's buffer keys encode integers only.
  return Math.floor(time instanceof Date ? time.getTime() : (time as number));
}

/**
 * Shuffle records are packs of envelopes written by the stage before (shuffle-pack.ts); a lone
 * envelope or watermark record is read too (idle marks, and producers outside Eddy).
 */
export function shuffleDecoder(keyBy: { readonly name: string; readonly stream: string }): Decoder {
  const malformed = (what = 'record') =>
    new RecordProcessingError({
      reason: DeadLetterReasons.malformedEnvelope,
      operator: keyBy.name,
      message: `${what} on shuffle stream '${keyBy.stream}' is not an Eddy envelope ({ id, k, t?, v }) or pack`,
    });
  // Sources refuse such times; an envelope from a producer outside Eddy may still carry one.
  const badTime = (time: unknown) =>
    new RecordProcessingError({
      reason: DeadLetterReasons.invalidEventTime,
      operator: keyBy.name,
      message: `envelope on shuffle stream '${keyBy.stream}' has event time ${eventTimeProblem(time)}`,
      issues: [{ field: 't', message: eventTimeProblem(time) ?? '' }],
    });
  return (record) => {
    if (isTick(record.position.partitionKey, record.data)) return [];
    const json = parseJson(record, keyBy.name, DeadLetterReasons.malformedEnvelope);
    if (isShufflePack(json)) {
      const items: Decoded[] = [];
      if (json.f !== undefined) restoreLeanIds(json, keyBy, record);
      const channel = json.ch;
      const dest = typeof json.d === 'string' ? json.d : undefined;
      const trace = typeof json.tr === 'string' ? json.tr : undefined;
      for (const envelope of json.e) {
        if (!isEnvelope(envelope) || typeof envelope.q !== 'string' || !hasValidTime(envelope)) {
          const error = isEnvelope(envelope) && !hasValidTime(envelope) ? badTime(envelope.t) : malformed('envelope');
          // Its own correlation id when it has one, else the pack's position names it.
          const own = typeof envelope === 'object' && envelope !== null ? (envelope as { id?: unknown }).id : undefined;
          const id = typeof own === 'string' ? own : undefined;
          items.push({
            kind: 'invalid',
            record: new EnvelopeRecord(record, envelope),
            error,
            ...(id !== undefined && { id }),
          });
          continue;
        }
        const position = envelope.q;
        // The pack's fields, without spreading them into each envelope's object.
        const from: ChannelPosition =
          dest === undefined
            ? trace === undefined
              ? { channel, position }
              : { channel, position, trace }
            : trace === undefined
              ? { channel, position, dest }
              : { channel, position, dest, trace };
        items.push({ kind: 'data', element: elementOf(envelope), from, record: new EnvelopeRecord(record, envelope) });
      }
      if (typeof json.wm === 'number' && typeof json.n === 'number') {
        items.push({
          kind: 'watermark',
          record: {
            wm: json.wm,
            ch: json.ch,
            n: json.n,
            ...(typeof json.d === 'string' && { d: json.d }),
            ...(Array.isArray(json.p) && { p: json.p }),
          },
        });
      }
      return items;
    }
    if (isWatermarkRecord(json)) return [{ kind: 'watermark', record: json }];
    if (!isEnvelope(json)) throw malformed();
    if (!hasValidTime(json)) throw badTime(json.t);
    return [{ kind: 'data', element: elementOf(json) }];
  };
}

/**
 * Format 2 (lean-envelope.ts): gives each envelope without an id of its own the id its pack's prefix
 * and its position say, so that the rest of the decoder reads both formats alike. A pack of a format
 * this consumer does not know is a dead letter as a whole, with the format named: its envelopes cannot
 * be told apart.
 */
function restoreLeanIds(
  pack: ShufflePack,
  keyBy: { readonly name: string; readonly stream: string },
  record: InputRecord,
) {
  if (pack.f !== 2) {
    throw new RecordProcessingError({
      reason: DeadLetterReasons.malformedEnvelope,
      operator: keyBy.name,
      message: `pack from channel '${String(pack.ch)}' on shuffle stream '${keyBy.stream}' (sequence number ${record.position.sequenceNumber}) is in format ${JSON.stringify(pack.f)}; this stage reads formats 1 and 2: deploy the stage that reads it before the one that writes it`,
      issues: [{ field: 'f', message: `unknown format ${JSON.stringify(pack.f)}` }],
    });
  }
  const prefix = pack.ip;
  if (typeof prefix !== 'string') return;
  for (const envelope of pack.e as unknown[]) {
    if (typeof envelope !== 'object' || envelope === null) continue;
    const lean = envelope as { id?: unknown; q?: unknown; i?: unknown };
    // An envelope with a malformed position or suffix is left without an id: its own dead letter below.
    if (lean.id !== undefined || typeof lean.q !== 'string' || (lean.i !== undefined && typeof lean.i !== 'string')) {
      continue;
    }
    lean.id = idOfLean(prefix, lean.q, lean.i);
  }
}

function isEnvelope(value: unknown): value is ShuffleEnvelope & { q?: unknown } {
  if (typeof value !== 'object' || value === null) return false;
  const envelope = value as Partial<ShuffleEnvelope>;
  return (
    typeof envelope.id === 'string' &&
    isKey(envelope.k) &&
    'v' in envelope &&
    (envelope.t === undefined || typeof envelope.t === 'number')
  );
}

/**
 * keyBy's keys are Kinesis partition keys, 1 to 256 characters (operators/stateless.ts); a longer
 * one, from a producer outside Eddy, could not key a state item either (DynamoDB's 2 KB partition key).
 */
function isKey(key: unknown): key is string {
  return typeof key === 'string' && key.length > 0 && (key.length <= 256 || [...key].length <= 256);
}

function hasValidTime(envelope: ShuffleEnvelope): boolean {
  return envelope.t === undefined || isValidEventTime(envelope.t);
}

function elementOf(envelope: ShuffleEnvelope): Element {
  const { id, k: key, v: value, s: side } = envelope;
  // Eddy writes whole milliseconds; a producer outside Eddy may not.
  const eventTime = envelope.t === undefined || Number.isInteger(envelope.t) ? envelope.t : Math.floor(envelope.t);
  // The fields an envelope has, and no others (an absent event time stays absent, not undefined).
  if (side === undefined) return eventTime === undefined ? { id, key, value } : { id, key, value, eventTime };
  const element: { -readonly [F in keyof Element]: Element[F] } = { id, key, value };
  if (eventTime !== undefined) element.eventTime = eventTime;
  element.side = side === 'l' ? 'left' : 'right';
  return element;
}

/** The envelope as a record of its own, at the pack's position; its bytes made only if asked for. */
class EnvelopeRecord implements InputRecord {
  readonly position: InputRecord['position'];
  readonly #envelope: unknown;
  #data: Uint8Array | undefined;

  constructor(pack: InputRecord, envelope: unknown) {
    this.position = pack.position;
    this.#envelope = envelope;
  }

  get data(): Uint8Array {
    this.#data ??= Buffer.from(JSON.stringify(this.#envelope) ?? 'null');
    return this.#data;
  }
}
