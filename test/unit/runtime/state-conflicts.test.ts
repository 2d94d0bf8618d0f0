import { describe, expect, it } from 'vitest';
import { pipeline } from '../../../shared/index.js';
import { MemoryRecordWriter } from '../../../shared/runtime/io/memory-record-writer.js';
import { MemoryWindowStore } from '../../../shared/runtime/io/memory-window-store.js';
import { StateConflictError } from '../../../shared/runtime/io/state-errors.js';
import type { CommitOutcome, StateStore, StoredWindow, WindowChange } from '../../../shared/runtime/io/state-store.js';
import type { InputRecord } from '../../../shared/runtime/records.js';
import { StageRunner } from '../../../shared/runtime/stage-runner.js';
import { END_OF_TIME } from '../../../shared/runtime/watermark-records.js';
import { count, tumbling } from '../../../shared/windows/index.js';
import { IdEvent } from '../../helpers/id-windows.js';

const p = pipeline('p');
p.source('events', { schema: IdEvent, eventTime: (e) => e.t })
  .keyBy((e) => e.key, { name: 'by-key' })
  .window(tumbling(100))
  .aggregate(count())
  .sink('out');

/**
 * A store where another invocation of the shard gets in first, `times` times: it applies the same
 * changes, so this one's conditions fail, as when a timed-out invocation is still running.
 */
function racedStore(inner: MemoryWindowStore, times: number): StateStore & { races: number } {
  let races = 0;
  return new Proxy(inner, {
    get(target, property, receiver) {
      if (property === 'races') return races;
      if (property === 'commitAll') {
        return async (changes: readonly WindowChange[]): Promise<CommitOutcome> => {
          if (races < times) {
            races += 1;
            await target.commitAll(changes);
          }
          return target.commitAll(changes);
        };
      }
      const value = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  }) as unknown as StateStore & { races: number };
}

/**
 * A store whose fire-time index lags its items, as a DynamoDB GSI can (eventually consistent), or is
 * ahead of them, as dynalite's is after a crash between an item's index entries and the item: the due
 * windows it reports are another version, with another count.
 */
function laggingIndex(inner: MemoryWindowStore, skew: number): StateStore {
  return new Proxy(inner, {
    get(target, property, receiver) {
      if (property === 'dueWindows') {
        return async (...args: Parameters<StateStore['dueWindows']>): Promise<StoredWindow[]> =>
          (await target.dueWindows(...args)).map((w) => ({
            ...w,
            version: w.version + skew,
            state: { ...w.state, accumulator: (w.state.accumulator as number) + skew, count: w.state.count + skew },
          }));
      }
      const value = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  }) as unknown as StateStore;
}

/**
 * A store whose fire-time index still shows windows under another shard's timer than their items'
 * (the item moved to `from` since: that shard wrote it last), as a lagging GSI does after a reshard.
 */
function movedTimerIndex(inner: MemoryWindowStore, stale: string, from: string): StateStore {
  return new Proxy(inner, {
    get(target, property, receiver) {
      if (property === 'dueWindows') {
        return async (stageId: string, shardId: string, watermark: number, limit?: number): Promise<StoredWindow[]> =>
          shardId === stale
            ? (await target.dueWindows(stageId, from, watermark, limit)).map((w) => ({
                ...w,
                timer: w.timer.replace(from, stale),
              }))
            : target.dueWindows(stageId, shardId, watermark, limit);
      }
      const value = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  }) as unknown as StateStore;
}

let sequence = 100;
const record = (data: unknown, shardId = 's-0'): InputRecord => {
  sequence += 1;
  const position = {
    stream: 'p-by-key',
    shardId,
    sequenceNumber: String(sequence),
    partitionKey: 'k',
    arrivalTime: 0,
  };
  return { position, data: Buffer.from(JSON.stringify(data)) };
};
const batch = () => [5, 20, 130].map((t, i) => record({ id: `e${t}`, k: 'a', t, v: { key: 'a', t, id: `e${i}` } }));
const views = () => [5, 20, 30].map((t) => record({ id: `e${t}`, k: 'a', t, v: { key: 'a', t, id: `e${t}` } }));
const endOfInput = (shardId = 's-0') => [record({ wm: END_OF_TIME, ch: 'from-events/s-0', n: 1 }, shardId)];

describe('windowed stage: version conflicts', () => {
  it('runs the batch again on fresh state, in the same invocation, and counts each record once', async () => {
    const writer = new MemoryRecordWriter();
    const store = racedStore(new MemoryWindowStore(), 2);
    const runner = new StageRunner({ pipeline: p, stageId: 'from-p-by-key', writer, store });

    const result = await runner.run(batch(), Date.now() + 60_000);
    await runner.run(endOfInput(), Date.now() + 60_000);

    expect(store.races).toBe(2);
    expect(result.failedSequenceNumbers).toEqual([]);
    const final = new Map(
      (writer.values('out') as { windowStart: number; value: number }[]).map((r) => [r.windowStart, r.value]),
    );
    expect(Object.fromEntries(final)).toEqual({ 0: 2, 100: 1 });
  });

  it('gives up after a bounded number of attempts and leaves the batch to Lambda', async () => {
    // Prepare: every commit finds its windows changed.
    let commits = 0;
    const store = new MemoryWindowStore();
    store.commitAll = async (changes) => {
      commits += 1;
      return { committed: [], conflicts: changes.map((change) => ({ change })) };
    };
    const runner = new StageRunner({ pipeline: p, stageId: 'from-p-by-key', writer: new MemoryRecordWriter(), store });

    await expect(runner.run(batch(), Date.now() + 60_000)).rejects.toBeInstanceOf(StateConflictError);
    expect(commits).toBe(3);
  });
});

describe('windowed stage: windows fired through the fire-time index', () => {
  it.each([
    ['behind', -1],
    ['ahead', 1],
  ])('fires what the table holds, not an index copy %s of it: one identity, one value', async (_, skew) => {
    // Prepare: three records in [0, 100); the window is due only once the input ends, in a batch
    // that does not touch its key, so the stage finds it through the index.
    const writer = new MemoryRecordWriter();
    const store = laggingIndex(new MemoryWindowStore(), skew);
    const runner = new StageRunner({ pipeline: p, stageId: 'from-p-by-key', writer, store });
    await runner.run(views(), Date.now() + 60_000);

    // Act
    const result = await runner.run(endOfInput(), Date.now() + 60_000);

    // Assess
    expect(result.failedSequenceNumbers).toEqual([]);
    const emitted = writer.values('out') as { windowStart: number; revision: number; value: number }[];
    expect(emitted.map((r) => [r.windowStart, r.revision, r.value])).toEqual([[0, 0, 3]]);
  });

  it('a shard does not fire a window its index copy names it for when the item is timed on another shard', async () => {
    // Arrange: the window is written by shard s-0 (its timer); shard s-1's index still shows it.
    const writer = new MemoryRecordWriter();
    const inner = new MemoryWindowStore();
    const store = movedTimerIndex(inner, 's-1', 's-0');
    const runner = new StageRunner({ pipeline: p, stageId: 'from-p-by-key', writer, store });
    await runner.run(views(), Date.now() + 60_000);

    // Act: the end of input reaches s-1 first, then s-0.
    const onStale = await runner.run(endOfInput('s-1'), Date.now() + 60_000);
    const emittedByStale = (writer.values('out') as unknown[]).length;
    const onOwner = await runner.run(endOfInput('s-0'), Date.now() + 60_000);

    // Assess: fired once, by the shard whose timer it is.
    expect(onStale.failedSequenceNumbers).toEqual([]);
    expect(onOwner.failedSequenceNumbers).toEqual([]);
    expect(emittedByStale).toBe(0);
    const emitted = writer.values('out') as { windowStart: number; revision: number; value: number }[];
    expect(emitted.map((r) => [r.windowStart, r.revision, r.value])).toEqual([[0, 0, 3]]);
  });
});
