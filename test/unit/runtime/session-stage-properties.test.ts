import fc from 'fast-check';
import { describe, it } from 'vitest';
import { seededRandom } from '../../../examples/data/click-generator.js';
import { MemoryWindowStore } from '../../../shared/runtime/io/memory-window-store.js';
import { StageRunner } from '../../../shared/runtime/stage-runner.js';
import { deliver, FlakyWriter, flakyStore, MemoryRecordWriter, shuffleRecords } from '../../helpers/lambda-delivery.js';
import { expectSessionRun, idSessions, sessionEvents } from '../../helpers/session-runs.js';

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
            const events = sessionEvents(raw);
            const records = shuffleRecords(events, 20, every);
            const random = seededRandom(seed);
            const sink = new MemoryRecordWriter();
            const runner = new StageRunner({
              pipeline: idSessions(allowedLateness),
              stageId: 'from-p-by-key',
              writer: new FlakyWriter(sink, random),
              store: flakyStore(new MemoryWindowStore(), random),
            });

            // Act
            await deliver(runner, records, random);

            // Assess
            expectSessionRun(sink, records, events, allowedLateness);
          },
        ),
        { numRuns: 300 },
      );
    },
  );
});
