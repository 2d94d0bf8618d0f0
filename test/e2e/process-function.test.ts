import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeClickSample } from '../../examples/data/click-generator.js';
import viewsPerUserMinute from '../../examples/views-per-user-minute.js';
import { type RunSummary, runPipelineOnFiles } from '../../local/runner/run-files.js';
import { expectViewsPerUserMinute } from '../helpers/process-check.js';

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
    expectViewsPerUserMinute(file('clicks.jsonl'), file('out.jsonl'));
  });

  it('sends nothing late and fails no record', () => {
    expect(readFileSync(file('late.jsonl'), 'utf8')).toBe('');
    for (const { stats } of summary.stages) expect(stats.failedRecords).toBe(0);
    expect(summary.failedBatches).toEqual([]);
  });
});
