import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { BufferedRecord } from '../../../shared/joins/join-operator.js';
import { type BufferedPut, bufferedSortKey } from '../../../shared/runtime/io/join-store.js';
import { MemoryWindowStore } from '../../../shared/runtime/io/memory-window-store.js';

/** The fire-time query as a scan of the table: items in table order, stable-sorted by fireAt. */
class ScanModel {
  readonly #table = new Map<string, Map<string, { record: BufferedRecord; fireAt: number; timer?: string }>>();

  write(puts: readonly BufferedPut[], deletes: readonly BufferedRecord[]): void {
    for (const put of puts) {
      const pk = put.record.key;
      let partition = this.#table.get(pk);
      if (partition === undefined) {
        partition = new Map();
        this.#table.set(pk, partition);
      }
      partition.set(bufferedSortKey(put.record), {
        record: put.record,
        fireAt: put.fireAt,
        ...(put.timerShard !== undefined && { timer: put.timerShard }),
      });
    }
    for (const record of deletes) this.#table.get(record.key)?.delete(bufferedSortKey(record));
  }

  due(shard: string, watermark: number): string[] {
    return [...this.#table.values()]
      .flatMap((partition) => [...partition.values()])
      .filter((item) => item.timer === shard && item.fireAt <= watermark)
      .sort((a, b) => a.fireAt - b.fireAt)
      .map((item) => `${item.record.key}|${bufferedSortKey(item.record)}`);
  }
}

describe('MemoryWindowStore join buffers', () => {
  it('answers the fire-time query as a scan of the table would, ties in table order', async () => {
    const record = fc.record({
      key: fc.constantFrom('a', 'b', 'c'),
      side: fc.constantFrom<'left' | 'right'>('left', 'right'),
      time: fc.integer({ min: 0, max: 20 }),
      id: fc.constantFrom('x', 'y', 'z'),
      value: fc.integer(),
      matched: fc.boolean(),
    });
    const step = fc.record({
      puts: fc.array(
        fc.record({
          record,
          fireAt: fc.integer({ min: 0, max: 10 }),
          timerShard: fc.option(fc.constantFrom('s0', 's1'), { nil: undefined }),
        }),
        { maxLength: 6 },
      ),
      deletes: fc.array(record, { maxLength: 3 }),
      watermark: fc.integer({ min: -1, max: 12 }),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 12 }), async (steps) => {
        const store = new MemoryWindowStore({ now: () => 0 });
        const model = new ScanModel();
        for (const { puts, deletes, watermark } of steps) {
          // One write names an item once, as BatchWriteItem requires: the first mention of each wins.
          const named = new Set<string>();
          const first = (r: BufferedRecord) => {
            const slot = `${r.key}|${bufferedSortKey(r)}`;
            if (named.has(slot)) return false;
            named.add(slot);
            return true;
          };
          const clean = puts
            .filter((p) => first(p.record))
            .map((p) => (p.timerShard === undefined ? { record: p.record, fireAt: p.fireAt } : p));
          const gone = deletes.filter(first);
          await store.writeBuffered('stage', clean, gone);
          model.write(clean, gone);
          for (const shard of ['s0', 's1']) {
            const due = await store.dueBuffered('stage', shard, watermark);
            expect(due.map((r) => `${r.key}|${bufferedSortKey(r)}`)).toEqual(model.due(shard, watermark));
          }
        }
      }),
    );
  });
});
