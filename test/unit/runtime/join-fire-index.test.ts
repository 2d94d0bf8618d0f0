import { describe, expect, it } from 'vitest';
import { pipeline } from '../../../shared/index.js';
import type { BufferedRecord } from '../../../shared/joins/join-operator.js';
import type { JoinStore } from '../../../shared/runtime/io/join-store.js';
import { MemoryRecordWriter } from '../../../shared/runtime/io/memory-record-writer.js';
import { MemoryWindowStore } from '../../../shared/runtime/io/memory-window-store.js';
import type { InputRecord } from '../../../shared/runtime/records.js';
import { StageRunner } from '../../../shared/runtime/stage-runner.js';
import { END_OF_TIME } from '../../../shared/runtime/watermark-records.js';
import { IdEvent } from '../../helpers/id-windows.js';

const p = pipeline('j');
const lefts = p.source('lefts', { schema: IdEvent, eventTime: (e) => e.t });
const rights = p.source('rights', { schema: IdEvent, eventTime: (e) => e.t });
lefts
  .join(rights, {
    name: 'j',
    left: (e) => e.key,
    right: (e) => e.key,
    within: { before: 100, after: 100 },
    type: 'full',
  })
  .map(([l, r]) => `${l?.id ?? ''}|${r?.id ?? ''}`)
  .sink('out');

/** A buffered record the table has never held, or no longer holds, in the index only. */
const ghost: BufferedRecord = {
  key: 'a',
  side: 'left',
  time: 10,
  id: 'ghost',
  value: { key: 'a', t: 10, id: 'ghost' },
  matched: false,
};

/**
 * A store whose fire-time index answers `due(found, call)` instead of what it holds: `call` counts
 * the stage's queries of it, from 0.
 */
function withIndex(
  inner: MemoryWindowStore,
  due: (found: BufferedRecord[], call: number) => BufferedRecord[],
): MemoryWindowStore {
  let calls = 0;
  return new Proxy(inner, {
    get(target, property, receiver) {
      if (property === 'dueBuffered') {
        return async (...args: Parameters<JoinStore['dueBuffered']>): Promise<BufferedRecord[]> =>
          due(await target.dueBuffered(...args), calls++);
      }
      const value = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/**
 * An index that disagrees with the items, as a DynamoDB GSI can (eventually consistent: behind) and
 * dynalite's can after a crash between an item's index entries and the item (ahead): each due record
 * it reports says the opposite of the item about having joined, and it reports a record whose item
 * is gone.
 */
const skewed = (found: BufferedRecord[]) => [...found.map((r) => ({ ...r, matched: !r.matched })), ghost];

let sequence = 100;
const record = (data: unknown): InputRecord => {
  sequence += 1;
  const position = {
    stream: 'j-j',
    shardId: 's-0',
    sequenceNumber: String(sequence),
    partitionKey: 'a',
    arrivalTime: 0,
  };
  return { position, data: Buffer.from(JSON.stringify(data)) };
};
const envelope = (side: 'l' | 'r', id: string, t: number) => record({ id, k: 'a', t, s: side, v: { key: 'a', t, id } });
const endOfInput = () => ['from-lefts/s-0', 'from-rights/s-0'].map((ch) => record({ wm: END_OF_TIME, ch, n: 1 }));

describe('join stage: records fired through the fire-time index', () => {
  it.each([
    // The index is behind: its copy of l1 has not joined yet, the item has (r1 came in the next batch).
    ['behind (copy unmatched, item matched)', [[envelope('l', 'l1', 10)], [envelope('r', 'r1', 20)]], ['l1|r1']],
    // The index is ahead: its copy of l1 has joined, the item has not (nothing ever joined it).
    ['ahead (copy matched, item unmatched)', [[envelope('l', 'l1', 10)], [envelope('r', 'r1', 500)]], ['l1|', '|r1']],
  ])('emits what the table holds, not the index copy %s', async (_, batches, expected) => {
    // Prepare: the records are due only once the input ends, in a batch that touches no key, so the
    // stage finds them through the index.
    const writer = new MemoryRecordWriter();
    const store = withIndex(new MemoryWindowStore(), skewed);
    const runner = new StageRunner({ pipeline: p, stageId: 'from-j-j', writer, store });
    for (const batch of batches) await runner.run(batch, Date.now() + 60_000);

    // Act
    const result = await runner.run(endOfInput(), Date.now() + 60_000);

    // Assess
    expect(result.failedSequenceNumbers).toEqual([]);
    expect([...(writer.values('out') as string[])].sort()).toEqual(expected);
    expect(await store.dueBuffered('from-j-j', 's-0', END_OF_TIME)).toEqual([ghost]);
  });

  it('deletes a record it read, joined and is done with in one batch, though the index did not show it yet', async () => {
    // Prepare: l1 is buffered; the index misses it in the batch where r1 joins it and the watermark
    // passes both (the GSI has not caught up), and shows it again after.
    const writer = new MemoryRecordWriter();
    const store = withIndex(new MemoryWindowStore(), (found, call) => (call === 0 ? [] : found));
    const runner = new StageRunner({ pipeline: p, stageId: 'from-j-j', writer, store });
    await runner.run([envelope('l', 'l1', 10)], Date.now() + 60_000);
    const watermarks = ['from-lefts/s-0', 'from-rights/s-0'].map((ch) => record({ wm: 1000, ch, n: 1 }));
    await runner.run([envelope('r', 'r1', 20), ...watermarks], Date.now() + 60_000);

    // Act
    const result = await runner.run(endOfInput(), Date.now() + 60_000);

    // Assess
    expect(result.failedSequenceNumbers).toEqual([]);
    expect(writer.values('out')).toEqual(['l1|r1']);
    expect(await store.dueBuffered('from-j-j', 's-0', END_OF_TIME)).toEqual([]);
  });
});
