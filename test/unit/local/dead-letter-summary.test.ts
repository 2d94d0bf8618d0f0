import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { deadLetterSampleSize, sampleDeadLetters } from '../../../local/runner/dead-letter-summary.js';
import type { ArrivedDeadLetter } from '../../../local/runner/local-pipeline.js';
import type { DeadLetterEnvelope } from '../../../shared/runtime/dead-letter.js';

// Every third letter is a late record (`lateRecords: 'dead-letter'`), the others bad records.
const reasonOf = (n: number) => (n % 3 === 0 ? 'late' : 'schema-violation');
const letter = (n: number): ArrivedDeadLetter => ({
  envelope: { correlationId: `clicks/shardId-0/${n}`, error: { reason: reasonOf(n) } } as DeadLetterEnvelope,
  arrivalTime: n,
});

async function* pagesOf(sizes: readonly number[]): AsyncGenerator<ArrivedDeadLetter[]> {
  let n = 0;
  for (const size of sizes) yield Array.from({ length: size }, () => letter(n++));
}

describe('sampleDeadLetters', () => {
  it('counts every letter that passes (the late ones apart), and keeps the first of them up to the sample size, in order', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 700 }), { maxLength: 6 }),
        fc.integer({ min: 1, max: 4 }),
        async (sizes, every) => {
          const keep = (l: ArrivedDeadLetter) => l.arrivalTime % every === 0;
          const lookups: string[] = [];
          const { deadLetters, deadLetterCount, lateDeadLetterCount } = await sampleDeadLetters(
            pagesOf(sizes),
            async (envelope) => {
              lookups.push(envelope.correlationId);
              return { file: 'clicks.jsonl', line: Number(envelope.correlationId.split('/')[2]) + 1 };
            },
            keep,
          );
          const total = sizes.reduce((a, b) => a + b, 0);
          const passing = Array.from({ length: total }, (_, n) => n).filter((n) => n % every === 0);
          expect(deadLetterCount).toBe(passing.length);
          expect(lateDeadLetterCount).toBe(passing.filter((n) => reasonOf(n) === 'late').length);
          const sample = passing.slice(0, deadLetterSampleSize);
          expect(deadLetters.map((d) => d.origin?.line)).toEqual(sample.map((n) => n + 1));
          // Origins are looked up for the sample only: two requests per letter would not scale.
          expect(lookups).toHaveLength(sample.length);
        },
      ),
      { numRuns: 30 },
    );
  });
});
