import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeEvents } from '../../examples/nexmark/generator.js';
import { NEXMARK_QUERIES, type NexmarkQuery } from '../../examples/nexmark/queries.js';
import { brief, type QueryRun, runQuery } from './run-query.js';

/**
 * The input every query test runs on: 16,000 events (320 persons, 960 auctions, 14,720 bids) over
 * 80 s of event time, so that 10 s windows number 8 tumbling and 17 sliding, disordered in groups of
 * 40 events (0.2 s, inside the sources' 1 s bound: no record is late).
 */
export const TEST_INPUT = { numEvents: 16_000, firstEventRate: 200, outOfOrderGroupSize: 40, seed: 7 } as const;

/** Least rows each query must produce on TEST_INPUT, so that a test cannot pass on an empty output. */
const LEAST_ROWS: Record<NexmarkQuery['name'], number> = {
  q0: 16_000,
  q1: 14_720,
  q2: 50,
  q3: 50,
  q4: 30,
  q5: 17,
  q6: 200,
  q7: 8,
  q8: 200,
};

/** One describe per query: `eddy run` over TEST_INPUT, the output equal to the reference's. */
export function describeQueries(names: readonly NexmarkQuery['name'][]): void {
  const dir = mkdtempSync(join(tmpdir(), 'eddy-nexmark-'));
  const input = join(dir, 'events.jsonl');
  beforeAll(async () => {
    await writeEvents(input, TEST_INPUT);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  for (const name of names) {
    const query = NEXMARK_QUERIES.find((q) => q.name === name) as NexmarkQuery;
    describe(`nexmark ${name}, ${query.title} (examples/nexmark/${name}.ts)`, () => {
      let run: QueryRun;
      beforeAll(async () => {
        run = await runQuery(query, input, dir);
      });

      it('emits exactly the reference computation over the whole input (repeats allowed)', () => {
        expect(brief(run.comparison)).toEqual({ missing: [], extra: [], conflicts: [] });
        expect(run.comparison.expected).toBeGreaterThanOrEqual(LEAST_ROWS[name]);
      });

      it('dead-letters nothing, gives up no batch and finds no record late', () => {
        expect(run.summary.deadLetters).toEqual([]);
        expect(run.summary.failedBatches).toEqual([]);
        expect(run.late).toBe(0);
      });
    });
  }
}
