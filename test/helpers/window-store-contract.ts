import { describe, expect, it } from 'vitest';
import type { BufferedRecord } from '../../shared/joins/join-operator.js';
import {
  InvalidStateRequestError,
  StateConflictError,
  StateItemTooLargeError,
  WatermarkConflictError,
} from '../../shared/runtime/io/state-errors.js';
import type {
  DeleteWindowChange,
  PutWindowChange,
  StateStore,
  StoredWindow,
  WindowRef,
} from '../../shared/runtime/io/state-store.js';

/** Options every implementation takes. */
export interface ContractStoreOptions {
  readonly now?: () => number;
  readonly pageSize?: number;
  readonly retentionMs?: number;
}

export interface ContractTarget {
  /**
   * A store with a fresh request counter. Stores of one target may share storage: every test uses
   * stage ids of its own ({@link newStageId}), and one store instance per test.
   */
  create(options?: ContractStoreOptions): StateStore;
  /** Whether conflicts carry the item found (DynamoDB and the memory store do; dynalite ignores ALL_OLD). */
  readonly reportsCurrent: boolean;
}

let stageCounter = 0;

/** A stage id no other test of this process uses. */
export function newStageId(): string {
  stageCounter += 1;
  return `stage-${process.pid}-${stageCounter}`;
}

const day = 24 * 60 * 60 * 1000;
/** A time whose windows are live for the duration of a test run (fireAt a day ahead). */
const future = Date.now() + day;
/** Base of the fire times of tests about timers: windows firing at T + x are live. */
const T = future;

export function put(
  stageId: string,
  window: WindowRef,
  options: {
    expected?: number;
    shard?: string;
    seq?: string;
    accumulator?: unknown;
    fireAt?: number;
    count?: number;
  } = {},
): PutWindowChange {
  return {
    kind: 'put',
    stageId,
    state: {
      ...window,
      accumulator: options.accumulator ?? { sum: 1 },
      count: options.count ?? 1,
      emitted: 0,
    },
    expectedVersion: options.expected ?? 0,
    shardId: options.shard ?? 'shardId-000000000000',
    sequenceNumber: options.seq ?? '49590338271490256608559692538361571095921575989136588898',
    fireAt: options.fireAt ?? future,
  };
}

export function del(stageId: string, window: WindowRef, expected: number): DeleteWindowChange {
  return { kind: 'delete', stageId, window, expectedVersion: expected };
}

const w = (key: string, start: number, size = 1000): WindowRef => ({ key, start, end: start + size });
const refOf = (stored: StoredWindow): WindowRef => ({
  key: stored.state.key,
  start: stored.state.start,
  end: stored.state.end,
});

/** The behaviour every {@link StateStore} must have, run against each implementation. */
export function describeWindowStoreContract(name: string, target: () => ContractTarget): void {
  describe(`${name}: window store contract`, () => {
    it('round-trips a window with a nested JSON accumulator, version, fence, timer and expiry', async () => {
      // Prepare
      const store = target().create({ retentionMs: day });
      const stage = newStageId();
      const accumulator = {
        sum: 1.5,
        negativeZero: -0,
        list: [1, 'a', null, true, { deep: [[], {}] }, undefined],
        empty: {},
        emptyString: '',
        unicode: 'ünïcödé 🦀',
        big: 1e21,
        small: 1.5e-10,
        gone: undefined,
      };

      // Act
      const version = await store.commit(put(stage, w('k', -5000), { accumulator, fireAt: future, count: 7 }));
      const [stored] = await store.getWindows(stage, [w('k', -5000)]);

      // Assess: undefined members dropped, -0 read back as 0, everything else as written.
      expect(version).toBe(1);
      expect(stored).toEqual({
        stageId: stage,
        state: {
          key: 'k',
          start: -5000,
          end: -4000,
          accumulator: {
            sum: 1.5,
            negativeZero: 0,
            list: [1, 'a', null, true, { deep: [[], {}] }],
            empty: {},
            emptyString: '',
            unicode: 'ünïcödé 🦀',
            big: 1e21,
            small: 1.5e-10,
          },
          count: 7,
          emitted: 0,
        },
        version: 1,
        fence: { 'shardId-000000000000': '49590338271490256608559692538361571095921575989136588898' },
        timer: `${stage}#shardId-000000000000`,
        fireAt: future,
        expiresAt: Math.ceil((future + day) / 1000),
      });
      expect(Object.is((stored?.state.accumulator as { negativeZero?: number } | undefined)?.negativeZero, 0)).toBe(
        true,
      );
    });

    it("queries a key's windows in start order, negative starts first, and only that stage's and key's", async () => {
      const store = target().create();
      const stage = newStageId();
      const other = newStageId();
      const starts = [1000, -1_000_000, 0, -1000, 2 ** 52 - 2000, -(2 ** 52), 5000];
      await store.commitAll(starts.map((start) => put(stage, w('k', start))));
      await store.commitAll([put(stage, w('k2', 0)), put(other, w('k', 0))]);

      const byKey = await store.queryWindows(stage, ['k', 'none', 'k2']);

      expect(byKey.get('k')?.map((s) => s.state.start)).toEqual([...starts].sort((a, b) => a - b));
      expect(byKey.get('none')).toEqual([]);
      expect(byKey.get('k2')?.map((s) => [s.stageId, s.state.key, s.state.start])).toEqual([[stage, 'k2', 0]]);
      expect([...byKey.keys()]).toEqual(['k', 'none', 'k2']);
    });

    it('orders windows of the same start by end, and refuses bounds a sort key cannot hold', async () => {
      const store = target().create();
      const stage = newStageId();
      await store.commitAll([put(stage, w('k', 0, 3000)), put(stage, w('k', 0, 1000)), put(stage, w('k', 0, 2000))]);

      const windows = (await store.queryWindows(stage, ['k'])).get('k') ?? [];

      expect(windows.map((s) => s.state.end)).toEqual([1000, 2000, 3000]);
      await expect(store.commit(put(stage, w('k', 2 ** 52)))).rejects.toThrow(InvalidStateRequestError);
      await expect(store.commit(put(stage, w('k', 0.5)))).rejects.toThrow(InvalidStateRequestError);
      await expect(store.getWindows(stage, [w('k', -(2 ** 52) - 1)])).rejects.toThrow(InvalidStateRequestError);
      await expect(store.getWindows('bad#stage', [w('k', 0)])).rejects.toThrow(InvalidStateRequestError);
    });

    it('reads more than 100 exact windows in batches of 100, in the order asked, once each, missing ones left out', async () => {
      const store = target().create();
      const stage = newStageId();
      const windows = Array.from({ length: 230 }, (_, i) => w(`key-${i % 23}`, i * 1000));
      await store.commitAll(windows.map((window) => put(stage, window)));
      const missing = Array.from({ length: 15 }, (_, i) => w('missing', i * 1000));
      const asked = [...missing, ...[...windows].reverse(), ...windows.slice(0, 10)];
      store.counter.reset();

      const found = await store.getWindows(stage, asked);

      expect(found.map(refOf)).toEqual([...windows].reverse());
      // 245 distinct keys: three BatchGetItem requests.
      expect(store.counter.snapshot().byOperation.BatchGetItem).toBe(3);
    });

    it('reads buffered join records as the table holds them: batches of 100, order asked, gone and expired left out', async () => {
      // Prepare: 230 records written at t=0; the first ten fired long ago in event time, so their
      // items die a retention after the clock (at `day`), the others at day + 10 s. Then the even ones
      // joined, and ten deleted.
      let now = 0;
      const store = target().create({ retentionMs: day, now: () => now });
      const stage = newStageId();
      const buffered = Array.from(
        { length: 230 },
        (_, i): BufferedRecord => ({
          key: `key-${i % 23}`,
          side: i % 2 === 0 ? 'left' : 'right',
          time: i * 10 - 500,
          id: `id-${i}`,
          value: { i, nested: [i, { s: 'v' }] },
          matched: false,
        }),
      );
      const puts = (records: readonly BufferedRecord[]) =>
        records.map((record, i) => ({ record, fireAt: i < 10 ? -3 * day : 10_000, timerShard: 's' }));
      await store.writeBuffered(stage, puts(buffered), []);
      const joined = buffered.map((record, i) => (i % 2 === 0 ? { ...record, matched: true } : record));
      await store.writeBuffered(
        stage,
        // BatchWriteItem refuses a request that names a key twice: no put of the ones deleted.
        puts(joined).filter((put, i) => put.record.matched && (i < 200 || i >= 210)),
        joined.slice(200, 210),
      );
      const missing = Array.from({ length: 15 }, (_, i) => ({ ...joined[i], id: `missing-${i}` }) as BufferedRecord);
      const asked = [...missing, ...[...joined].reverse(), ...joined.slice(0, 10)];
      now = day + 5_000;
      store.counter.reset();

      // Act
      const found = await store.getBuffered(stage, asked);
      now = day + 10_000;
      const later = await store.getBuffered(stage, joined.slice(0, 40));

      // Assess: 245 distinct keys, three BatchGetItem requests, and the values and flags written last.
      const live = [...joined.slice(10, 200), ...joined.slice(210)];
      expect(found).toEqual([...live].reverse());
      expect(store.counter.snapshot().byOperation).toMatchObject({ BatchGetItem: 4 });
      expect(later).toEqual([]);
    });

    it('keeps a join tombstone readable by key and by item, and off the fire-time index', async () => {
      // Prepare: two due records of one shard; the first then written again as a tombstone (no timer).
      const store = target().create({ retentionMs: day });
      const stage = newStageId();
      const record = (id: string, time: number): BufferedRecord => ({
        key: 'k',
        side: 'left',
        time,
        id,
        value: { id },
        matched: false,
      });
      const [gone, kept] = [record('a', 10), record('b', 20)] as [BufferedRecord, BufferedRecord];
      await store.writeBuffered(
        stage,
        [gone, kept].map((r) => ({ record: r, fireAt: r.time + 1, timerShard: 's' })),
        [],
      );
      const tombstone = { ...gone, matched: true, done: true };

      // Act
      await store.writeBuffered(stage, [{ record: tombstone, fireAt: gone.time + 1 }], []);

      // Assess: the tombstone is read as written; only the other record is still due.
      expect((await store.queryBuffered(stage, [{ key: 'k', from: 0, to: 100 }])).get('k')).toEqual([tombstone, kept]);
      expect(await store.getBuffered(stage, [gone])).toEqual([tombstone]);
      expect(await store.dueBuffered(stage, 's', 1_000)).toEqual([kept]);
    });

    it('refuses a write of join buffers that names one item twice, as BatchWriteItem does', async () => {
      const store = target().create({ retentionMs: day });
      const stage = newStageId();
      const record: BufferedRecord = { key: 'k', side: 'left', time: 5, id: 'id-1', value: 1, matched: false };
      const put = { record, fireAt: 100, timerShard: 's' };

      await expect(
        store.writeBuffered(stage, [put, { ...put, record: { ...record, value: 2 } }], []),
      ).rejects.toThrow();
      await expect(store.writeBuffered(stage, [put], [record])).rejects.toThrow();
      expect(await store.getBuffered(stage, [record])).toEqual([]);
    });

    it('reports version conflicts of puts and deletes per change, and still commits the others', async () => {
      // Prepare: a at version 2, b at 1, c at 1.
      const { create, reportsCurrent } = target();
      const store = create();
      const stage = newStageId();
      await store.commitAll([put(stage, w('a', 0)), put(stage, w('b', 0)), put(stage, w('c', 0))]);
      await store.commit(put(stage, w('a', 0), { expected: 1, count: 2 }));

      // Act
      const outcome = await store.commitAll([
        put(stage, w('a', 0), { expected: 1, count: 3 }), // stale
        put(stage, w('b', 0), { expected: 1, count: 2 }), // fresh
        del(stage, w('c', 0), 2), // stale
        put(stage, w('d', 0), { expected: 0 }), // new
        put(stage, w('c', 1000), { expected: 3 }), // names a version of an item that does not exist
        put(stage, w('b', 1000), { expected: 0 }),
      ]);
      const deleted = await store.commitAll([del(stage, w('c', 0), 1), del(stage, w('d', 0), 1)]);

      // Assess
      expect(outcome.conflicts.map((c) => [c.change.kind, c.change.expectedVersion, c.change.stageId])).toEqual([
        ['put', 1, stage],
        ['delete', 2, stage],
        ['put', 3, stage],
      ]);
      expect(outcome.committed.map((c) => c.version)).toEqual([2, 1, 1]);
      if (reportsCurrent) {
        expect(outcome.conflicts.map((c) => c.current?.version)).toEqual([2, 1, undefined]);
        expect(outcome.conflicts[0]?.current?.state.count).toBe(2);
      } else {
        expect(outcome.conflicts.every((c) => c.current === undefined)).toBe(true);
      }
      expect(deleted).toEqual({ committed: deleted.committed, conflicts: [] });
      const byKey = await store.queryWindows(stage, ['a', 'b', 'c', 'd']);
      expect(
        [...byKey].map(([key, list]) => [key, list.map((s) => [s.state.start, s.version, s.state.count])]),
      ).toEqual([
        ['a', [[0, 2, 2]]],
        [
          'b',
          [
            [0, 2, 2],
            [1000, 1, 1],
          ],
        ],
        ['c', []],
        ['d', []],
      ]);
    });

    it('throws StateConflictError from commit(), naming the window and the version expected', async () => {
      const { create, reportsCurrent } = target();
      const store = create();
      const stage = newStageId();
      await store.commit(put(stage, w('k', 0)));

      const putError = await store.commit(put(stage, w('k', 0), { expected: 0 })).catch((error: unknown) => error);
      const deleteError = await store.commit(del(stage, w('gone', 0), 1)).catch((error: unknown) => error);

      expect(putError).toBeInstanceOf(StateConflictError);
      expect(putError).toMatchObject({ stageId: stage, window: w('k', 0), expectedVersion: 0 });
      expect((putError as StateConflictError).current?.version).toBe(reportsCurrent ? 1 : undefined);
      expect(deleteError).toMatchObject({ name: 'StateConflictError', window: w('gone', 0), current: undefined });
      expect(store.counter.snapshot().conditionalFailures).toBe(2);
    });

    it("keeps the other shards' fence entries and moves the timer to the shard that wrote last", async () => {
      const store = target().create();
      const stage = newStageId();
      await store.commit(put(stage, w('k', 0), { shard: 'shard-a', seq: '100', fireAt: T + 1000 }));
      await store.commit(put(stage, w('k', 0), { shard: 'shard-b', seq: '7', expected: 1, fireAt: T + 1000 }));
      await store.commit(put(stage, w('k', 0), { shard: 'shard-a', seq: '250', expected: 2, fireAt: T + 1000 }));
      await store.commit(put(stage, w('k', 0), { shard: 'shard-b', seq: '9', expected: 3, fireAt: T + 1000 }));

      const [stored] = await store.getWindows(stage, [w('k', 0)]);

      expect(stored).toMatchObject({
        version: 4,
        fence: { 'shard-a': '250', 'shard-b': '9' },
        timer: `${stage}#shard-b`,
      });
      expect(await store.dueWindows(stage, 'shard-a', T + 5000)).toEqual([]);
      expect((await store.dueWindows(stage, 'shard-b', T + 5000)).map((s) => s.version)).toEqual([4]);
    });

    it('finds exactly the windows of a timer whose fireAt has passed the watermark, in fireAt order', async () => {
      const store = target().create();
      const stage = newStageId();
      const other = newStageId();
      await store.commitAll([
        put(stage, w('a', 0), { shard: 's1', fireAt: T + 3000 }),
        put(stage, w('b', 0), { shard: 's1', fireAt: T + 1000 }),
        put(stage, w('c', 0), { shard: 's1', fireAt: T + 2000 }),
        put(stage, w('d', 0), { shard: 's1', fireAt: T + 2001 }), // after the watermark
        put(stage, w('e', 0), { shard: 's2', fireAt: T + 500 }), // another shard's timer
        put(other, w('a', 0), { shard: 's1', fireAt: T + 500 }), // another stage
      ]);

      const due = await store.dueWindows(stage, 's1', T + 2000);
      const limited = await store.dueWindows(stage, 's1', T + 2000, 2);

      expect(due.map((s) => [s.state.key, s.fireAt])).toEqual([
        ['b', T + 1000],
        ['c', T + 2000],
      ]);
      expect(limited.map((s) => s.state.key)).toEqual(['b', 'c']);
      expect((await store.dueWindows(stage, 's1', T + 2000, 1)).map((s) => s.state.key)).toEqual(['b']);
      expect(await store.dueWindows(stage, 's1', T + 999)).toEqual([]);
    });

    it('pages through many due windows, with and without a limit', async () => {
      const store = target().create({ pageSize: 50 });
      const stage = newStageId();
      const fireAts = Array.from({ length: 130 }, (_, i) => T + 10_000 + i);
      await store.commitAll(fireAts.map((fireAt, i) => put(stage, w(`k${i}`, 0), { fireAt })));
      store.counter.reset();

      const all = await store.dueWindows(stage, 'shardId-000000000000', T + 20_000);
      const pagesForAll = store.counter.snapshot().byOperation.Query;
      store.counter.reset();
      const first70 = await store.dueWindows(stage, 'shardId-000000000000', T + 20_000, 70);

      expect(all.map((s) => s.fireAt)).toEqual(fireAts);
      expect(pagesForAll).toBe(3); // 50 + 50 + 30
      expect(first70.map((s) => s.fireAt)).toEqual(fireAts.slice(0, 70));
      expect(store.counter.snapshot().byOperation.Query).toBe(2); // 50, then the 20 still wanted
    });

    it('pages through due windows and key queries past 1 MB', async () => {
      const store = target().create();
      const stage = newStageId();
      const blob = 'x'.repeat(60_000);
      const windows = Array.from({ length: 24 }, (_, i) => w('k', i * 1000));
      await store.commitAll(
        windows.map((window, i) => put(stage, window, { accumulator: { blob }, fireAt: T + 1000 + i })),
      );
      store.counter.reset();

      const due = await store.dueWindows(stage, 'shardId-000000000000', T + 5000);
      const duePages = store.counter.snapshot().byOperation.Query;
      const byKey = await store.queryWindows(stage, ['k']);

      expect(due).toHaveLength(24);
      expect(duePages).toBeGreaterThanOrEqual(2);
      expect(byKey.get('k')?.map(refOf)).toEqual(windows);
      expect(store.counter.snapshot().byOperation.Query - duePages).toBeGreaterThanOrEqual(2);
    });

    it('ignores expired items in every read, and lets a new window replace an expired one', async () => {
      // Prepare: written at t=0, a window that fired long ago in event time lives one retention from
      // the clock (so until `day`), one that fires at t=10 s lives until day + 10 s.
      let now = 0;
      const store = target().create({ retentionMs: day, now: () => now });
      const stage = newStageId();
      const longAgo = -3 * day;
      await store.commitAll([
        put(stage, w('old', 0), { fireAt: longAgo, shard: 's' }),
        put(stage, w('soon', 0), { fireAt: 10_000, shard: 's' }),
      ]);
      now = day + 5_000;
      const dueAll = async (): Promise<string[]> =>
        (await store.dueWindows(stage, 's', Number.MAX_SAFE_INTEGER)).map((s) => s.state.key);

      // Act + Assess: the expired one is invisible to all reads, the other until the clock passes 10 s.
      expect((await store.getWindows(stage, [w('old', 0), w('soon', 0)])).map((s) => s.state.key)).toEqual(['soon']);
      expect((await store.queryWindows(stage, ['old'])).get('old')).toEqual([]);
      expect(await dueAll()).toEqual(['soon']);
      now = day + 10_000;
      expect(await store.getWindows(stage, [w('soon', 0)])).toEqual([]);
      expect((await store.queryWindows(stage, ['soon'])).get('soon')).toEqual([]);
      expect(await dueAll()).toEqual([]);

      // An expired item is not a live one: a put expecting a new window replaces it, fence and all.
      const version = await store.commit(put(stage, w('old', 0), { expected: 0, shard: 's2', seq: '1' }));
      const [replaced] = await store.getWindows(stage, [w('old', 0)]);
      expect(version).toBe(1);
      expect(replaced).toMatchObject({ version: 1, fence: { s2: '1' }, timer: `${stage}#s2` });
      // ...but a conflict on an expired item reports no current item.
      const conflict = await store.commit(del(stage, w('soon', 0), 2)).catch((error: unknown) => error);
      expect((conflict as StateConflictError).current).toBeUndefined();
    });

    it('loads and saves channel watermarks with a version condition, apart from the windows', async () => {
      const store = target().create();
      const stage = newStageId();

      const before = await store.loadWatermarks(stage, 'shard-1');
      const first = await store.saveWatermarks(stage, 'shard-1', { a: 100, b: -5 }, 0);
      const second = await store.saveWatermarks(stage, 'shard-1', { a: 200 }, 1);
      const again = await store.saveWatermarks(stage, 'shard-1', { a: 300 }, 0).catch((error: unknown) => error);
      const stale = await store.saveWatermarks(stage, 'shard-1', { a: 300 }, 1).catch((error: unknown) => error);
      const otherShard = await store.saveWatermarks(stage, 'shard-2', { a: 1 }, 0);

      expect(before).toBeUndefined();
      expect(first).toEqual({ channels: { a: 100, b: -5 }, version: 1 });
      expect(second).toEqual({ channels: { a: 200 }, version: 2 });
      expect(again).toBeInstanceOf(WatermarkConflictError);
      expect(stale).toMatchObject({
        name: 'WatermarkConflictError',
        stageId: stage,
        shardId: 'shard-1',
        expectedVersion: 1,
      });
      if (target().reportsCurrent) expect((stale as WatermarkConflictError).current?.version).toBe(2);
      expect(otherShard.version).toBe(1);
      expect(await store.loadWatermarks(stage, 'shard-1')).toEqual({ channels: { a: 200 }, version: 2 });
      // A user key that happens to be the watermarks item's name sees no watermarks items.
      expect((await store.queryWindows(stage, ['~watermarks'])).get('~watermarks')).toEqual([]);
      await expect(store.saveWatermarks(stage, 'shard-1', { a: Number.NEGATIVE_INFINITY }, 2)).rejects.toThrow(
        InvalidStateRequestError,
      );
    });

    it('refuses a window item too large for DynamoDB before writing anything of the commit', async () => {
      const store = target().create();
      const stage = newStageId();
      const tooLarge = put(stage, w('big', -1000), { accumulator: { values: 'v'.repeat(395 * 1024) } });

      const error = await store.commitAll([put(stage, w('small', 0)), tooLarge]).catch((e: unknown) => e);
      const nearLimit = await store.commit(put(stage, w('fits', 0), { accumulator: { values: 'v'.repeat(300_000) } }));

      expect(error).toBeInstanceOf(StateItemTooLargeError);
      expect(error).toMatchObject({ stageId: stage, window: w('big', -1000) });
      expect((error as StateItemTooLargeError).bytes).toBeGreaterThan(395 * 1024);
      expect((error as Error).message).toContain('"big"');
      expect(await store.getWindows(stage, [w('small', 0)])).toEqual([]);
      expect(nearLimit).toBe(1);
      expect(store.counter.snapshot().byOperation.UpdateItem).toBe(1);
    });

    it('refuses accumulators that are not JSON, duplicate windows in a commit and bad versions', async () => {
      const store = target().create();
      const stage = newStageId();

      const refusals = await Promise.all(
        [
          store.commit(put(stage, w('k', 0), { accumulator: { at: new Date(0) } })),
          store.commit(put(stage, w('k', 0), { accumulator: [1, Number.POSITIVE_INFINITY] })),
          store.commit(put(stage, w('k', 0), { accumulator: { n: 1e200 } })),
          store.commitAll([put(stage, w('k', 0)), del(stage, w('k', 0), 1)]),
          store.commit(del(stage, w('k', 0), 0)),
          store.commit(put(stage, w('k', 0), { expected: -1 })),
          store.commit(put(stage, w('k', 0), { seq: '0x10' })),
        ].map((promise) => promise.catch((error: unknown) => error)),
      );

      for (const refusal of refusals) expect(refusal).toBeInstanceOf(InvalidStateRequestError);
      expect(store.counter.snapshot().requests).toBe(0);
    });

    it('counts exactly the requests a known sequence of calls makes', async () => {
      const store = target().create();
      const stage = newStageId();

      await store.commitAll([put(stage, w('k1', 0)), put(stage, w('k1', 1000)), put(stage, w('k2', 0))]);
      await store.getWindows(stage, [w('k1', 0), w('k1', 1000), w('k2', 0), w('k3', 0)]);
      await store.queryWindows(stage, ['k1', 'k2']);
      await store.dueWindows(stage, 'shardId-000000000000', Number.MAX_SAFE_INTEGER);
      await store.commitAll([put(stage, w('k1', 0), { expected: 0 }), del(stage, w('k2', 0), 1)]);
      await store.loadWatermarks(stage, 'shardId-000000000000');
      await store.saveWatermarks(stage, 'shardId-000000000000', { main: 1 }, 0);
      await store.commitAll([]);
      await store.getWindows(stage, []);

      const counts = store.counter.snapshot();
      expect(counts).toMatchObject({
        requests: 11,
        byOperation: { UpdateItem: 4, DeleteItem: 1, BatchGetItem: 1, Query: 3, GetItem: 1, PutItem: 1 },
        throttled: 0,
        conditionalFailures: 1,
      });
      expect(counts.readUnits).toBeGreaterThan(0);
      expect(counts.writeUnits).toBeGreaterThan(0);
    });
  });
}
