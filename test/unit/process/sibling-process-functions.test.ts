import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { pipeline } from '../../../shared/index.js';
import { seededRandom } from '../../../shared/util/random.js';
import { runChain } from '../../helpers/chain-run.js';
import { referenceDedupe } from '../../helpers/dedupe-reference.js';

/**
 * Two stateful operators branching from one keyed stream (test/e2e/fixtures/library-operators.ts's
 * shape: `keyBy(user)` then a dedupe by visit id and a dedupe by page, each to its own sink), on
 * faulty Kinesis, state and delivery (runChain: crashes in the middle of the state writes, retries
 * bisected, batches delivered again, producer copies): each sink equals a batch dedupe over the input.
 * Before the fix the planner fused both into one stage and the stage ran only the first: the second
 * sink stayed empty.
 */

const Visit = z.object({ id: z.string(), user: z.string(), page: z.string(), ts: z.number() });
type Visit = z.infer<typeof Visit>;

const libraryShape = () => {
  const byUser = pipeline('siblings')
    .source('visits', { schema: Visit, eventTime: (v) => v.ts, maxOutOfOrderness: 50 })
    .keyBy((v) => v.user, { name: 'by-user', shards: 2 });
  byUser.dedupe((v) => v.id, { within: '1h', name: 'unique' }).sink('unique-visits');
  return byUser.dedupe((v) => v.page, { within: '1h', name: 'first-page' }).sink('first-pages');
};

/** A sink's output equals the reference: every identity, each as one of its records, repeats only as retries. */
function expectDeduped(output: readonly unknown[], expected: Map<string, Set<string>>, identity: (v: Visit) => string) {
  const seen = new Map<string, string>();
  for (const value of output as Visit[]) {
    const name = `${value.user}|${identity(value)}`;
    const line = JSON.stringify(value);
    expect(seen.get(name) ?? line, `${name} emitted twice with different records`).toBe(line);
    expect(expected.get(name)?.has(line), `${name}: ${line} is not one of its records`).toBe(true);
    seen.set(name, line);
  }
  expect([...seen.keys()].sort()).toEqual([...expected.keys()].sort());
}

const visits = fc
  .array(
    fc.record({
      user: fc.constantFrom('u1', 'u2', 'u3', 'u4'),
      page: fc.constantFrom('/a', '/b', '/c'),
      jitter: fc.integer({ min: 0, max: 40 }),
      copy: fc.boolean(),
    }),
    { minLength: 1, maxLength: 40 },
  )
  .map((raw) =>
    // Visits 10 ms apart, out of order within the source's bound; some put twice, as a producer's retry.
    raw.flatMap((r, i) => {
      const visit: Visit = { id: `v${i}`, user: r.user, page: r.page, ts: 1_000 + i * 10 - r.jitter };
      return r.copy ? [visit, visit] : [visit];
    }),
  );

describe('two dedupes on one keyed stream (property-based)', () => {
  it('each sink equals a batch dedupe, under crashes mid-commit, retries, bisects and redeliveries', async () => {
    let crashes = 0;
    await fc.assert(
      fc.asyncProperty(visits, fc.integer(), async (input, seed) => {
        const run = await runChain(libraryShape(), { visits: input }, seededRandom(seed));
        crashes += run.crashes;
        expectDeduped(
          run.values('unique-visits'),
          referenceDedupe(input, (v) => v.id),
          (v) => v.id,
        );
        expectDeduped(
          run.values('first-pages'),
          referenceDedupe(input, (v) => v.page),
          (v) => v.page,
        );
      }),
      { numRuns: 60 },
    );
    expect(crashes, 'invocations that failed and were retried').toBeGreaterThan(20);
  });
});
