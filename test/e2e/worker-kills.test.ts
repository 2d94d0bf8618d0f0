import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeClickSample } from '../../examples/data/click-generator.js';
import { useEmulators } from '../helpers/emulators.js';
import { describeStages, PAGE_VIEW_COUNTS_LATE as LATE, runPageViewCounts } from '../helpers/pipeline-run.js';

const pipelineModule = fileURLToPath(new URL('../../examples/page-view-counts.ts', import.meta.url));
const WINDOWED_STAGE = 'from-page-view-counts-keyBy-1';

/**
 * examples/page-view-counts.ts with every Lambda execution environment a child process, and
 * workers SIGKILLed at random points in the middle of their batches: after a random number of the
 * invocation's AWS requests (some state writes and PutRecords done, others in flight), or just
 * before answering. Lambda delivers the batch again, to a fresh environment. Every window must
 * still equal the batch computation over the input: nothing lost, nothing counted twice.
 */
describe('worker sandboxes killed in the middle of batches (examples/page-view-counts.ts)', () => {
  const emulators = useEmulators();
  const dir = mkdtempSync(join(tmpdir(), 'eddy-kills-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const clicks = (events: number) => join(dir, `clicks-${events}.jsonl`);
  beforeAll(async () => {
    await writeClickSample(clicks(20_000), { events: 20_000, seed: 21, users: 300, pages: 30, badLineRate: 0.001 });
    await writeClickSample(clicks(6_000), { events: 6_000, seed: 22, users: 200, pages: 20 });
  });

  async function run(input: string, killWorkers: { rate: number; seed: number; stages?: string[]; atLeast?: number }) {
    const { run, comparison } = await runPageViewCounts({
      pipelineModule,
      sandboxes: 'worker',
      killWorkers,
      endpoint: emulators().kinesisEndpoint,
      dynamodbEndpoint: emulators().dynamodbEndpoint ?? '',
      directKinesisEndpoint: emulators().kinesisEndpoint,
      input,
    });
    console.log(
      `${run.fed} clicks in ${(run.elapsedMs / 1000).toFixed(1)} s, ${run.workerKills} workers killed; ` +
        `${comparison.windows} windows, ${comparison.repeats} repeated results, ` +
        `${comparison.lost} records lost, ${comparison.duplicated} counted twice\n${describeStages(run.stages)}`,
    );
    for (const difference of comparison.differences) console.log(difference);
    return { run, comparison };
  }

  it('20,000 clicks, workers of every stage killed at least 20 times: every window equals the batch computation', async () => {
    const { run: result, comparison } = await run(clicks(20_000), { rate: 0.25, seed: 5, atLeast: 10 });

    expect(result.workerKills).toBeGreaterThanOrEqual(20);
    expect(result.stages.every((s) => s.stats.sandboxKills > 0)).toBe(true);
    expect(comparison.differences).toEqual([]);
    expect(result.outputs.get(LATE)).toEqual([]);
    expect(result.failedBatches).toEqual([]);
  });

  it('6,000 clicks, the windowed stage’s workers killed: exact under its own retries', async () => {
    const { run: result, comparison } = await run(clicks(6_000), {
      rate: 0.5,
      seed: 9,
      stages: [WINDOWED_STAGE],
      atLeast: 5,
    });

    expect(result.stages.find((s) => s.stage.id === WINDOWED_STAGE)?.stats.sandboxKills).toBeGreaterThanOrEqual(5);
    expect(comparison.differences).toEqual([]);
    expect(result.outputs.get(LATE)).toEqual([]);
    expect(result.failedBatches).toEqual([]);
  });
});
