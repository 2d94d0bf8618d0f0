import type { StoreOperation } from './request-counter.js';
import { refOfChange } from './state-keys.js';
import type { StateConflict, StoredChannelWatermarks, StoredWindow, WindowRef } from './state-store.js';

/** What the state store throws, whichever implementation: every error below is one. */
export class StateStoreError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StateStoreError';
  }
}

/**
 * Version conditions failed; see {@link StateConflict}. Thrown by a store's `commit` for its one
 * change, and by a stateful stage for the conflicts `commitAll` returned: the batch is run again on
 * fresh state. The fields describe the first conflict.
 */
export class StateConflictError extends StateStoreError {
  readonly conflicts: readonly StateConflict[];
  readonly conflict: StateConflict;
  readonly stageId: string;
  readonly window: WindowRef;
  readonly expectedVersion: number;
  readonly current: StoredWindow | undefined;

  constructor(conflicts: StateConflict | readonly [StateConflict, ...StateConflict[]], options?: { cause?: unknown }) {
    const all: readonly StateConflict[] = Array.isArray(conflicts) ? conflicts : [conflicts as StateConflict];
    const conflict = all[0] as StateConflict;
    const window = refOfChange(conflict.change);
    const found = conflict.current === undefined ? '' : `, found version ${conflict.current.version}`;
    const others = all.length > 1 ? ` (and ${all.length - 1} more item(s) changed under this batch)` : '';
    super(
      `${conflict.change.kind} of window [${window.start}, ${window.end}) of key ${JSON.stringify(window.key)} ` +
        `of stage ${conflict.change.stageId} expected version ${conflict.change.expectedVersion}${found}${others}`,
      options,
    );
    this.name = 'StateConflictError';
    this.conflicts = all;
    this.conflict = conflict;
    this.stageId = conflict.change.stageId;
    this.window = window;
    this.expectedVersion = conflict.change.expectedVersion;
    this.current = conflict.current;
  }
}

/** The channel watermarks of (stage, shard) changed since they were loaded. */
export class WatermarkConflictError extends StateStoreError {
  readonly stageId: string;
  readonly shardId: string;
  readonly expectedVersion: number;
  /** The item at the time of the failure, when the store returned it. */
  readonly current: StoredChannelWatermarks | undefined;

  constructor(
    stageId: string,
    shardId: string,
    expectedVersion: number,
    current: StoredChannelWatermarks | undefined,
    options?: { cause?: unknown },
  ) {
    super(`channel watermarks of stage ${stageId}, shard ${shardId} expected version ${expectedVersion}`, options);
    this.name = 'WatermarkConflictError';
    this.stageId = stageId;
    this.shardId = shardId;
    this.expectedVersion = expectedVersion;
    this.current = current;
  }
}

/**
 * A window item would exceed DynamoDB's 400 KB item limit: typically an aggregate that grows without
 * bound (collecting every value of a key). Not retryable: the aggregation must change.
 */
export class StateItemTooLargeError extends StateStoreError {
  readonly stageId: string;
  readonly window: WindowRef;
  readonly bytes: number;
  readonly limit: number;

  constructor(stageId: string, window: WindowRef, bytes: number, limit: number) {
    super(
      `the state of window [${window.start}, ${window.end}) of key ${JSON.stringify(window.key)} of stage ` +
        `${stageId} would take about ${bytes} bytes, more than the ${limit} a DynamoDB item can hold: ` +
        'use an aggregation whose accumulator stays bounded',
    );
    this.name = 'StateItemTooLargeError';
    this.stageId = stageId;
    this.window = window;
    this.bytes = bytes;
    this.limit = limit;
  }
}

/** A request the store cannot carry out as asked (a caller's bug): bad ids, times or versions. */
export class InvalidStateRequestError extends StateStoreError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'InvalidStateRequestError';
  }
}

/** DynamoDB kept throttling or failing after every retry. */
export class StateStoreUnavailableError extends StateStoreError {
  readonly operation: StoreOperation;
  readonly attempts: number;

  constructor(operation: StoreOperation, attempts: number, options?: { cause?: unknown }) {
    super(`DynamoDB ${operation} still failed after ${attempts} attempts`, options);
    this.name = 'StateStoreUnavailableError';
    this.operation = operation;
    this.attempts = attempts;
  }
}
