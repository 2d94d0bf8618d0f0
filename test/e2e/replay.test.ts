import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeClickSample } from '../../examples/data/click-generator.js';
import pageViewCounts from '../../examples/page-view-counts.js';
import { loadGeneration } from '../../local/runner/generations.js';
import { replayPipeline } from '../../local/runner/replay.js';
import { runPipelineOnFiles } from '../../local/runner/run-files.js';
import { tumbling } from '../../shared/windows/index.js';
import { PAGE_VIEW_COUNTS_SINK as SINK } from '../helpers/pipeline-run.js';
import { compareWindows, type WindowResult } from '../helpers/window-check.js';
import { reference, views } from '../reference/windows.js';

const readResults = (file: string): WindowResult[] =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as WindowResult);

/** Each result as its identity and value, sorted: two runs that agree give equal lists. */
const identities = (results: readonly WindowResult[]) =>
  [
    ...new Set(results.map((r) => `${r.key}|${r.windowStart}|${r.windowEnd}|${r.revision}|${r.kind}|${r.value}`)),
  ].sort();

/**
 * `eddy replay` on the local stack: a pipeline run on a data folder, then run again from the trim
 * horizon (or a point in time) of its source stream into fresh state, a new state generation (a new
 * table, new event source mappings). The replay's results must equal the first run's.
 */
describe('replay into a fresh state generation (examples/page-view-counts.ts)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'eddy-replay-'));
  const first = join(dir, 'clicks-1.jsonl');
  const second = join(dir, 'clicks-2.jsonl');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  beforeAll(async () => {
    await writeClickSample(first, { events: 5_000, seed: 51, users: 200, pages: 20, badLineRate: 0.002 });
    // A day later in event time: its windows are its own.
    await writeClickSample(second, {
      events: 2_000,
      seed: 52,
      users: 200,
      pages: 20,
      startTime: Date.UTC(2026, 0, 2),
    });
  });
  const expected = (file: string) =>
    reference(
      views(file),
      (c) => c.page,
      tumbling('1m'),
      () => 1,
    );

  it('run, then replay from TRIM_HORIZON: the replay’s results equal the first run’s, in a new state table', async () => {
    const dataDir = join(dir, 'trim-horizon');
    const run = await runPipelineOnFiles({
      pipeline: pageViewCounts,
      dataDir,
      inputs: [{ stream: 'clicks', file: first }],
      outputs: [{ stream: SINK, file: join(dir, 'run.jsonl') }],
    });

    const replay = await replayPipeline({
      pipeline: pageViewCounts,
      dataDir,
      from: 'TRIM_HORIZON',
      outputs: [{ stream: SINK, file: join(dir, 'replay.jsonl') }],
    });

    const ran = readResults(join(dir, 'run.jsonl'));
    const replayed = readResults(join(dir, 'replay.jsonl'));
    console.log(
      `run: ${ran.length} results in ${(run.elapsedMs / 1000).toFixed(1)} s; replay into generation ` +
        `${replay.generation.generation} (${replay.stateTable}): ${replayed.length} results in ${(replay.elapsedMs / 1000).toFixed(1)} s`,
    );
    expect(compareWindows(ran, expected(first)).differences).toEqual([]);
    expect(identities(replayed)).toEqual(identities(ran));
    expect(replay.generation).toMatchObject({ generation: 1, sourcesFrom: 'TRIM_HORIZON' });
    expect(replay.stateTable).toBe('page-view-counts-state-g1');
    // The source stage read every record again; the windowed stage read only what the replay wrote.
    const taken = (stage: string) => replay.stages.find((s) => s.stage.id === stage)?.stats.recordsIn;
    expect(taken('from-clicks')).toBe(run.stages.find((s) => s.stage.id === 'from-clicks')?.stats.recordsIn);
    expect(taken('from-page-view-counts-keyBy-1')).toBe(
      run.stages.find((s) => s.stage.id === 'from-page-view-counts-keyBy-1')?.stats.recordsIn,
    );
    expect(replay.deadLetters).toHaveLength(run.deadLetters.length);
    expect(replay.failedBatches).toEqual([]);
    // The sink holds both: the replay wrote every result again, with the same identity and value.
    expect(replay.sinkRecords[SINK]).toBe(ran.length);
    expect(loadGeneration(dataDir, 'page-view-counts')?.generation).toBe(1);
  });

  it('replay from a point in time: only what arrived since, into the generation after the last', async () => {
    const dataDir = join(dir, 'at-timestamp');
    await runPipelineOnFiles({
      pipeline: pageViewCounts,
      dataDir,
      inputs: [{ stream: 'clicks', file: first }],
      outputs: [],
    });
    const between = new Date();
    await new Promise((resolve) => setTimeout(resolve, 20));
    await runPipelineOnFiles({
      pipeline: pageViewCounts,
      dataDir,
      inputs: [{ stream: 'clicks', file: second }],
      outputs: [],
    });
    const once = await replayPipeline({ pipeline: pageViewCounts, dataDir, from: 'TRIM_HORIZON', outputs: [] });

    const replay = await replayPipeline({
      pipeline: pageViewCounts,
      dataDir,
      from: between,
      outputs: [{ stream: SINK, file: join(dir, 'since.jsonl') }],
    });

    expect(once.generation.generation).toBe(1);
    expect(replay.generation.generation).toBe(2);
    expect(replay.stateTable).toBe('page-view-counts-state-g2');
    const comparison = compareWindows(readResults(join(dir, 'since.jsonl')), expected(second));
    for (const difference of comparison.differences) console.log(difference);
    expect(comparison.differences).toEqual([]);
  });
});
