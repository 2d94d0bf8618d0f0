import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../../examples/data/click-generator.js';
import { pipeline } from '../../../shared/index.js';
import { MemoryWindowStore } from '../../../shared/runtime/io/memory-window-store.js';
import { StageRunner } from '../../../shared/runtime/stage-runner.js';
import { session } from '../../../shared/windows/index.js';
import { expectIdWindows, IdEvent, ids } from '../../helpers/id-windows.js';
import {
  arrivals,
  deliver,
  FlakyWriter,
  flakyStore,
  MemoryRecordWriter,
  shuffleRecords,
} from '../../helpers/lambda-delivery.js';

const GAP = 30;

function sessions(allowedLateness: number) {
  return pipeline('p')
    .source('events', { schema: IdEvent, eventTime: (e) => e.t })
    .keyBy((e) => e.key, { name: 'by-key' })
    .window(session(GAP), { allowedLateness })
    .aggregate(ids)
    .sink('out');
}

describe('session stage: merges in one item per key stay the batch computation (property-based)', () => {
  it.each([0, 25])(
    'shuffled input with ties and late records, retried, bisected and crashed (allowed lateness %i ms)',
    async (allowedLateness) => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(
            fc.record({
              key: fc.constantFrom('a', 'b', 'c'),
              // Disorder of up to 150 ms against a watermark bound of 20: many records come late.
              t: fc.integer({ min: 0, max: 150 }),
              // A tie: a second record of the same key and time, as far along as the first.
              tie: fc.boolean(),
            }),
            { minLength: 1, maxLength: 80 },
          ),
          fc.integer(),
          fc.integer({ min: 1, max: 8 }),
          async (raw, seed, every) => {
            // Prepare
            const events: IdEvent[] = raw.flatMap((e, i) => {
              const event = { key: e.key, t: e.t + i * 4, id: `e${i}` };
              return e.tie ? [event, { ...event, id: `e${i}-tie` }] : [event];
            });
            const records = shuffleRecords(events, 20, every);
            const random = seededRandom(seed);
            const sink = new MemoryRecordWriter();
            const runner = new StageRunner({
              pipeline: sessions(allowedLateness),
              stageId: 'from-p-by-key',
              writer: new FlakyWriter(sink, random),
              store: flakyStore(new MemoryWindowStore(), random),
            });

            // Act
            await deliver(runner, records, random);

            // Assess: late exactly when the watermark at arrival is past the record by the allowed
            // lateness; every other record in exactly one final session, which is the batch computation's.
            const late = new Set(
              arrivals<IdEvent>(records).flatMap(({ event, watermark }) =>
                event.t + allowedLateness <= watermark ? [event.id] : [],
              ),
            );
            const reported = new Set((sink.values('p-window-1-late') as { id: string }[]).map((r) => r.id));
            expect([...reported].sort()).toEqual([...late].sort());
            expectIdWindows(
              sink.values('out'),
              events.filter((e) => !late.has(e.id)),
              session(GAP),
            );
          },
        ),
        { numRuns: 300 },
      );
    },
    120_000,
  );
});
