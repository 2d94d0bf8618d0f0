/**
 * The window item as both implementations store it, its lifetime, and the checks both run before a
 * write, so that both refuse exactly the same changes.
 */
import { estimateItemBytes, MAX_STATE_ITEM_BYTES } from './item-size.js';
import { parseSequenceNumber } from './sequence-numbers.js';
import { InvalidStateRequestError, StateItemTooLargeError } from './state-errors.js';
import {
  CLOSED_TIMER,
  checkShardId,
  checkStageId,
  refOfChange,
  timerOf,
  windowId,
  windowPartitionKey,
  windowSortKey,
} from './state-keys.js';
import type { PutWindowChange, WindowChange } from './state-store.js';

/** How long a window item outlives its fireAt before TTL may delete it. @default 1 day */
export const DEFAULT_RETENTION_MS = 24 * 60 * 60 * 1000;

/** About how many bytes the item a put writes takes in DynamoDB (names and values, as DynamoDB counts). */
export function stateItemBytes(change: PutWindowChange, retentionMs = DEFAULT_RETENTION_MS): number {
  return estimateItemBytes(windowItem(change, retentionMs, {}, Date.now()));
}

/**
 * The TTL attribute's value (epoch seconds) of a window that fires at `fireAt`, written at `nowMs`.
 * Event time is not the clock: a replay of last year's events fires windows whose `fireAt` is long
 * past, and their state must live until they fire, so the retention counts from the later of the two.
 */
export function expiresAtOf(fireAt: number, retentionMs: number, nowMs: number): number {
  return Math.ceil((Math.max(fireAt, nowMs) + retentionMs) / 1000);
}

/** Whether an item whose TTL attribute is `expiresAt` is dead at `nowMs` (DynamoDB: TTL < now). */
export function isExpired(expiresAt: number, nowMs: number): boolean {
  return expiresAt <= Math.floor(nowMs / 1000);
}

/**
 * Checks a batch of changes before anything is written: valid ids, bounds and versions, at most one
 * change per window, items within {@link MAX_STATE_ITEM_BYTES}.
 */
export function validateChanges(changes: readonly WindowChange[], retentionMs: number): void {
  const seen = new Set<string>();
  for (const change of changes) {
    validateChange(change, retentionMs);
    const id = `${change.stageId}#${windowId(refOfChange(change))}`;
    if (seen.has(id)) {
      throw new InvalidStateRequestError(
        `two changes to one window in a commit race each other: ${JSON.stringify(refOfChange(change))} of ${change.stageId}`,
      );
    }
    seen.add(id);
  }
}

function validateChange(change: WindowChange, retentionMs: number): void {
  const window = refOfChange(change);
  windowPartitionKey(change.stageId, window.key);
  windowSortKey(window.start, window.end);
  const minimum = change.kind === 'put' ? 0 : 1;
  if (!Number.isSafeInteger(change.expectedVersion) || change.expectedVersion < minimum) {
    throw new InvalidStateRequestError(
      `a ${change.kind} needs an expected version >= ${minimum}, got ${change.expectedVersion}`,
    );
  }
  if (change.kind === 'delete') return;
  checkShardId(change.shardId);
  parseSequenceNumber(change.sequenceNumber);
  if (!Number.isFinite(change.fireAt)) throw new InvalidStateRequestError(`fireAt must be finite: ${change.fireAt}`);
  const bytes = stateItemBytes(change, retentionMs);
  if (bytes > MAX_STATE_ITEM_BYTES)
    throw new StateItemTooLargeError(change.stageId, window, bytes, MAX_STATE_ITEM_BYTES);
}

/** Checks the arguments of a channel watermarks load or save. */
export function validateWatermarks(
  stageId: string,
  shardId: string,
  channels: Readonly<Record<string, number>>,
  expectedVersion: number,
): void {
  checkStageId(stageId);
  checkShardId(shardId);
  if (!Number.isSafeInteger(expectedVersion) || expectedVersion < 0) {
    throw new InvalidStateRequestError(`expected version must be an integer >= 0, got ${expectedVersion}`);
  }
  for (const [channel, watermark] of Object.entries(channels)) {
    // DynamoDB numbers cannot be infinite: a channel with no watermark yet is left out instead.
    if (!Number.isFinite(watermark)) {
      throw new InvalidStateRequestError(`watermark of channel ${channel} must be finite, got ${watermark}`);
    }
  }
}

/**
 * The attributes of a window item as both implementations store it, `fence` being the fence before
 * this change; the DynamoDB store writes exactly these (plus `pk` and `sk`).
 */
export function windowItem(
  change: PutWindowChange,
  retentionMs: number,
  previousFence: Readonly<Record<string, string>>,
  nowMs: number,
): Record<string, unknown> {
  const { state } = change;
  return {
    pk: windowPartitionKey(change.stageId, state.key),
    sk: windowSortKey(state.start, state.end),
    key: state.key,
    start: state.start,
    end: state.end,
    accumulator: state.accumulator,
    count: state.count,
    emitted: state.emitted,
    // undefined removes the attribute: only tombstones carry it.
    closed: state.closed === true ? true : undefined,
    version: change.expectedVersion + 1,
    fence: { ...previousFence, [change.shardId]: change.sequenceNumber },
    // A tombstone has fired: out of every shard's timer, so no query for due windows returns it again.
    timer: timerOf(change.stageId, state.closed === true ? CLOSED_TIMER : change.shardId),
    fireAt: change.fireAt,
    expiresAt: expiresAtOf(change.fireAt, retentionMs, nowMs),
  };
}
