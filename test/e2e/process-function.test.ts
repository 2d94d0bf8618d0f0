import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeClickSample } from '../../examples/data/click-generator.js';
import viewsPerUserMinute, { type UserMinute } from '../../examples/views-per-user-minute.js';
import { type RunSummary, runPipelineOnFiles } from '../../local/runner/run-files.js';
import { views } from '../reference/windows.js';

/** examples/views-per-user-minute.ts with `eddy run` on the emulators, exact against a batch count. */
describe('eddy run: a keyed process function with map state and event-time timers', () => {
  const dir = mkdtempSync(join(tmpdir(), 'eddy-process-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string) => join(dir, name);
  let summary: RunSummary;

  beforeAll(async () => {
    // 20,000 clicks 10 ms apart, disordered by up to 5 s: under the 10 s bound, nothing is late.
    await writeClickSample(file('clicks.jsonl'), { events: 20_000, seed: 15 });
    summary = await runPipelineOnFiles({
      pipeline: viewsPerUserMinute,
      inputs: [{ stream: 'clicks', file: file('clicks.jsonl') }],
      outputs: [
        { stream: 'views-per-user-minute', file: file('out.jsonl') },
        { stream: 'page-views-per-user-late', file: file('late.jsonl') },
      ],
    });
  });

  it("emits each user's views per minute once (repeats only with the same value), equal to the batch count", () => {
    const expected = new Map<string, number>();
    for (const view of views(file('clicks.jsonl'))) {
      const name = `${view.user}|${Math.floor(view.ts / 60_000) * 60_000}`;
      expected.set(name, (expected.get(name) ?? 0) + 1);
    }
    const actual = new Map<string, number>();
    for (const line of readFileSync(file('out.jsonl'), 'utf8').split('\n')) {
      if (line === '') continue;
      const result = JSON.parse(line) as UserMinute;
      const name = `${result.user}|${result.minute}`;
      expect(actual.get(name) ?? result.views, name).toBe(result.views);
      actual.set(name, result.views);
    }
    expect(actual).toEqual(expected);
    expect(expected.size).toBeGreaterThan(100);
  });

  it('sends nothing late and fails no record', () => {
    expect(readFileSync(file('late.jsonl'), 'utf8')).toBe('');
    for (const { stats } of summary.stages) expect(stats.failedRecords).toBe(0);
    expect(summary.failedBatches).toEqual([]);
  });
});
