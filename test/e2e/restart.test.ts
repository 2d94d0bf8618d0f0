import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeClickSample } from '../../examples/data/click-generator.js';
import pageViewCounts from '../../examples/page-view-counts.js';
import { FileCheckpointStore } from '../../local/event-source-mapping/index.js';
import { feedJsonLines } from '../../local/runner/input-feeder.js';
import { LocalPipeline } from '../../local/runner/local-pipeline.js';
import { waitUntil } from '../helpers/emulators.js';
import {
  describeStages,
  PAGE_VIEW_COUNTS_LATE as LATE,
  pageViewCountsOf,
  PAGE_VIEW_COUNTS_SINK as SINK,
} from '../helpers/pipeline-run.js';
import { compareWindows, type WindowResult } from '../helpers/window-check.js';
import { views } from '../reference/windows.js';

const SOURCE_STAGE = 'from-clicks';
const WINDOWED_STAGE = 'from-page-view-counts-keyBy-1';
const SHUFFLE = 'page-view-counts-keyBy-1';
const EVENTS = 10_000;
const FIRST_PART = 6_000;

/**
 * The whole local stack (emulators, event source mappings, stage handlers) stopped in the middle of
 * examples/page-view-counts.ts and started again on the same data folder: the emulators' LevelDB
 * files keep the streams, their records and the state table, the mappings' checkpoint files keep
 * where each shard was. The second session feeds the rest of the input and finishes; every window
 * must equal the batch computation over the whole input, as a run that never stopped.
 */
describe('restart of the whole local stack on its data folder (examples/page-view-counts.ts)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'eddy-restart-'));
  const input = join(dir, 'clicks.jsonl');
  const firstPart = join(dir, 'clicks-1.jsonl');
  // The first part, fed in two: the stack is stopped right after the second half is put.
  const firstHalf = join(dir, 'clicks-1a.jsonl');
  const secondHalf = join(dir, 'clicks-1b.jsonl');
  const secondPart = join(dir, 'clicks-2.jsonl');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  beforeAll(async () => {
    await writeClickSample(input, { events: EVENTS, seed: 41, users: 300, pages: 30, badLineRate: 0.001 });
    const lines = readFileSync(input, 'utf8').trimEnd().split('\n');
    writeFileSync(firstPart, `${lines.slice(0, FIRST_PART).join('\n')}\n`);
    writeFileSync(firstHalf, `${lines.slice(0, FIRST_PART / 2).join('\n')}\n`);
    writeFileSync(secondHalf, `${lines.slice(FIRST_PART / 2, FIRST_PART).join('\n')}\n`);
    writeFileSync(secondPart, `${lines.slice(FIRST_PART).join('\n')}\n`);
  });
  const expected = () => pageViewCountsOf(input);

  async function restartRun(dataDir: string, stop: 'graceful' | 'crash') {
    // Session 1: the first part of the input; stopped while both stages are busy with it.
    const first = await LocalPipeline.start({ pipeline: pageViewCounts, dataDir });
    let before: ReturnType<LocalPipeline['status']>;
    let failedBefore: LocalPipeline['failedBatches'];
    try {
      await feedJsonLines(first.kinesis, first.physicalName('clicks'), firstHalf);
      const windowed = () => first.status().find((s) => s.stage.id === WINDOWED_STAGE)?.stats.recordsIn ?? 0;
      await waitUntil(() => windowed() > 0, 'the windowed stage has taken in records', {
        timeoutMs: 60_000,
        progress: () => first.status(),
      });
      await feedJsonLines(first.kinesis, first.physicalName('clicks'), secondHalf);
      before = first.status();
      // A crash: the emulator process is SIGKILLed with requests in flight, the mappings cannot checkpoint.
      if (stop === 'crash') await first.emulators?.crash();
    } finally {
      await first.stop();
      failedBefore = first.failedBatches;
    }
    const taken = (status: typeof before, stage: string) =>
      status.find((s) => s.stage.id === stage)?.stats.recordsIn ?? 0;
    // Stopped with work outstanding: the source stage in the middle of the first part, or the
    // windowed stage in the middle of what the source stage had sent it (shuffle packs make its
    // batches large, so which of the two depends on timing).
    const sent = before.find((s) => s.stage.id === SOURCE_STAGE)?.stats.written.get(SHUFFLE) ?? 0;
    expect(sent).toBeGreaterThan(0);
    const sourceMidway = taken(before, SOURCE_STAGE) < FIRST_PART;
    const windowedMidway = taken(before, WINDOWED_STAGE) < views(firstPart).length;
    expect(sourceMidway || windowedMidway, 'stopped in the middle').toBe(true);

    // Session 2: the same folder; the rest of the input, its end, and drained.
    const second = await LocalPipeline.start({ pipeline: pageViewCounts, dataDir });
    try {
      await feedJsonLines(second.kinesis, second.physicalName('clicks'), secondPart);
      await second.endInput('clicks');
      await second.waitUntilDrained({ stallLimitMs: 60_000 });
      const read = async (stream: string) =>
        (await second.readStream(stream)).map((r) => JSON.parse(Buffer.from(r.data).toString('utf8')) as unknown);
      const results = (await read(SINK)) as WindowResult[];
      const after = second.status();
      const comparison = compareWindows(results, expected());
      console.log(
        `${stop} stop after ${taken(before, SOURCE_STAGE)} source records; the second session took in ` +
          `${taken(after, SOURCE_STAGE)}; ${comparison.windows} windows, ${comparison.repeats} repeated results, ` +
          `${comparison.lost} lost, ${comparison.duplicated} counted twice\n${describeStages(after)}`,
      );
      for (const difference of comparison.differences) console.log(difference);
      return {
        comparison,
        late: await read(LATE),
        before,
        after,
        failed: [...failedBefore, ...second.failedBatches],
        taken,
      };
    } finally {
      await second.stop();
    }
  }

  it('stopped gracefully in the middle, started again: every window equals the batch computation', async () => {
    const dataDir = join(dir, 'graceful');
    const { comparison, late, before, after, failed, taken } = await restartRun(dataDir, 'graceful');

    expect(comparison.differences).toEqual([]);
    expect(late).toEqual([]);
    expect(failed).toEqual([]);
    // Resumed from the checkpoints, not from the start of the streams: each record taken in once.
    expect(taken(before, SOURCE_STAGE) + taken(after, SOURCE_STAGE)).toBe(EVENTS);
    const checkpoints = await new FileCheckpointStore(
      join(dataDir, 'event-source-mappings', `page-view-counts-${SOURCE_STAGE}.json`),
    ).snapshot();
    expect(checkpoints.size).toBeGreaterThan(0);
  });

  it('the emulator process SIGKILLed in the middle, started again: every window equals the batch computation', async () => {
    const { comparison, late, failed } = await restartRun(join(dir, 'crash'), 'crash');

    expect(comparison.differences).toEqual([]);
    expect(late).toEqual([]);
    expect(failed).toEqual([]);
  });
});
