import type { TableSpec } from '../../dag/plan-types.js';
import { newerThan, sinkItemOf } from '../../tables/dynamodb-sink.js';
import { type RowUpdate, supersedes } from '../../tables/table-operator.js';
import { RequestCounter } from './request-counter.js';
import type { PutRowsResult, TableStore } from './table-store.js';

/**
 * Tables in memory, with the semantics of {@link DynamoDbTableStore}: for tests, benchmarks and
 * the stage handler's in-process runs. External tables are filled with {@link MemoryTableStore.seed}.
 */
export class MemoryTableStore implements TableStore {
  readonly counter = new RequestCounter();
  readonly #tables = new Map<string, Map<string, RowUpdate>>();
  readonly #items = new Map<string, Map<string, unknown>>();

  /** Puts an external table's items, keyed by their partition key. */
  seed(table: TableSpec, items: readonly Record<string, unknown>[]): void {
    const rows = this.#itemsOf(table.tableName);
    for (const item of items) rows.set(String(item[table.partitionKey]), item);
  }

  async getRows(table: TableSpec, keys: readonly string[]): Promise<Map<string, unknown>> {
    this.counter.request('BatchGetItem', Math.ceil(new Set(keys).size / 100));
    const found = new Map<string, unknown>();
    for (const key of keys) {
      if (table.kind === 'external') {
        const item = this.#items.get(table.tableName)?.get(key);
        if (item !== undefined) found.set(key, structuredClone(item));
        continue;
      }
      const row = this.#tables.get(table.tableName)?.get(key)?.row;
      if (row !== undefined) found.set(key, JSON.parse(row));
    }
    return found;
  }

  async putRows<U extends RowUpdate>(table: TableSpec, updates: readonly U[]): Promise<PutRowsResult<U>> {
    const rows = this.#tables.get(table.tableName) ?? new Map<string, RowUpdate>();
    let refused = 0;
    this.#tables.set(table.tableName, rows);
    // A sink table keeps an update only if strictly newer, as DynamoDB's condition does (dynamodb-sink.ts).
    const kept = table.kind === 'sink' ? newerThan : supersedes;
    for (const update of updates) {
      this.counter.request('PutItem');
      if (!kept(update, rows.get(update.key))) {
        this.counter.conditionalFailure();
        refused += 1;
        continue;
      }
      // A versioned table keeps its deletes (see MaterializedTableSchema.deleted).
      if (update.row === undefined && update.version === undefined) rows.delete(update.key);
      else rows.set(update.key, { ...update });
    }
    return { failed: [], refused };
  }

  /** A materialized table's rows, by key: what a test compares with its reference. */
  rows(tableName: string): Map<string, unknown> {
    const rows = new Map<string, unknown>();
    for (const [key, update] of this.#tables.get(tableName) ?? []) {
      if (update.row !== undefined) rows.set(key, JSON.parse(update.row));
    }
    return rows;
  }

  /** A sink table's items as DynamoDB would hold them, tombstones included, by key. */
  sinkItems(tableName: string): Map<string, Record<string, unknown>> {
    const items = new Map<string, Record<string, unknown>>();
    for (const [key, update] of this.#tables.get(tableName) ?? []) items.set(key, sinkItemOf(update));
    return items;
  }

  #itemsOf(tableName: string): Map<string, unknown> {
    const items = this.#items.get(tableName) ?? new Map<string, unknown>();
    this.#items.set(tableName, items);
    return items;
  }
}
