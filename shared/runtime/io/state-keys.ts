/**
 * How state items are keyed in the pipeline's state table (docs/state.md): partition and sort keys,
 * the fire-time index's timer partitions, and the checks on what goes into them.
 */
import { STORE_TIME_BOUND } from '../../windows/event-time.js';
import { InvalidStateRequestError } from './state-errors.js';
import type { WindowChange, WindowRef } from './state-store.js';

/**
 * Added to times in sort keys so that negative times sort before positive ones as strings. Every
 * bound a valid event time produces is inside ±TIME_OFFSET (shared/windows/event-time.ts).
 */
export const TIME_OFFSET = STORE_TIME_BOUND;
const timeDigits = 16;
/** The partition key's sort key of the channel watermarks items of a stage. */
export const WATERMARKS_KEY = '~watermarks';
/** DynamoDB's limit on a partition key value. */
const maxPartitionKeyBytes = 2048;

/** Times in [-2^52, 2^52) as 16 zero-padded digits, in the same order as the numbers. */
export function encodeTime(ms: number): string {
  if (!Number.isSafeInteger(ms) || ms < -TIME_OFFSET || ms >= TIME_OFFSET) {
    throw new InvalidStateRequestError(`window bounds must be integers in [-2^52, 2^52): ${ms}`);
  }
  return String(ms + TIME_OFFSET).padStart(timeDigits, '0');
}

/** The partition key of a key's windows: `<stageId>#<key>`. */
export function windowPartitionKey(stageId: string, key: string): string {
  checkStageId(stageId);
  const pk = `${stageId}#${key}`;
  if (Buffer.byteLength(pk) > maxPartitionKeyBytes) {
    throw new InvalidStateRequestError(`key of stage ${stageId} too long for a DynamoDB partition key: ${key}`);
  }
  return pk;
}

/** The sort key of a window: `<start>#<end>`, both encoded by {@link encodeTime}, so items sort by start. */
export function windowSortKey(start: number, end: number): string {
  return `${encodeTime(start)}#${encodeTime(end)}`;
}

/** The partition key of a stage's channel watermarks items (their sort key is the shard id). */
export function watermarksPartitionKey(stageId: string): string {
  checkStageId(stageId);
  return `${stageId}#${WATERMARKS_KEY}`;
}

/** The GSI partition of the windows a shard's timer fires: `<stageId>#<shardId>`. */
export function timerOf(stageId: string, shardId: string): string {
  checkStageId(stageId);
  return `${stageId}#${shardId}`;
}

/** An id of a window within a stage, for maps and sets. */
export function windowId(window: WindowRef): string {
  return `${windowSortKey(window.start, window.end)}#${window.key}`;
}

export function refOfChange(change: WindowChange): WindowRef {
  return change.kind === 'delete'
    ? change.window
    : { key: change.state.key, start: change.state.start, end: change.state.end };
}

/** Throws {@link InvalidStateRequestError} for a stage id that cannot be part of a key. */
export function checkStageId(stageId: string): void {
  // '#' separates the stage from the key: a stage id holding one could collide with another stage's keys.
  if (stageId.length === 0 || stageId.includes('#')) {
    throw new InvalidStateRequestError(`stage ids must be non-empty and free of '#': ${JSON.stringify(stageId)}`);
  }
}

/** Throws {@link InvalidStateRequestError} for a shard id that cannot be a sort key. */
export function checkShardId(shardId: string): void {
  // The shard id is the watermarks item's sort key, and DynamoDB refuses empty key values.
  if (shardId.length === 0) throw new InvalidStateRequestError('shard ids must be non-empty');
}

/** The timer partition of tombstones (closed windows), which no stage's shard queries. */
export const CLOSED_TIMER = '~closed';
