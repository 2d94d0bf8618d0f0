/**
 * The state store of stateful stages (windows, joins, process functions): one item per (stage, key,
 * window), one per buffered join record, and one "channel watermarks" item per (stage, input shard).
 * Exactly-once under Lambda's retries rests on two things kept in every window item: a `version` that
 * makes every write conditional (optimistic concurrency), and a `fence` holding, per input shard, the
 * last sequence number applied to the window, so that a retried batch skips the records it already
 * applied (sequence-numbers.ts `isApplied`).
 *
 * This file holds the interfaces only; what both implementations share lives beside it (state-keys.ts,
 * window-items.ts, item-size.ts, state-errors.ts, request-counter.ts). It imports no AWS SDK.
 */
import type { WindowState } from '../../windows/types.js';
import type { JoinStore } from './join-store.js';
import type { RequestCounter } from './request-counter.js';

/** Identifies one window of one key of a stage. */
export interface WindowRef {
  readonly key: string;
  readonly start: number;
  readonly end: number;
}

/** A window item as read from the store. */
export interface StoredWindow<A = unknown> {
  readonly stageId: string;
  readonly state: WindowState<A>;
  /** Incremented on every write; the version a change must name to replace or delete this item. */
  readonly version: number;
  /** Input shard id → last Kinesis sequence number of that shard applied to this window. */
  readonly fence: Readonly<Record<string, string>>;
  /** `<stageId>#<shardId>` of the input shard that last wrote the window: whose timer fires it. */
  readonly timer: string;
  /** Epoch ms from which the window may be fired and forgotten (its end plus the allowed lateness). */
  readonly fireAt: number;
  /** Epoch seconds after which the item is dead (DynamoDB's TTL attribute): reads never return it. */
  readonly expiresAt: number;
}

/**
 * Writes a window: creates it when `expectedVersion` is 0 (succeeds when no live item exists), else
 * replaces the item whose version is `expectedVersion`. The new item has version `expectedVersion + 1`
 * and `fence[shardId] = sequenceNumber`, other shards' fence entries kept.
 */
export interface PutWindowChange<A = unknown> {
  readonly kind: 'put';
  readonly stageId: string;
  readonly state: WindowState<A>;
  /** The version loaded, 0 when the window was not found. */
  readonly expectedVersion: number;
  /** Input shard whose records this write applies; it becomes the window's timer. */
  readonly shardId: string;
  /** The last sequence number of `shardId` applied to the state (the batch's last, when the batch touched it). */
  readonly sequenceNumber: string;
  /** Epoch ms: the window's end plus the allowed lateness. */
  readonly fireAt: number;
}

/** Deletes a window (fired, or merged into another session) if its version is still `expectedVersion`. */
export interface DeleteWindowChange {
  readonly kind: 'delete';
  readonly stageId: string;
  readonly window: WindowRef;
  readonly expectedVersion: number;
}

export type WindowChange<A = unknown> = PutWindowChange<A> | DeleteWindowChange;

/** A change that was written, and the item's version after it (0 after a delete). */
export interface CommittedChange {
  readonly change: WindowChange;
  readonly version: number;
}

/**
 * A change whose version condition failed: another writer (or this writer's own earlier attempt that
 * timed out after DynamoDB applied it) changed the window since it was loaded. Reload and recompute.
 */
export interface StateConflict {
  readonly change: WindowChange;
  /**
   * The live item at the time of the failure, when the store returned it (DynamoDB does with
   * ReturnValuesOnConditionCheckFailure; dynalite does not); undefined also when there is none.
   */
  readonly current?: StoredWindow;
}

export interface CommitOutcome {
  /** The changes written, in the order given. */
  readonly committed: readonly CommittedChange[];
  /** The changes not written because their condition failed, in the order given. */
  readonly conflicts: readonly StateConflict[];
}

/**
 * The channel watermarks of one (stage, input shard): channel id → watermark in epoch ms; and the
 * highest envelope position applied per channel (applied-positions.ts).
 */
export interface StoredChannelWatermarks {
  readonly channels: Readonly<Record<string, number>>;
  readonly positions?: Readonly<Record<string, string>>;
  readonly version: number;
}

/**
 * The window items of a stage (also a keyed process function's items, which use the window layout):
 * versioned, fenced, found through the fire-time index. Reads never return items whose `expiresAt`
 * has passed. The store is dumb on purpose: it never retries a conflict, because only the caller can
 * recompute the state.
 *
 * Accumulators are JSON values: `undefined` object members and array elements are dropped (as
 * `JSON.stringify` drops members), -0 reads back as 0, and DynamoDB refuses numbers outside
 * ±1E-130..9.9E125.
 */
export interface WindowStore extends CountedStore {
  /**
   * Reads exact windows with strongly consistent reads (BatchGetItem, 100 keys a request, unprocessed
   * keys retried). Returns the live ones found, in the order first asked for; duplicates are read once.
   */
  getWindows<A = unknown>(stageId: string, windows: readonly WindowRef[]): Promise<StoredWindow<A>[]>;

  /**
   * Reads every live window of each key (strongly consistent Query per key, paginated), in start
   * order: what session windows need. Every key asked for is in the map, with [] when it has none.
   */
  queryWindows<A = unknown>(stageId: string, keys: readonly string[]): Promise<Map<string, StoredWindow<A>[]>>;

  /**
   * The live windows whose timer is (stageId, shardId) and `fireAt <= watermark`, in fireAt order, at
   * most `limit` of them (all by default), from the GSI: never a scan.
   *
   * The GSI is eventually consistent in DynamoDB: a window written a moment ago may be missing, or
   * show an older version. So a stage also fires the windows it wrote in the current batch from its
   * own memory, and re-reads a due window with {@link getWindows} (consistent) before firing it, using
   * that version for the delete.
   */
  dueWindows<A = unknown>(
    stageId: string,
    shardId: string,
    watermark: number,
    limit?: number,
  ): Promise<StoredWindow<A>[]>;

  /** Writes one change; a failed version condition throws {@link StateConflictError}. Returns the new version. */
  commit(change: WindowChange): Promise<number>;

  /**
   * Writes many changes (at most one per window), each a conditional write of its own, several in
   * flight at once: DynamoDB's BatchWriteItem takes no conditions. Throttling is retried with backoff.
   * Conflicts are returned, not thrown, so that the caller reloads and recomputes only those windows.
   * An error other than a conflict (retries exhausted, a bug) rejects after the writes in flight
   * settle; the changes already written stay written, which the fences make harmless on the retry.
   * Every change is checked ({@link StateItemTooLargeError}, {@link InvalidStateRequestError}) before
   * anything is written.
   */
  commitAll(changes: readonly WindowChange[]): Promise<CommitOutcome>;
}

/** What every part of the state store has: the count of the requests it made. */
export interface CountedStore {
  readonly counter: RequestCounter;
}

/** The channel watermarks (and applied positions) of each (stage, input shard): every stateful stage keeps them. */
export interface WatermarkStore extends CountedStore {
  /** The channel watermarks of (stage, input shard), consistently read; undefined when never saved. */
  loadWatermarks(stageId: string, shardId: string): Promise<StoredChannelWatermarks | undefined>;

  /**
   * Replaces the channel watermarks (and applied positions) if their version is still
   * `expectedVersion` (0: never saved); else throws {@link WatermarkConflictError}. Returns what was
   * saved, with the new version.
   */
  saveWatermarks(
    stageId: string,
    shardId: string,
    channels: Readonly<Record<string, number>>,
    expectedVersion: number,
    positions?: Readonly<Record<string, string>>,
  ): Promise<StoredChannelWatermarks>;
}

/**
 * The one door from a stateful stage to its state, made of one narrow part per operator: window
 * items (windows and process functions), join buffers, channel watermarks; each stage asks only for
 * the parts it uses. DynamoDB in the cloud and the local stack ({@link DynamoDbWindowStore}), memory
 * in unit tests and in-process benchmarks ({@link MemoryWindowStore}), with the same semantics.
 */
export interface StateStore extends WindowStore, JoinStore, WatermarkStore {}
