import { createHash } from 'node:crypto';
import { type DeadLetterError, DeadLetterReasons, RecordProcessingError } from '../operators/record-errors.js';

/**
 * The semantics of the message sinks (`toSqs`, `toEventBridge`, `toFirehose`; docs/sinks.md), as
 * pure functions: what a record becomes for each service, its deterministic id, and the limits of
 * each service's batch API. The writers (runtime/io/destination-writer.ts) do the I/O.
 *
 * Each output gets an id that depends only on its identity in the pipeline (the operator and the
 * element's id: the source position, extended per flatMap output; a window result's window), so a
 * repeat of the output after a Lambda retry, a worker kill or a replayed shuffle pack has the same
 * id: SQS FIFO drops it within its deduplication interval, other consumers dedupe by it.
 */

export type DestinationService = 'sqs' | 'eventbridge' | 'firehose';

/** The field (or SQS message attribute) that carries an output's id. */
export const DESTINATION_ID_FIELD = 'eddyId';

/**
 * Each service's batch limits, as AWS documents them (checked 2026-12):
 * - SQS SendMessageBatch: 10 entries; a message and a whole batch at most 1 MiB (1,048,576 bytes,
 *   raised from 256 KiB in 2025), body and attributes (name, type and value) counted.
 * - EventBridge PutEvents: 10 entries; an entry at most 1 MiB (raised from 256 KB in January 2026),
 *   sized as "Calculating PutEvents event entry size" says (Time 14 bytes, Source, DetailType,
 *   Detail and Resources in UTF-8); the request's entries together kept under the same limit.
 * - Firehose PutRecordBatch: 500 records, 4 MiB per call, 1,000 KiB per record (before base64).
 */
export const DestinationLimits = {
  sqs: { entries: 10, entryBytes: 1_048_576, batchBytes: 1_048_576 },
  eventbridge: { entries: 10, entryBytes: 1_048_576, batchBytes: 1_048_576 },
  firehose: { entries: 500, entryBytes: 1_024_000, batchBytes: 4 * 1_048_576 },
} as const satisfies Record<DestinationService, BatchLimits>;

export interface BatchLimits {
  readonly entries: number;
  readonly entryBytes: number;
  readonly batchBytes: number;
}

/** What a message sink's node says about its destination. */
export interface DestinationMessageSpec {
  readonly operator: string;
  readonly service: DestinationService;
  /** The queue, bus or delivery stream, as the user named it: error messages name it. */
  readonly target: string;
  readonly fifo?: boolean;
  readonly detailType?: string;
  readonly source?: string;
}

/** A record ready for its destination: the payload, its id and, for FIFO queues, its group. */
export interface DestinationMessage {
  readonly id: string;
  /** The message body (SQS), the event's Detail (EventBridge), the record's data (Firehose). */
  readonly data: string;
  /** SQS FIFO: the message group. */
  readonly group?: string;
  /** The bytes the service counts against its entry limit. */
  readonly bytes: number;
}

/**
 * The deterministic id of an output: 64 hex digits of SHA-256 over the operator and the element's
 * id. Within SQS's limit for a deduplication id (128 characters) and free of characters it refuses.
 */
export function destinationId(operator: string, elementId: string): string {
  return createHash('sha256').update(`${operator}\n${elementId}`).digest('hex');
}

/**
 * The message a record makes. Throws a {@link RecordProcessingError} (the record is dead-lettered)
 * naming the field and the destination when the record cannot be sent: not JSON, not an object
 * where the service needs one, a reserved field, or over the service's entry limit.
 */
export function destinationMessageOf(
  spec: DestinationMessageSpec,
  value: unknown,
  elementId: string,
  group: string | undefined,
): DestinationMessage {
  const where = `${serviceLabel[spec.service]} '${spec.target}'`;
  const fail = (message: string): never => {
    throw new RecordProcessingError({
      reason: DeadLetterReasons.unwritableOutput,
      operator: spec.operator,
      message: `${message}, for ${where}`,
    });
  };
  const id = destinationId(spec.operator, elementId);
  let data: string;
  if (spec.service === 'sqs') {
    data = json(value, fail);
    // SQS takes XML's characters only; JSON escapes the control characters, not these two.
    if (/[\uFFFE\uFFFF]/.test(data)) return fail('message body has U+FFFE or U+FFFF, which SQS refuses');
  } else {
    // EventBridge's Detail must be a JSON object; Firehose records are objects too, so that the id
    // travels inside each line the bucket gets.
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      return fail(`record must be a JSON object, got ${describe(value)}`);
    }
    if (Object.hasOwn(value, DESTINATION_ID_FIELD)) {
      return fail(`field '${DESTINATION_ID_FIELD}' is reserved for the record's id`);
    }
    data = json({ ...(value as object), [DESTINATION_ID_FIELD]: id }, fail);
    // Firehose concatenates records in the bucket's objects: one JSON line each.
    if (spec.service === 'firehose') data = `${data}\n`;
  }
  if (spec.service === 'sqs' && spec.fifo === true) {
    if (group === undefined || group.length === 0 || group.length > 128) {
      return fail(`message group must be 1 to 128 characters, got ${describe(group)}`);
    }
  }
  const bytes = entryBytes(spec, data);
  const limit = DestinationLimits[spec.service].entryBytes;
  if (bytes > limit) return fail(`${entryWhat[spec.service]} is ${bytes} bytes, over ${limit} bytes`);
  return { id, data, bytes, ...(spec.fifo === true && group !== undefined && { group }) };
}

/** The bytes a message counts against its service's limits, as each service documents the count. */
export function entryBytes(spec: Pick<DestinationMessageSpec, 'service' | 'detailType' | 'source'>, data: string) {
  const utf8 = Buffer.byteLength(data);
  switch (spec.service) {
    case 'sqs':
      // The body, and the id attribute: its name, its data type ('String') and its value.
      return utf8 + DESTINATION_ID_FIELD.length + 'String'.length + 64;
    case 'eventbridge':
      return utf8 + Buffer.byteLength(spec.detailType ?? '') + Buffer.byteLength(spec.source ?? '');
    case 'firehose':
      return utf8;
  }
}

/** Splits entries into requests within the limits, keeping their order. */
export function batchesWithin<T extends { readonly bytes: number }>(entries: readonly T[], limits: BatchLimits): T[][] {
  const batches: T[][] = [];
  let batch: T[] = [];
  let bytes = 0;
  for (const entry of entries) {
    if (batch.length === limits.entries || (batch.length > 0 && bytes + entry.bytes > limits.batchBytes)) {
      batches.push(batch);
      batch = [];
      bytes = 0;
    }
    batch.push(entry);
    bytes += entry.bytes;
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}

/**
 * The dead letter's error for an output its destination refused for good (the service's code and
 * message in its words): names the sink, the message's id and size, the field and the destination.
 */
export function refusalError(
  spec: Pick<DestinationMessageSpec, 'service' | 'target'>,
  message: { readonly id: string; readonly data: string },
  refusal: { readonly code: string; readonly message: string },
): DeadLetterError {
  return {
    reason: DeadLetterReasons.unwritableOutput,
    operator: `${sinkMethod[spec.service]}('${spec.target}')`,
    message:
      `${refusedField[spec.service]} of message ${message.id} (${Buffer.byteLength(message.data)} bytes) refused by ` +
      `${serviceLabel[spec.service]} '${spec.target}' for good: ${refusal.code}: ${refusal.message}`,
  };
}

const sinkMethod: Record<DestinationService, string> = {
  sqs: 'toSqs',
  eventbridge: 'toEventBridge',
  firehose: 'toFirehose',
};

const refusedField: Record<DestinationService, string> = {
  sqs: 'MessageBody',
  eventbridge: 'Detail',
  firehose: 'Data',
};

const serviceLabel: Record<DestinationService, string> = {
  sqs: 'SQS queue',
  eventbridge: 'EventBridge bus',
  firehose: 'Firehose delivery stream',
};

const entryWhat: Record<DestinationService, string> = {
  sqs: 'message (body and attributes)',
  eventbridge: 'event entry (Source, DetailType and Detail)',
  firehose: 'record',
};

function json(value: unknown, fail: (message: string) => never): string {
  let data: string | undefined;
  try {
    data = JSON.stringify(value);
  } catch (error) {
    return fail(`value is not JSON: ${(error as Error).message}`);
  }
  if (data === undefined) return fail(`value of type ${typeof value} cannot be written as JSON`);
  return data;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  return typeof value === 'string' ? `'${value.slice(0, 40)}'` : `${typeof value} ${String(value).slice(0, 40)}`;
}
