import fc from 'fast-check';
import { describe, it } from 'vitest';
import { seededRandom } from '../../../examples/data/click-generator.js';
import { MemoryWindowStore } from '../../../shared/runtime/io/memory-window-store.js';
import { StageRunner } from '../../../shared/runtime/stage-runner.js';
import { statefulRunnerOf } from '../../../shared/runtime/stateful-runner.js';
import { windowOperatorWith } from '../../../shared/runtime/stateful-window.js';
import {
  deliver,
  FlakyWriter,
  flakyStore,
  MAX_DELIVERED_BATCH,
  MemoryRecordWriter,
  shuffleRecords,
} from '../../helpers/lambda-delivery.js';
import { perSessionWindows } from '../../helpers/per-session-window-stage.js';
import { expectSessionRun, idSessions, sessionEvents } from '../../helpers/session-runs.js';

describe('session stage upgraded from one item per session to one per key (property-based)', () => {
  it.each([0, 25])(
    'the per-session stage for a prefix, the current one after, retried, bisected and crashed across the switch (allowed lateness %i ms)',
    async (allowedLateness) => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(
            fc.record({ key: fc.constantFrom('a', 'b', 'c'), t: fc.integer({ min: 0, max: 150 }), tie: fc.boolean() }),
            { minLength: 1, maxLength: 80 },
          ),
          fc.integer(),
          fc.integer({ min: 1, max: 8 }),
          // The first attempt the upgraded function runs: a failed attempt of the old one is retried by the new.
          fc.integer({ min: 1, max: 12 }),
          async (raw, seed, every, upgradeAt) => {
            // Prepare
            const events = sessionEvents(raw);
            // Packed as Eddy's stages write them: a batch the old stage committed left the shard's channel
            // watermarks saved, which is how the new stage knows the old one ran there.
            const records = shuffleRecords(events, 20, every, 'p-by-key', true);
            const random = seededRandom(seed);
            const sink = new MemoryRecordWriter();
            const options = {
              pipeline: idSessions(allowedLateness),
              stageId: 'from-p-by-key',
              writer: new FlakyWriter(sink, random),
              store: flakyStore(new MemoryWindowStore(), random),
            };
            const before = new StageRunner({ ...options, stateful: statefulRunnerOf(perSessionWindows) });
            // The harness's mapping cuts batches of at most MAX_DELIVERED_BATCH records: the most an
            // attempt of the old stage can have applied before the new one retries it.
            const after = new StageRunner({
              ...options,
              stateful: statefulRunnerOf({ window: windowOperatorWith({ maxBatchRecords: MAX_DELIVERED_BATCH }) }),
            });

            // Act
            await deliver((attempt) => (attempt < upgradeAt ? before : after), records, random);

            // Assess
            expectSessionRun(sink, records, events, allowedLateness);
          },
        ),
        { numRuns: 300 },
      );
    },
  );
});
