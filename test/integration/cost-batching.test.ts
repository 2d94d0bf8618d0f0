import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { runPipelineOnFiles } from '../../local/runner/run-files.js';
import { pipeline } from '../../shared/index.js';
import { count, tumbling } from '../../shared/windows/index.js';

const Click = z.object({ page: z.string(), ts: z.number() });
const START = Date.UTC(2026, 0, 1);

interface Result {
  readonly key: string;
  readonly windowStart: number;
  readonly value: number;
  readonly kind: string;
}

describe("batching: 'cost' in the local stack", () => {
  const dir = mkdtempSync(join(tmpdir(), 'eddy-cost-batching-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads the windowed stage one window period per batch and counts every click once', async () => {
    // Prepare: 300 clicks over 7 pages and five 2 s windows, in order.
    const clicks = Array.from({ length: 300 }, (_, i) => ({ page: `/p${(i * 5) % 7}`, ts: START + i * 33 }));
    const input = join(dir, 'clicks.jsonl');
    const output = join(dir, 'counts.jsonl');
    writeFileSync(input, `${clicks.map((c) => JSON.stringify(c)).join('\n')}\n`);
    const p = pipeline('batched', { batching: 'cost' });
    p.source('clicks', { schema: Click, eventTime: (c) => c.ts })
      .keyBy((c) => c.page)
      .window(tumbling('2s'))
      .aggregate(count())
      .sink('counts');
    const expected = new Map<string, number>();
    for (const c of clicks) {
      const name = `${c.page}|${Math.floor(c.ts / 2000) * 2000}`;
      expected.set(name, (expected.get(name) ?? 0) + 1);
    }

    // Act
    const summary = await runPipelineOnFiles({
      pipeline: p,
      inputs: [{ stream: 'clicks', file: input }],
      outputs: [{ stream: 'counts', file: output }],
    });

    // Assess
    expect(p.plan().stages.map((s) => [s.id, s.eventSource.batchSize, s.eventSource.maxBatchingWindowSeconds])).toEqual(
      [
        ['from-clicks', 500, 1],
        ['from-batched-keyBy-1', 10_000, 2],
      ],
    );
    const results = readFileSync(output, 'utf8')
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as Result);
    expect(results.every((r) => r.kind === 'final')).toBe(true);
    const actual = new Map<string, number>();
    for (const r of results) {
      const name = `${r.key}|${r.windowStart}`;
      if (actual.has(name)) expect(actual.get(name)).toBe(r.value);
      actual.set(name, r.value);
    }
    expect(actual).toEqual(expected);
    expect(summary.failedBatches).toEqual([]);
  });
});
