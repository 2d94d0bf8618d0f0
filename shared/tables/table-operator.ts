/**
 * The semantics of tables (docs/tables.md), as pure functions: which update of a key a table keeps,
 * and what an enrichment emits. The runtime does the I/O around them.
 */

/** One update of a table, as `toTable` makes it from a record. */
export interface RowUpdate {
  readonly key: string;
  /** The row as JSON; absent for a delete. */
  readonly row?: string;
  /** Orders a key's updates (`toTable`'s `version`); absent when the table keeps the last update applied. */
  readonly version?: number;
  /** Breaks a tie between two updates of one version (`toDynamoDb`, dynamodb-sink.ts): the higher wins. */
  readonly tieBreak?: string;
  /** The key attributes of a sink table's item (`toDynamoDb`); `key` is then their values as JSON. */
  readonly itemKey?: Readonly<Record<string, string | number>>;
}

/**
 * Whether `next` replaces `current` in a table. With versions, the higher version wins and an equal
 * one replaces (a repeat of the same update, or a later update of the same version in stream order),
 * unless both carry a tie-break, which then decides;
 * without, the later update does.
 */
export function supersedes(next: RowUpdate, current: RowUpdate | undefined): boolean {
  if (current === undefined) return true;
  if (next.version === undefined || current.version === undefined) return true;
  if (next.version !== current.version) return next.version > current.version;
  if (next.tieBreak !== undefined && current.tieBreak !== undefined) return next.tieBreak >= current.tieBreak;
  return true;
}

/**
 * A batch's updates reduced to the one per key that the table ends up with: the table then takes
 * one write per distinct key per batch, whatever the number of updates. Keeps the update of each
 * key that {@link supersedes} all the others, in stream order; the result lists keys in the order
 * of their winning update, with the index of the update that won (to tie a failed write to its record).
 */
export function latestUpdates<U extends RowUpdate>(updates: readonly U[]): U[] {
  const latest = new Map<string, U>();
  for (const update of updates) {
    if (supersedes(update, latest.get(update.key))) {
      latest.delete(update.key);
      latest.set(update.key, update);
    }
  }
  return [...latest.values()];
}

/** What an enrichment emits for a record, given the row of its key (undefined when there is none). */
export function enrichedValue(value: unknown, row: unknown, type: 'inner' | 'left'): [unknown, unknown] | undefined {
  if (row !== undefined) return [value, row];
  return type === 'left' ? [value, null] : undefined;
}
