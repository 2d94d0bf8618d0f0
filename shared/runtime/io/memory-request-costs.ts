/**
 * What the memory stores would have cost in DynamoDB: the requests the same calls would make
 * (BatchGets of 100 keys, Query pages of a Limit or 1 MB), and capacity units after DynamoDB's rules
 * (reads 4 KB a unit, writes 1 KB a unit, at least one each), so that in-process benchmarks report
 * DynamoDB requests and units per event.
 */
import type { RequestCounter } from './request-counter.js';

/** DynamoDB ends a Query page after 1 MB of items read. */
export const PAGE_BYTES = 1024 * 1024;
const MAX_KEYS_PER_BATCH_GET = 100;

/** An item with its estimated stored size. */
export interface Sized {
  readonly bytes: number;
}

/**
 * What a BatchGetItem of these keys finds, in the order first asked, once each, missing ones left
 * out; counted as DynamoDB would: one request per 100 distinct keys, and strongly consistent reads
 * cost a unit per 4 KB of each item, at least one.
 */
export function countedBatchGet<T>(
  counter: RequestCounter,
  keys: readonly { pk: string; sk: string }[],
  read: (pk: string, sk: string) => { found: T; bytes: number } | undefined,
): T[] {
  const distinct = new Map(keys.map((key) => [`${key.pk}\u0000${key.sk}`, key]));
  const found: T[] = [];
  let index = 0;
  for (const { pk, sk } of distinct.values()) {
    const item = read(pk, sk);
    counter.request('BatchGetItem', index % MAX_KEYS_PER_BATCH_GET === 0 ? 1 : 0, readUnits(item?.bytes ?? 0));
    index += 1;
    if (item !== undefined) found.push(item.found);
  }
  return found;
}

/**
 * Splits query results into the pages DynamoDB would return: a page ends at its Limit or once it
 * holds 1 MB, and then says there may be more even when there is not (so one more request follows).
 */
export function* queryPages<T extends Sized>(entries: readonly T[], limit: () => number): Generator<T[]> {
  let next = 0;
  for (;;) {
    const pageLimit = limit();
    const page: T[] = [];
    let bytes = 0;
    while (next < entries.length && page.length < pageLimit && bytes < PAGE_BYTES) {
      const entry = entries[next] as T;
      page.push(entry);
      bytes += entry.bytes;
      next += 1;
    }
    yield page;
    const cut = page.length >= pageLimit || bytes >= PAGE_BYTES;
    if (!cut) return;
  }
}

export function sumBytes(entries: readonly Sized[]): number {
  return entries.reduce((sum, entry) => sum + entry.bytes, 0);
}

export function readUnits(bytes: number): number {
  return Math.max(1, Math.ceil(bytes / 4096));
}

export function writeUnits(bytes: number): number {
  return Math.max(1, Math.ceil(bytes / 1024));
}
