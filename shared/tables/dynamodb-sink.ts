import { createHash } from 'node:crypto';
import type { AnyFunction, KeyType, TableDefinition } from '../dag/graph.js';
import { DeadLetterReasons, RecordProcessingError } from '../operators/record-errors.js';
import { applyFilter, applyVersion } from '../operators/stateless.js';
import type { RowUpdate } from './table-operator.js';

/**
 * The semantics of the DynamoDB table sink (`toDynamoDb`, docs/sinks.md), as pure functions.
 *
 * Each record becomes a write of one item, keyed by `key(record)`: an upsert of the record's fields
 * (with the key attributes set from the key), or, when `delete(record)` says so, a tombstone (the
 * key, the version and a deleted flag, no fields). A write is kept only if it is newer than the
 * item there: a higher version, or an equal version and a higher tie-break (a digest of what the
 * write puts, so the same input gives the same winner in any order). Repeats are then no-ops and a
 * late older write loses, also against a tombstone: the table ends with each key's newest record
 * whatever the order, the repeats and the retries (exactly-once effect).
 */

/** The attributes Eddy adds to each item; a record that has one of its own is dead-lettered. */
export const SinkItemAttributes = {
  /** The write's version: the record's event time, or `version(record)`. */
  version: 'eddyVersion',
  /** Breaks a tie between two writes of one version: a hex digest of the write. */
  tieBreak: 'eddyTieBreak',
  /** `true` on a tombstone: the key was deleted at `eddyVersion`. */
  deleted: 'eddyDeleted',
} as const;

/**
 * The condition of a sink write: the item is absent, has no version (written by someone else), or
 * is older. `#pk`-free on purpose: `attribute_not_exists(#v)` also holds for an absent item.
 */
export const SINK_WRITE_CONDITION = 'attribute_not_exists(#v) OR #v < :v OR (#v = :v AND #t < :t)';

/** DynamoDB's item limit, less room for the attributes Eddy adds: the largest item JSON a sink writes. */
export const MAX_SINK_ITEM_BYTES = 400 * 1024 - 1024;

/** What `toDynamoDb` needs of its node and its table to turn a record into a write. */
export interface SinkWriteSpec {
  readonly operator: string;
  readonly key: AnyFunction;
  readonly version?: AnyFunction;
  readonly deleted?: AnyFunction;
  readonly table: Pick<TableDefinition, 'name' | 'tableName' | 'partitionKey' | 'partitionKeyType' | 'sortKey'>;
}

/** A sink write: always versioned, with its tie-break and the item's key attributes. */
export interface SinkWrite extends RowUpdate {
  readonly version: number;
  readonly tieBreak: string;
  readonly itemKey: Readonly<Record<string, string | number>>;
}

/**
 * The write a record makes. Throws a {@link RecordProcessingError} (the record is dead-lettered)
 * naming the field and the table when the key, the version or the item cannot be written.
 */
export function sinkWriteOf(spec: SinkWriteSpec, value: unknown, eventTime: number | undefined): SinkWrite {
  const fail = (message: string): never => {
    throw new RecordProcessingError({
      reason: DeadLetterReasons.unwritableOutput,
      operator: spec.operator,
      message: `${message}, for DynamoDB table '${spec.table.tableName}'`,
    });
  };
  const itemKey = keyAttributes(spec, value, fail);
  const deleted = spec.deleted !== undefined && applyFilter(spec.operator, spec.deleted, value, 'delete');
  const version = spec.version === undefined ? eventTime : applyVersion(spec.operator, spec.version, value);
  if (version === undefined) {
    return fail('record has no event time to version the item by: give the source eventTime or toDynamoDb a version');
  }
  const row = deleted ? undefined : itemJson(value, itemKey, fail);
  return {
    key: JSON.stringify(Object.values(itemKey)),
    ...(row !== undefined && { row }),
    version,
    tieBreak: createHash('sha256')
      .update(row ?? 'deleted')
      .digest('hex')
      .slice(0, 32),
    itemKey,
  };
}

/**
 * Whether `next` is kept over `current`: DynamoDB's {@link SINK_WRITE_CONDITION}, strict, so that a
 * repeat of the item there is not written again.
 */
export function newerThan(next: RowUpdate, current: RowUpdate | undefined): boolean {
  // An item with no version was written by someone else: any sink write replaces it.
  if (current?.version === undefined) return true;
  const version = next.version ?? Number.NEGATIVE_INFINITY;
  if (version !== current.version) return version > current.version;
  return (next.tieBreak ?? '') > (current.tieBreak ?? '');
}

/** The item a write puts: the record's fields and key, or a tombstone; with the version attributes. */
export function sinkItemOf(write: RowUpdate): Record<string, unknown> {
  const meta = { [SinkItemAttributes.version]: write.version, [SinkItemAttributes.tieBreak]: write.tieBreak };
  if (write.row === undefined) return { ...write.itemKey, ...meta, [SinkItemAttributes.deleted]: true };
  return { ...(JSON.parse(write.row) as Record<string, unknown>), ...meta };
}

function keyAttributes(
  spec: SinkWriteSpec,
  value: unknown,
  fail: (message: string) => never,
): Record<string, string | number> {
  let key: unknown;
  try {
    key = spec.key(value);
  } catch (error) {
    throw new RecordProcessingError(
      {
        reason: DeadLetterReasons.operatorError,
        operator: spec.operator,
        message: `key function threw: ${(error as Error)?.message ?? String(error)}`,
      },
      { cause: error },
    );
  }
  const { partitionKey, partitionKeyType, sortKey } = spec.table;
  if (sortKey === undefined)
    return { [partitionKey]: keyValue(key, partitionKey, partitionKeyType, 'partition', fail) };
  if (!Array.isArray(key) || key.length !== 2) {
    return fail(`key must be [partition, sort] for a table with sort key '${sortKey.name}', got ${describe(key)}`);
  }
  return {
    [partitionKey]: keyValue(key[0], partitionKey, partitionKeyType, 'partition', fail),
    [sortKey.name]: keyValue(key[1], sortKey.name, sortKey.type, 'sort', fail),
  };
}

function keyValue(
  value: unknown,
  attribute: string,
  type: KeyType,
  role: string,
  fail: (message: string) => never,
): string | number {
  const field = `${role} key '${attribute}'`;
  if (type === 'number') {
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      return fail(`${field} must be a finite number, got ${describe(value)}`);
    }
    return value;
  }
  if (typeof value !== 'string') return fail(`${field} must be a string, got ${describe(value)}`);
  // DynamoDB: a key string is 1 byte or more, at most 2048 (partition) or 1024 (sort) bytes.
  const max = role === 'partition' ? 2048 : 1024;
  const bytes = Buffer.byteLength(value);
  if (bytes === 0 || bytes > max) return fail(`${field} must be 1 to ${max} bytes, got ${bytes}`);
  return value;
}

function itemJson(value: unknown, itemKey: Record<string, string | number>, fail: (message: string) => never): string {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return fail(`record must be an object to be an item, got ${describe(value)}`);
  }
  for (const attribute of Object.values(SinkItemAttributes)) {
    if (Object.hasOwn(value, attribute)) return fail(`field '${attribute}' is reserved for the item's version`);
  }
  let json: string;
  try {
    // Through JSON: the item holds what a Kinesis sink would write (no undefined, Dates as strings).
    json = JSON.stringify({ ...(value as object), ...itemKey });
  } catch (error) {
    return fail(`record is not JSON: ${(error as Error).message}`);
  }
  // JSON text is at least DynamoDB's size of the same item (names, quotes and separators included).
  const bytes = Buffer.byteLength(json);
  if (bytes > MAX_SINK_ITEM_BYTES) {
    return fail(`item is ${bytes} bytes, over ${MAX_SINK_ITEM_BYTES} bytes (DynamoDB's 400 KB item limit)`);
  }
  return json;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  return typeof value === 'string' ? `'${value.slice(0, 40)}'` : `${typeof value} ${String(value).slice(0, 40)}`;
}
