import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { JoinType } from '../../../shared/dag/graph.js';
import type { BufferedRecord } from '../../../shared/joins/join-operator.js';
import type { BufferedPut } from '../../../shared/runtime/io/join-store.js';
import { MemoryWindowStore } from '../../../shared/runtime/io/memory-window-store.js';
import type { InputRecord } from '../../../shared/runtime/records.js';
import type { StageRunner } from '../../../shared/runtime/stage-runner.js';
import { events, type JoinStageHarness, outputsOf, runJoin } from '../../helpers/join-run.js';
import { type Condition, nestedLoopJoin } from '../../helpers/nested-loop-join.js';

/**
 * A join stage whose invocations crash among its buffer writes (docs/joins.md, "Crashes among the
 * buffer writes"): a batch's writes are several BatchWriteItem requests sent concurrently, each
 * applied item by item, so a crash (a Lambda timeout) can leave any subset of them written. Some
 * invocations also crash after the buffer writes, before the channel positions are saved.
 */
function crashingJoinStage(crashes: { count: number }): JoinStageHarness {
  return {
    store: (random) =>
      new Proxy(new MemoryWindowStore(), {
        get(target, property, receiver) {
          if (property === 'writeBuffered') {
            return async (stageId: string, puts: readonly BufferedPut[], deletes: readonly BufferedRecord[]) => {
              if (random() >= 0.5) return target.writeBuffered(stageId, puts, deletes);
              crashes.count += 1;
              const written = random() < 0.5 ? 0.5 : random();
              await target.writeBuffered(
                stageId,
                puts.filter(() => random() < written),
                deletes.filter(() => random() < written),
              );
              throw new Error('crashed among the buffer writes');
            };
          }
          if (property === 'saveWatermarks' && random() < 0.05) {
            crashes.count += 1;
            return async () => {
              throw new Error('crashed before the channel positions were saved');
            };
          }
          const value = Reflect.get(target, property, receiver);
          return typeof value === 'function' ? value.bind(target) : value;
        },
      }),
    deliver: deliverThroughCrashes,
  };
}

/**
 * Lambda's event source mapping over one shard, reduced: a batch whose invocation fails is delivered
 * again from its first record, half the time bisected; a batch that succeeded is sometimes delivered
 * again. A failure must not stop progress: each retry gets the chance to succeed.
 */
async function deliverThroughCrashes(
  runner: StageRunner,
  records: readonly InputRecord[],
  random: () => number,
): Promise<void> {
  let cursor = 0;
  let failuresInARow = 0;
  while (cursor < records.length) {
    let size = 1 + Math.floor(random() * 10);
    for (;;) {
      try {
        await runner.run(records.slice(cursor, cursor + size), Date.now() + 60_000);
        failuresInARow = 0;
        break;
      } catch (error) {
        failuresInARow += 1;
        if (failuresInARow > 200) throw error;
        if (random() < 0.5) size = Math.max(1, Math.floor(size / 2));
      }
    }
    if (random() >= 0.2) cursor += size;
  }
}

describe('joins under crashes among the buffer writes: outputs equal the nested-loop join (property-based)', () => {
  it('interval joins, inner and outer, with late data: every pair and every unmatched row, repeats only with the same ids', async () => {
    const crashes = { count: 0 };
    let outer = 0;
    await fc.assert(
      fc.asyncProperty(
        events('l', 10),
        events('r', 10),
        fc.record({ before: fc.integer({ min: 0, max: 200 }), after: fc.integer({ min: 0, max: 200 }) }),
        fc.constantFrom<JoinType>('inner', 'left', 'right', 'full'),
        fc.integer({ min: 1, max: 2 }),
        fc.integer({ min: 0, max: 300 }),
        fc.integer({ min: 0, max: 100 }),
        fc.integer(),
        async (lefts, rights, within, type, join, bound, lateness, seed) => {
          const condition: Condition = { kind: 'interval', ...within };
          const run = await runJoin(
            lefts,
            rights,
            condition,
            type,
            { left: 1, right: 1, join },
            seed,
            bound,
            lateness,
            crashingJoinStage(crashes),
          );
          const lateIds = new Set((run.late as { value: { id: string } }[]).map((l) => l.value.id));
          const onTime = <E extends { id: string }>(list: E[]) => list.filter((e) => !lateIds.has(e.id));
          const reference = nestedLoopJoin(onTime(lefts), onTime(rights), condition, type);
          if (type !== 'inner') outer += [...reference].filter((id) => id.startsWith('|') || id.endsWith('|')).length;
          expect(outputsOf(run)).toEqual(reference);
        },
      ),
      { numRuns: 1000 },
    );
    // The property was tested under crashes, and with outer rows to get wrong.
    expect(crashes.count).toBeGreaterThan(1000);
    expect(outer).toBeGreaterThan(300);
  });

  it('window joins (tumbling and hopping): every pair the two records share a window for, and no other', async () => {
    const crashes = { count: 0 };
    await fc.assert(
      fc.asyncProperty(
        events('l', 10),
        events('r', 10),
        fc.constantFrom<Condition>({ kind: 'window', size: 100, slide: 100 }, { kind: 'window', size: 100, slide: 40 }),
        fc.integer({ min: 1, max: 2 }),
        fc.integer(),
        async (lefts, rights, condition, join, seed) => {
          const run = await runJoin(
            lefts,
            rights,
            condition,
            'inner',
            { left: 1, right: 1, join },
            seed,
            1000,
            0,
            crashingJoinStage(crashes),
          );
          const pairs = new Set([...nestedLoopJoin(lefts, rights, condition, 'inner')].map((id) => id.split('@')[0]));
          expect(outputsOf(run)).toEqual(pairs);
        },
      ),
      { numRuns: 300 },
    );
    expect(crashes.count).toBeGreaterThan(300);
  });
});
