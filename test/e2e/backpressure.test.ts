import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { formatSummary } from '../../cli/summary.js';
import type { StageLag, StageStatus } from '../../local/runner/local-pipeline.js';
import { runPipelineOnFiles } from '../../local/runner/run-files.js';
import slowStage, { SLOW_MS_PER_RECORD } from './fixtures/slow-stage.js';

const pipelineModule = fileURLToPath(new URL('./fixtures/slow-stage.ts', import.meta.url));
const FAST = 'from-events';
const SLOW = 'from-slow-stage-keyBy-1';
const EVENTS = 1_200;

/**
 * Consumer lag: a fast stage feeds a slow one (a map that sleeps 8 ms per record, batches of 10,
 * each stage in its own worker process). The local stack reports, per stage and per shard, the
 * records its mapping holds unfinished, the age of the oldest of them (Lambda's IteratorAge) and
 * whether the mapping stopped reading (backpressure); the run summary shows each stage's maximum.
 */
describe('backpressure and consumer lag', () => {
  const dir = mkdtempSync(join(tmpdir(), 'eddy-lag-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a slow stage shows its lag growing while the fast stage before it keeps up and loses nothing', async () => {
    // Arrange
    const input = join(dir, 'events.jsonl');
    const lines = Array.from({ length: EVENTS }, (_, id) => JSON.stringify({ id, key: `k${id % 17}` }));
    writeFileSync(input, `${lines.join('\n')}\n`);
    const samples: { at: number; fast: StageLag; slow: StageLag; fastIn: number }[] = [];
    const lagOf = (stages: readonly StageStatus[], id: string) => stages.find((s) => s.stage.id === id) as StageStatus;
    const started = Date.now();

    // Act
    const summary = await runPipelineOnFiles({
      pipeline: slowStage,
      inputs: [{ stream: 'events', file: input }],
      outputs: [{ stream: 'slow-out', file: join(dir, 'out.jsonl') }],
      sandboxes: 'worker',
      pipelineModule,
      onProgress: ({ stages }) => {
        const fast = lagOf(stages, FAST);
        const slow = lagOf(stages, SLOW);
        samples.push({ at: Date.now() - started, fast: fast.lag, slow: slow.lag, fastIn: fast.stats.recordsIn });
      },
    });

    // Assess
    const table = formatSummary(summary);
    console.log(
      `${table}\nslow stage lag samples (s after start: iterator age ms, pending, backpressured shards):\n` +
        samples
          .filter((_, i) => i % 5 === 0)
          .map(
            (s) =>
              `  ${(s.at / 1000).toFixed(1)}: ${s.slow.iteratorAgeMs} ms, ${s.slow.pendingRecords}, ${s.slow.backpressuredShards}`,
          )
          .join('\n'),
    );
    // The fast stage took in every record while the slow one was still far behind.
    const fastDone = samples.find((s) => s.fastIn >= EVENTS);
    expect(fastDone, 'the fast stage finished its input').toBeDefined();
    const behind = samples.filter((s) => s.fastIn >= EVENTS && s.slow.pendingRecords > 0);
    expect(behind.length, 'samples with the fast stage done and the slow one still working').toBeGreaterThan(5);
    // The slow stage's lag grew: its oldest unfinished record got older, by seconds, sample after sample.
    const ages = samples.map((s) => s.slow.iteratorAgeMs);
    const peak = Math.max(...ages);
    const firstBusy = samples.find((s) => s.slow.pendingRecords > 0) as (typeof samples)[number];
    expect(peak).toBeGreaterThan(firstBusy.slow.iteratorAgeMs + 2_000);
    expect(
      samples.some((s) => s.slow.backpressuredShards > 0),
      'the slow mapping stopped reading ahead',
    ).toBe(true);
    // After the fast stage was done, the slow stage's lag kept growing.
    const afterFast = samples.filter((s) => s.at >= (fastDone?.at ?? 0)).map((s) => s.slow.iteratorAgeMs);
    expect(Math.max(...afterFast) - (afterFast[0] ?? 0)).toBeGreaterThan(3_000);
    // The fast stage fell behind less (its worst IteratorAge is mostly its first worker's cold start).
    const fastStatus = lagOf(summary.stages, FAST);
    const slowStatus = lagOf(summary.stages, SLOW);
    expect(slowStatus.lag.maxIteratorAgeMs).toBeGreaterThan(5_000);
    expect(fastStatus.lag.maxIteratorAgeMs).toBeLessThan(slowStatus.lag.maxIteratorAgeMs);
    expect(fastStatus.stats.recordsOut).toBe(EVENTS);
    // Drained: nothing pending, lag back to 0, per shard as per stage.
    expect(slowStatus.lag.pendingRecords).toBe(0);
    expect(slowStatus.mapping.shards.every((shard) => shard.lag.iteratorAgeMs === 0)).toBe(true);
    // Nothing lost: every event reached the sink, once each (no function errors, no retries).
    const out = readFileSync(join(dir, 'out.jsonl'), 'utf8')
      .trimEnd()
      .split('\n')
      .map((line) => (JSON.parse(line) as { id: number }).id);
    expect(new Set(out).size).toBe(EVENTS);
    expect(out).toHaveLength(EVENTS);
    expect(summary.failedBatches).toEqual([]);
    expect(slowStatus.stats.recordsIn).toBe(EVENTS);
    expect(slowStatus.stats.busyMs).toBeGreaterThan(EVENTS * SLOW_MS_PER_RECORD * 0.9);
    expect(table).toMatch(/max lag/);
  });
});
