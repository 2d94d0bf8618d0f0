import type { TableDefinition } from '../dag/graph.js';
import type { TableSpec } from '../dag/plan-types.js';
import { DeadLetterReasons, type FieldIssue, RecordProcessingError } from '../operators/record-errors.js';
import { fieldIssues } from './decode.js';
import type { TableStore } from './io/table-store.js';

/** A lookup's answer: the row, no row, or not fetched yet (the batch runs again once it is). */
export type LookupResult =
  | { readonly state: 'found'; readonly row: unknown }
  | { readonly state: 'missing' }
  | { readonly state: 'pending' };

const MISSING: LookupResult = { state: 'missing' };
const PENDING: LookupResult = { state: 'pending' };

/**
 * The rows one batch looks up, fetched once per distinct key: a pass over the batch asks for keys,
 * those it lacks are fetched together ({@link BatchLookups.fetch}), and the batch runs again. Rows
 * are cached for the batch only, so each batch sees the table as it is when the batch runs.
 */
export class BatchLookups {
  readonly #rows = new Map<string, Map<string, LookupResult | InvalidRow>>();
  readonly #pending = new Map<string, Set<string>>();

  constructor(
    readonly tables: ReadonlyMap<string, { readonly spec: TableSpec; readonly definition: TableDefinition }>,
  ) {}

  /** The row of `key`; throws RecordProcessingError when the key or the row is not what the table takes. */
  lookup(tableName: string, key: string, operator: string): LookupResult {
    const table = this.tables.get(tableName);
    if (table === undefined) throw new Error(`table '${tableName}' is not read by this stage`);
    const cached = this.#rows.get(tableName)?.get(key);
    if (cached instanceof InvalidRow) {
      throw new RecordProcessingError({
        reason: DeadLetterReasons.schemaViolation,
        operator,
        message: cached.message,
        issues: cached.issues,
      });
    }
    if (cached !== undefined) return cached;
    if (table.spec.partitionKeyType === 'number' && !Number.isFinite(Number(key))) {
      throw new RecordProcessingError({
        reason: DeadLetterReasons.operatorError,
        operator,
        message: `key '${key}' is not a number, and table '${tableName}' has a number partition key`,
      });
    }
    const pending = this.#pending.get(tableName) ?? new Set<string>();
    this.#pending.set(tableName, pending);
    pending.add(key);
    return PENDING;
  }

  get hasPending(): boolean {
    return this.#pending.size > 0;
  }

  /** Fetches every key asked for and not yet fetched, one set of requests per table. */
  async fetch(store: TableStore): Promise<void> {
    const pending = [...this.#pending];
    this.#pending.clear();
    await Promise.all(
      pending.map(async ([tableName, keys]) => {
        const table = this.tables.get(tableName);
        if (table === undefined) return;
        const rows = await store.getRows(table.spec, [...keys]);
        const cache = this.#rows.get(tableName) ?? new Map<string, LookupResult | InvalidRow>();
        this.#rows.set(tableName, cache);
        for (const key of keys) {
          cache.set(key, rows.has(key) ? checkedRow(table.definition, key, rows.get(key)) : MISSING);
        }
      }),
    );
  }
}

/** An external table's row, checked against its schema once per batch. */
function checkedRow(table: TableDefinition, key: string, row: unknown): LookupResult | InvalidRow {
  if (table.schema === undefined) return { state: 'found', row };
  const parsed = table.schema.safeParse(row);
  if (parsed.success) return { state: 'found', row: parsed.data };
  const issues = fieldIssues(parsed.error);
  return new InvalidRow(
    `row '${key}' of table '${table.name}' (DynamoDB table '${table.tableName}') does not match the table's schema: ` +
      issues.map((issue) => `field '${issue.field}': ${issue.message}`).join('; '),
    issues,
  );
}

/** A row that failed its table's schema: each record that looks it up is dead-lettered with this. */
class InvalidRow {
  constructor(
    readonly message: string,
    readonly issues: readonly FieldIssue[],
  ) {}
}
