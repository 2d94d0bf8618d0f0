import { describe, expect, it } from 'vitest';
import { runPipelineInProcess } from '../../bench/in-process-pipeline.js';
import { EVENTS_STREAM } from '../../examples/nexmark/config.js';
import { generateEvents } from '../../examples/nexmark/generator.js';
import { NEXMARK_QUERIES } from '../../examples/nexmark/queries.js';
import { checkQuery, type Event } from '../nexmark/reference.js';
import { brief } from '../nexmark/run-query.js';

/** The in-process driver bench/nexmark-in-process.ts times must compute what eddy run computes. */
describe('runPipelineInProcess', () => {
  const lines = [...generateEvents({ numEvents: 30_000, seed: 3 })].map((e) => JSON.stringify(e));
  const events = lines.map((line) => JSON.parse(line) as Event);

  it.each(['q1', 'q3', 'q4', 'q5', 'q6', 'q7', 'q8'] as const)(
    'runs %s, stage after stage, to the reference result',
    async (name) => {
      const query = NEXMARK_QUERIES.find((q) => q.name === name);
      if (query === undefined) throw new Error(name);
      // Small batches: many invocations per stage, watermarks carried across them.
      const run = await runPipelineInProcess(query.pipeline, new Map([[EVENTS_STREAM, lines]]), { batchSize: 700 });
      const output = (run.outputs.get(query.sink) ?? []).map((data) => JSON.parse(data) as unknown);
      const comparison = checkQuery(name, events, output);
      expect(brief(comparison)).toEqual({ missing: [], extra: [], conflicts: [] });
      expect(comparison.emitted).toBeGreaterThan(0);
      for (const stream of query.lateOutputs ?? []) expect(run.outputs.get(stream) ?? [], stream).toEqual([]);
      expect(run.stages.every((stage) => stage.batches > 0)).toBe(true);
    },
  );
});
