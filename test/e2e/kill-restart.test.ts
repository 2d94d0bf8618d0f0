import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeClickSample } from '../../examples/data/click-generator.js';
import { runKilledAndRestarted } from '../helpers/kill-restart.js';
import { pageViewCountsOf } from '../helpers/pipeline-run.js';
import { compareWindows, type WindowResult } from '../helpers/window-check.js';

const EVENTS = 10_000;

/**
 * When to SIGKILL each session (kill-restart.ts): the first within 0.8 s of the start of the feed, in
 * the middle of it (10,000 lines take a few seconds), the others within 6 s of their stack's start,
 * anywhere in the creation of the streams, the rest of the feed and the drain.
 */
const killSchedule = (minMore: number, maxMore: number) =>
  fc
    .tuple(
      fc.integer({ min: 0, max: 800 }),
      fc.array(fc.integer({ min: 0, max: 6_000 }), { minLength: minMore, maxLength: maxMore }),
    )
    .map(([first, more]) => [first, ...more]);

const readLines = (file: string): unknown[] =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as unknown);

/**
 * `eddy run --data-dir` on examples/page-view-counts.ts, its whole process group (the CLI, the
 * emulators' process, worker sandboxes) SIGKILLed several times at random moments and started again
 * with the same command each time, as a user would after a crash. The run that finishes must give
 * every window the batch computation's value over the input, and no result identity
 * `(key, windowStart, windowEnd, revision)` may ever have been emitted with two values, by any
 * session (the sink stream keeps every session's results). A session that was killed is not waited
 * for; the last one fails when its data folder stops changing, not at a fixed time.
 */
describe('eddy run --data-dir, killed and restarted', () => {
  const dir = mkdtempSync(join(tmpdir(), 'eddy-kill-restart-'));
  const input = join(dir, 'clicks.jsonl');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  beforeAll(async () => {
    await writeClickSample(input, { events: EVENTS, seed: 71, users: 300, pages: 30, badLineRate: 0.001 });
  });
  const expected = () => pageViewCountsOf(input);

  // One random kill schedule per sandbox kind: three runs drawing the kind at random left one kind
  // untested in a quarter of CI runs, and cost a third more.
  it.each(['in-process', 'worker'])(
    'SIGKILLed 2 to 4 times at random moments, %s sandboxes: the windows of a run that never stopped, one value per identity',
    async (sandbox) => {
      let run = 0;
      await fc.assert(
        fc.asyncProperty(killSchedule(1, 3), async (killAfterMs) => {
          run += 1;
          const dataDir = join(dir, `data-${sandbox}-${run}`);
          const output = join(dir, `counts-${sandbox}-${run}.jsonl`);
          const late = join(dir, `late-${sandbox}-${run}.jsonl`);

          const result = await runKilledAndRestarted({
            args: [
              'run',
              'examples/page-view-counts.ts',
              '--input',
              `clicks=${input}`,
              '--output',
              `page-view-counts=${output}`,
              '--output',
              `late-clicks=${late}`,
              '--data-dir',
              dataDir,
              '--sandbox',
              sandbox,
              '--no-progress',
            ],
            dataDir,
            killAfterMs,
            firstKillInFeed: true,
          });
          const comparison = compareWindows(readLines(output) as WindowResult[], expected());
          console.log(
            `${sandbox}, kills after ${killAfterMs.join(', ')} ms: ${result.kills} killed of ${result.sessions} sessions; ` +
              `${comparison.windows} windows, ${comparison.repeats} repeated results, ${comparison.lost} lost, ` +
              `${comparison.duplicated} counted twice`,
          );
          for (const difference of comparison.differences.slice(0, 20)) console.log(difference);

          expect(result.kills).toBeGreaterThan(0);
          expect(comparison.differences).toEqual([]);
          expect(readLines(late)).toEqual([]);
          expect(result.stdout).toMatch(/pipeline page-view-counts:/);
        }),
        { numRuns: 1, endOnFailure: true },
      );
    },
    900_000,
  );

  it('SIGKILLed twice at random moments while its worker sandboxes are killed too: the same windows, one value per identity', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(killSchedule(1, 1), fc.integer({ min: 1, max: 1_000 }), async (killAfterMs, seed) => {
        run += 1;
        const dataDir = join(dir, `workers-${run}`);
        const output = join(dir, `workers-counts-${run}.jsonl`);

        const result = await runKilledAndRestarted({
          script: true,
          args: ['--import', 'tsx', 'test/e2e/fixtures/run-with-worker-kills.ts', input, output, dataDir, String(seed)],
          dataDir,
          killAfterMs,
          firstKillInFeed: true,
        });
        const comparison = compareWindows(readLines(output) as WindowResult[], expected());
        console.log(
          `worker kills (seed ${seed}), runner kills after ${killAfterMs.join(', ')} ms: ${result.kills} killed of ` +
            `${result.sessions} sessions; ${result.stdout.trim()}; ${comparison.windows} windows, ` +
            `${comparison.repeats} repeated results, ${comparison.lost} lost, ${comparison.duplicated} counted twice`,
        );
        for (const difference of comparison.differences.slice(0, 20)) console.log(difference);

        expect(result.kills).toBeGreaterThan(0);
        expect(comparison.differences).toEqual([]);
      }),
      { numRuns: 2, endOnFailure: true },
    );
  }, 900_000);
});
