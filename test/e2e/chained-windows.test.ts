import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeClickSample } from '../../examples/data/click-generator.js';
import { type RunSummary, runPipelineOnFiles } from '../../local/runner/run-files.js';
import type { WindowResult } from '../../shared/windows/types.js';
import { reference, views } from '../reference/windows.js';
import chainedWindows from './fixtures/chained-windows.js';

/**
 * A window fed by a window: the first stage's results (each at its window's end) must all count in
 * the second stage, none late. It needs the first stage to forward its watermark held back by its
 * allowed lateness: forwarded as is, the watermark that fires a minute 30 s late has already passed
 * the end of the 5-minute window that minute belongs to.
 */
describe('eddy run: a windowed stage feeding another (a two-phase aggregation)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'eddy-chain-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string) => join(dir, name);
  let summary: RunSummary;

  beforeAll(async () => {
    // 40,000 clicks 10 ms apart: a bit over six minutes of event time, disordered by up to 5 s.
    await writeClickSample(file('clicks.jsonl'), { events: 40_000, seed: 21 });
    summary = await runPipelineOnFiles({
      pipeline: chainedWindows,
      inputs: [{ stream: 'clicks', file: file('clicks.jsonl') }],
      outputs: [
        { stream: 'views-per-5m', file: file('out.jsonl') },
        { stream: 'late-per-page', file: file('late1.jsonl') },
        { stream: 'late-global', file: file('late2.jsonl') },
      ],
    });
  });

  it('sums every per-page minute into its 5 minutes, exactly the views of those 5 minutes', () => {
    const expected = reference(
      views(file('clicks.jsonl')),
      () => 'all',
      { kind: 'tumbling', size: 300_000, timeDomain: 'event' },
      () => 1,
    );
    const results = readFileSync(file('out.jsonl'), 'utf8')
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as WindowResult<number>);
    const actual = new Map<string, number>();
    for (const result of results) {
      const name = `${result.key}|${result.windowStart}|${result.windowEnd}`;
      // At least once with a deterministic identity: a repeat carries the same value.
      expect(actual.get(name) ?? result.value, name).toBe(result.value);
      actual.set(name, result.value);
    }
    expect(actual).toEqual(expected);
    expect(expected.size).toBeGreaterThanOrEqual(2);
  });

  it('sends nothing to either late output, and loses no record', () => {
    expect(readFileSync(file('late1.jsonl'), 'utf8')).toBe('');
    expect(readFileSync(file('late2.jsonl'), 'utf8')).toBe('');
    for (const { stats } of summary.stages) expect(stats.failedRecords).toBe(0);
    expect(summary.failedBatches).toEqual([]);
  });
});
