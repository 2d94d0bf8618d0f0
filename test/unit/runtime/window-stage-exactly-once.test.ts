import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../../examples/data/click-generator.js';
import { pipeline } from '../../../shared/index.js';
import { MemoryWindowStore } from '../../../shared/runtime/io/memory-window-store.js';
import { StageRunner } from '../../../shared/runtime/stage-runner.js';
import { hopping, session, tumbling } from '../../../shared/windows/index.js';
import type { WindowAssigner } from '../../../shared/windows/types.js';
import { expectIdWindows, IdEvent, ids } from '../../helpers/id-windows.js';
import { deliver, FlakyWriter, flakyStore, MemoryRecordWriter, shuffleRecords } from '../../helpers/lambda-delivery.js';

function windowed(assigner: WindowAssigner) {
  return pipeline('p')
    .source('events', { schema: IdEvent, eventTime: (e) => e.t })
    .keyBy((e) => e.key, { name: 'by-key' })
    .window(assigner)
    .aggregate(ids)
    .sink('out');
}

const assigners: [string, WindowAssigner][] = [
  ['tumbling', tumbling(100)],
  ['hopping', hopping(100, 40)],
  ['session', session(30)],
];

describe('windowed stage: exactly-once results under retries, crashes and partial writes (property-based)', () => {
  it.each(assigners)(
    '%s windows equal the batch computation, each result repeated only with the same value',
    async (_, assigner) => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.record({ key: fc.constantFrom('a', 'b', 'c', 'd'), t: fc.integer({ min: 0, max: 1000 }) }), {
            minLength: 1,
            maxLength: 120,
          }),
          fc.integer(),
          fc.integer({ min: 1, max: 10 }),
          async (raw, seed, every) => {
            // Prepare: disorder is bounded by construction, and the watermark bound exceeds it: nothing is late.
            const events = raw.map((e, i) => ({ key: e.key, t: e.t + i * 5, id: `e${i}` }));
            const bound = 1000;
            const random = seededRandom(seed);
            const sink = new MemoryRecordWriter();
            const runner = new StageRunner({
              pipeline: windowed(assigner),
              stageId: 'from-p-by-key',
              writer: new FlakyWriter(sink, random),
              store: flakyStore(new MemoryWindowStore(), random),
            });

            // Act
            await deliver(runner, shuffleRecords(events, bound, every), random);

            // Assess
            expectIdWindows(sink.values('out'), events, assigner);
            expect(sink.values('p-window-1-late')).toEqual([]);
          },
        ),
        { numRuns: 500 },
      );
    },
  );
});
