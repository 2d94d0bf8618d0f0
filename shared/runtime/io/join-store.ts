import type { JoinSide } from '../../dag/graph.js';
import type { BufferedRecord } from '../../joins/join-operator.js';
import { encodeTime, timerOf, windowPartitionKey } from './state-keys.js';
import type { CountedStore } from './state-store.js';

/**
 * A join's buffers in the pipeline's state table (docs/joins.md): one item per buffered record,
 * `pk = <stage>#<key>` (as windows), `sk = <time>#<l|r>#<correlation id>`, so that the records of a
 * key in a time range, both sides, are one Query. Records of an outer side carry the fire-time GSI's
 * `timer` and `fireAt`, so the stage finds the ones due without a scan.
 */
export interface JoinStore extends CountedStore {
  /** Each key's buffered records with times in [from, to] (strongly consistent Query per key). */
  queryBuffered(stageId: string, ranges: readonly KeyRange[]): Promise<Map<string, BufferedRecord[]>>;
  /**
   * Buffered records of this shard's outer sides with `fireAt <= watermark` (the fire-time GSI).
   * The GSI is eventually consistent in DynamoDB, and dynalite's can be ahead of an item after a
   * crash: what it returns finds the records, and {@link getBuffered} says what they hold.
   */
  dueBuffered(stageId: string, shardId: string, watermark: number): Promise<BufferedRecord[]>;
  /**
   * The buffered records as the table holds them now (BatchGetItem, 100 keys a request, consistent
   * reads, unprocessed keys asked again), in the order asked, once each; gone or expired ones left out.
   */
  getBuffered(stageId: string, records: readonly BufferedRef[]): Promise<BufferedRecord[]>;
  /**
   * Puts and deletes (BatchWriteItem, 25 a request, unprocessed items retried). Unconditional: a
   * shard's batches are applied one at a time, and a put writes the record's whole state as the batch
   * computed it from what it read, so writing it again, or after a crash, writes the same.
   */
  writeBuffered(stageId: string, puts: readonly BufferedPut[], deletes: readonly BufferedRecord[]): Promise<void>;
}

/** What names a buffered record's item: its key, side, time and correlation id. */
export type BufferedRef = Pick<BufferedRecord, 'key' | 'side' | 'time' | 'id'>;

export interface KeyRange {
  readonly key: string;
  readonly from: number;
  readonly to: number;
}

export interface BufferedPut {
  readonly record: BufferedRecord;
  /** When the record is done with (the join's watermark at or past it). */
  readonly fireAt: number;
  /** Outer sides: the shard whose stage emits the record alone if it never joins. */
  readonly timerShard?: string;
}

const SIDE_CODE: Record<JoinSide, string> = { left: 'l', right: 'r' };

export function bufferedSortKey(record: Pick<BufferedRecord, 'time' | 'side' | 'id'>): string {
  return `${encodeTime(record.time)}#${SIDE_CODE[record.side]}#${record.id}`;
}

/** The primary key of a buffered record's item. */
export function bufferedItemKey(stageId: string, record: BufferedRef): { pk: string; sk: string } {
  return { pk: windowPartitionKey(stageId, record.key), sk: bufferedSortKey(record) };
}

/** The sort key bounds of a time range, both sides: every `<time>#...` with time in [from, to]. */
export function bufferedSortKeyRange(from: number, to: number): { low: string; high: string } {
  return { low: `${encodeTime(from)}#`, high: `${encodeTime(to)}#~` };
}

/**
 * A buffered record as the state table holds it (before TTL). Built as one literal of a fixed shape,
 * the optional attributes set after it: built with object spreads it took about 20 times as long in
 * a loop of 200,000 items (66 µs an item beside 3.4 µs, Node 20), on every buffer write in Lambda.
 */
export function bufferedItem(
  stageId: string,
  put: BufferedPut,
  expiresAt: number,
): Record<string, string | number | boolean | unknown> {
  const { record } = put;
  const item: Record<string, string | number | boolean | unknown> = {
    pk: windowPartitionKey(stageId, record.key),
    sk: bufferedSortKey(record),
    kind: 'join',
    key: record.key,
    side: record.side,
    time: record.time,
    id: record.id,
    v: record.value,
    matched: record.matched,
    fireAt: put.fireAt,
    expiresAt,
  };
  if (record.done === true) item.done = true;
  if (put.timerShard !== undefined) item.timer = timerOf(stageId, put.timerShard);
  return item;
}

/** The record an item holds; `value` in place of the item's own (a copy of it). */
export function toBufferedRecord(item: Readonly<Record<string, unknown>>, value = item.v): BufferedRecord | undefined {
  if (item.kind !== 'join') return undefined;
  const record = {
    key: item.key as string,
    side: item.side as JoinSide,
    time: item.time as number,
    id: item.id as string,
    value,
    matched: item.matched === true,
  };
  return item.done === true ? Object.assign(record, { done: true }) : record;
}
