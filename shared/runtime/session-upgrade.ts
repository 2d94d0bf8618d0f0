/**
 * A session stage upgraded from one item per session (the layout before session-items.ts) to one
 * sessions item per key (docs/state.md, "Upgrading a session stage"). Per-session items left by the
 * stage before the upgrade matter in two ways, and only for a while:
 *
 * - an open one can still take records and merge: until the watermark passes its `fireAt`; so a
 *   shard reads its keys' old items (a Query per key) until its watermark, before a batch, has passed
 *   the latest `fireAt` of the old items it found when the upgraded code first ran on it (`until`);
 * - the old stage's failed attempt of a batch, retried by the new code, applied some of its records
 *   to per-session items (their fences): the retry, bisected or not, covers at most Lambda's largest
 *   batch from the first record the new code read, so the shard reads old items until it has written
 *   that many records (`owed`).
 *
 * A shard the new code meets first with no channel watermarks saved and no old item open on it or its
 * parents is fresh: it never reads an old item, so a new deployment pays nothing. What the shard knows
 * is kept with its channel watermarks, as notes (channel-watermarks.ts), saved after the batch's state.
 *
 * An old open session is moved into the key's sessions item, which records it ({@link AbsorbedSession})
 * before its own item is deleted: a crash between the two writes leaves a copy the next read knows
 * for one (its bounds and version), deleted instead of merged a second time. Pure: no I/O.
 */
import { compareSequenceNumbers } from './io/sequence-numbers.js';
import type { StoredWindow } from './io/state-store.js';
import { type AbsorbedSession, absorbedSessions } from './session-items.js';

/** The notes a session stage keeps with a shard's channel watermarks. */
export const UpgradeNotes = {
  /** 1 once the sessions-item code has run on the shard: what it found is decided. */
  decided: '#sessions:decided',
  /** Old items are read while the watermark before a batch is below this (the latest old `fireAt`). */
  until: '#sessions:legacy-until',
  /** Old items are read until this many more of the shard's records are written. */
  owed: '#sessions:legacy-owed',
} as const;

/** What a shard knows of its upgrade, read from its notes. */
export interface UpgradeState {
  readonly until?: number;
  readonly owed?: number;
}

/** What the sessions-item code, first run on a shard, found: it decides the shard's upgrade. */
export interface FirstLook {
  /** Channel watermarks were saved for the shard: the stage before the upgrade wrote batches on it. */
  readonly savedBefore: boolean;
  /** Per-session items open and timed on the shard (an attempt of the old stage may have written them). */
  readonly oldOwn: readonly StoredWindow[];
  /** Per-session items open on the shard's ancestors, in its hash range. */
  readonly oldInherited: readonly StoredWindow[];
  /** The most records Lambda puts in one batch of the stage (10,000 for Kinesis). */
  readonly maxBatchRecords: number;
}

/** The upgrade of a shard the sessions-item code meets first. */
export function firstUpgradeState(look: FirstLook): UpgradeState {
  const old = [...look.oldOwn, ...look.oldInherited];
  const owed = look.savedBefore || look.oldOwn.length > 0 ? look.maxBatchRecords : 0;
  return {
    ...(old.length > 0 && { until: Math.max(...old.map((w) => w.fireAt)) }),
    ...(owed > 0 && { owed }),
  };
}

/** Whether a batch reads old items: decided before it, so that every attempt of it decides alike. */
export function readsOldItems(state: UpgradeState, watermarkBefore: number): boolean {
  return (state.owed ?? 0) > 0 || (state.until !== undefined && watermarkBefore < state.until);
}

/** The upgrade after a batch of `records` distinct records is written with its watermark. */
export function upgradeStateAfter(state: UpgradeState, records: number, watermark: number): UpgradeState {
  const owed = Math.max(0, (state.owed ?? 0) - records);
  return {
    ...(state.until !== undefined && watermark < state.until && { until: state.until }),
    ...(owed > 0 && { owed }),
  };
}

/** A key's old items, sorted out against its sessions item. */
export interface OldItems {
  /** Open sessions to move into the sessions item. */
  readonly open: readonly StoredWindow[];
  /** Copies to delete: sessions already taken in, or a merge's leftovers the old stage did not delete. */
  readonly leftovers: readonly StoredWindow[];
  /**
   * What tells a record the old stage applied: the old items kept (tombstones too) and the sessions
   * taken in, each with its fence.
   */
  readonly holders: readonly Pick<AbsorbedSession, 'start' | 'end' | 'fence'>[];
}

/**
 * Sorts a key's per-session items out: those its sessions item took in are copies left by a crash;
 * of the others, where two overlap (a crash between the old stage's put of a merged session and the
 * deletes of those it replaced), the one written last for this shard is the truth, as the old stage
 * decided it, and one that overlaps a session taken in is a leftover of that one.
 */
export function sortOldItems(
  sessionsItem: StoredWindow | undefined,
  old: readonly StoredWindow[],
  shardId: string,
): OldItems {
  const absorbed = absorbedSessions(sessionsItem);
  const taken = (w: StoredWindow) =>
    absorbed.some((a) => a.start === w.state.start && a.end === w.state.end && a.version === w.version);
  const leftovers = old.filter(taken);
  const kept: StoredWindow[] = [];
  const byLastWrite = old
    .filter((w) => !taken(w))
    .sort((a, b) => compareSequenceNumbers(b.fence[shardId] ?? '0', a.fence[shardId] ?? '0'));
  // A session taken in had won over the sessions it overlapped when it was taken: they stay leftovers.
  const overlaps = (w: StoredWindow) => (k: { start: number; end: number }) =>
    k.start < w.state.end && w.state.start < k.end;
  for (const w of byLastWrite) {
    if (absorbed.some(overlaps(w)) || kept.some((k) => overlaps(w)(k.state))) leftovers.push(w);
    else kept.push(w);
  }
  return {
    open: kept.filter((w) => w.state.closed !== true).sort((a, b) => a.state.start - b.state.start),
    leftovers,
    holders: [...kept.map((w) => ({ start: w.state.start, end: w.state.end, fence: w.fence })), ...absorbed],
  };
}

/**
 * Whether the old stage applied a record (at `time`, `sequence`) of a batch it failed: the session
 * holding its time has a fence at or past it, as the old stage checked on its own retries.
 */
export function appliedBeforeUpgrade(
  holders: OldItems['holders'],
  time: number,
  sequence: string,
  applied: (fence: Readonly<Record<string, string>>, sequence: string) => boolean,
): boolean {
  return holders.some((h) => h.start <= time && time < h.end && applied(h.fence, sequence));
}

/** The sessions item's record of an old item it takes in. */
export function absorbedOf(w: StoredWindow): AbsorbedSession {
  return { start: w.state.start, end: w.state.end, version: w.version, fence: w.fence };
}
