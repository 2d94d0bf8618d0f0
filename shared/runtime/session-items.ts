/**
 * A key's session windows as one window item (docs/state.md, "Session windows"): a session stage
 * reads a batch's keys with BatchGetItem (100 a request) and writes each key it changed once, where
 * an item per session cost a Query per key, a new item each time a session's end moved (its bounds
 * are its sort key) and a delete of the item it replaced. The item is written whole in one
 * conditional write, so its fence tells exactly which records of a shard its sessions hold, and a
 * crash can never leave a merged session beside the sessions it replaced.
 *
 * Pure: packing and unpacking only; the stage does the reads and writes.
 */
import type { WindowState } from '../windows/types.js';
import { windowFireAt } from '../windows/window-operator.js';
import { TIME_OFFSET } from './io/state-keys.js';
import type { StoredWindow, WindowRef } from './io/state-store.js';

/**
 * The bounds a sessions item is stored under: its sort key. No session has them (a session's end is
 * after its start), so the item can never be taken for one session.
 */
export const SESSIONS_ITEM_BOUNDS = { start: -TIME_OFFSET, end: -TIME_OFFSET } as const;

/** One session as the sessions item holds it: a window without its key, which is the item's. */
export interface PackedSession<A = unknown> {
  readonly start: number;
  readonly end: number;
  readonly accumulator: A;
  readonly count: number;
  readonly emitted: number;
}

/**
 * A session stored in an item of its own (the layout before the sessions item) that the sessions
 * item took in: its bounds and version tell a copy left behind by a crash before its delete, and its
 * fence which records the stage before the upgrade applied to it (session-upgrade.ts).
 */
export interface AbsorbedSession {
  readonly start: number;
  readonly end: number;
  readonly version: number;
  readonly fence: Readonly<Record<string, string>>;
}

/** The accumulator attribute of a sessions item. */
export interface SessionsAccumulator<A = unknown> {
  readonly sessions: readonly PackedSession<A>[];
  /** Per-session items taken in, kept while the shard may still meet them (an upgrade). */
  readonly absorbed?: readonly AbsorbedSession[];
}

/** The sessions item of a key, to read. */
export function sessionsItemRef(key: string): WindowRef {
  return { key, ...SESSIONS_ITEM_BOUNDS };
}

/** Whether a stored window is a sessions item. */
export function isSessionsItem(window: Pick<WindowState<unknown>, 'start' | 'end'>): boolean {
  return window.start === SESSIONS_ITEM_BOUNDS.start && window.end === SESSIONS_ITEM_BOUNDS.end;
}

/** The open sessions a sessions item holds, in start order. */
export function unpackSessions<A>(item: StoredWindow): WindowState<A>[] {
  const { sessions } = (item.state.accumulator ?? { sessions: [] }) as SessionsAccumulator<A>;
  const key = item.state.key;
  return sessions
    .map(({ start, end, accumulator, count, emitted }) => ({ key, start, end, accumulator, count, emitted }))
    .sort((a, b) => a.start - b.start);
}

/** The per-session items a sessions item took in. */
export function absorbedSessions(item: StoredWindow | undefined): readonly AbsorbedSession[] {
  return (item?.state.accumulator as SessionsAccumulator | undefined)?.absorbed ?? [];
}

/**
 * The sessions item holding a key's open sessions, and its `fireAt`: the earliest of its sessions',
 * so that the fire-time index finds the item when its first session is due. With no session left the
 * item is marked closed (out of every timer, TTL deletes it after `lastFireAt`) and stays for its
 * fence: a retried batch must not add its records again to sessions that fired.
 */
export function packSessions<A>(
  key: string,
  sessions: readonly WindowState<A>[],
  allowedLateness: number,
  lastFireAt: number,
  absorbed: readonly AbsorbedSession[] = [],
): { readonly state: WindowState<SessionsAccumulator<A>>; readonly fireAt: number } {
  const packed = sessions.map(({ start, end, accumulator, count, emitted }) => ({
    start,
    end,
    accumulator,
    count,
    emitted,
  }));
  const fireAt = Math.min(...sessions.map((s) => windowFireAt(s, allowedLateness)));
  return {
    state: {
      key,
      ...SESSIONS_ITEM_BOUNDS,
      accumulator: absorbed.length === 0 ? { sessions: packed } : { sessions: packed, absorbed },
      count: sessions.reduce((n, s) => n + s.count, 0),
      emitted: 0,
      ...(sessions.length === 0 && { closed: true }),
    },
    fireAt: sessions.length === 0 ? lastFireAt : fireAt,
  };
}
