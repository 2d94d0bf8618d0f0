import type { TableSpec } from '../../dag/plan-types.js';
import type { RowUpdate } from '../../tables/table-operator.js';
import type { RequestCounter } from './request-counter.js';

/**
 * The rows of a pipeline's tables (docs/tables.md): what `enrich` looks up and `toTable` writes.
 * Narrow on purpose, so that DynamoDB in Lambda and memory in tests and benchmarks serve one runtime.
 */
export interface TableStore {
  /**
   * The rows of `keys` in `table`, by key; a key with no row (or a deleted one) is absent. A
   * materialized table's rows are the JSON values `toTable` wrote; an external table's are its items.
   */
  getRows(table: TableSpec, keys: readonly string[]): Promise<Map<string, unknown>>;
  /**
   * Applies updates, at most one per key (see `latestUpdates`): a versioned update replaces a row
   * only if its version is at least the row's ({@link supersedes}), else it is dropped as stale.
   * Resolves with the updates that could not be written, so their records can be delivered again,
   * and how many were refused because the table held a newer (or the same) version: a late older
   * record, or a retry's repeat, which is the exactly-once effect at work and not a failure.
   */
  putRows<U extends RowUpdate>(table: TableSpec, updates: readonly U[]): Promise<PutRowsResult<U>>;
  readonly counter: RequestCounter;
}

export interface PutRowsResult<U> {
  readonly failed: readonly U[];
  /** Updates whose version condition failed: the row kept is newer, or this very update. */
  readonly refused: number;
}

/** The attributes of a materialized table's items. */
export const MaterializedTableSchema = {
  /** The row's key (the partition key, a string). */
  key: 'k',
  /** The row as JSON text, exactly as `toTable` received it. */
  row: 'r',
  /** The version of a versioned table's row. */
  version: 'v',
  /** A deleted row of a versioned table: kept, so that an older update cannot bring it back. */
  deleted: 'd',
} as const;

/**
 * DynamoDB's 400 KB item limit, less the room of the other attributes: the largest row JSON a
 * materialized table takes.
 */
export const MAX_ROW_BYTES = 400 * 1024 - 2048;

/** The environment variable that gives a function its tables' physical names (JSON, by table name). */
export const TABLE_NAMES_ENV = 'EDDY_TABLES';
