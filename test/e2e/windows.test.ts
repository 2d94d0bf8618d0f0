import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { writeClickSample } from '../../examples/data/click-generator.js';
import { type RunSummary, runPipelineOnFiles } from '../../local/runner/run-files.js';
import { pipeline } from '../../shared/index.js';
import { count, hopping, session, sum, tumbling, tumblingProcessingTime } from '../../shared/windows/index.js';
import type { WindowAssigner } from '../../shared/windows/types.js';
import { type Click, reference, views } from '../reference/windows.js';

const ClickSchema = z.object({ user: z.string(), page: z.string(), kind: z.string(), ts: z.number() });

interface Result {
  key: string;
  windowStart: number;
  windowEnd: number;
  value: number;
  kind: string;
}

function asMap(results: Result[]): Map<string, number> {
  const map = new Map<string, number>();
  for (const r of results) {
    const name = `${r.key}|${r.windowStart}|${r.windowEnd}`;
    // A repeat after a retry carries the same window and value: keep one, and check it agrees.
    if (map.has(name)) expect(map.get(name)).toBe(r.value);
    map.set(name, r.value);
  }
  return map;
}

const readLines = <T>(file: string): T[] =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as T);

describe('eddy run: event-time windows on the embedded stack equal the batch computation', () => {
  const dir = mkdtempSync(join(tmpdir(), 'eddy-windows-'));
  const input = join(dir, 'clicks.jsonl');
  beforeAll(async () => {
    await writeClickSample(input, { events: 20_000, seed: 21, users: 300, pages: 30, badLineRate: 0.001 });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const cases: [string, WindowAssigner, (c: Click) => string, 'count' | 'sum'][] = [
    ['tumbling count by page', tumbling('10s'), (c) => c.page, 'count'],
    ['hopping sum by page', hopping('20s', '5s'), (c) => c.page, 'sum'],
    ['session count by user', session('3s'), (c) => c.user, 'count'],
  ];

  it.each(cases)('%s, with 2 source and 3 shuffle shards', async (name, assigner, keyOf, kind) => {
    // Prepare: the generator's disorder is under 5 s, so with this bound nothing is late.
    const output = join(dir, `${name.replace(/ /g, '-')}.jsonl`);
    const value = kind === 'count' ? () => 1 : (c: Click) => c.ts % 7;
    const p = pipeline('win', { eventSource: { maxBatchingWindowSeconds: 0 } });
    p.source('clicks', { schema: ClickSchema, eventTime: (c) => c.ts, maxOutOfOrderness: '5s', shards: 2 })
      .filter((c) => c.kind === 'view')
      .keyBy(keyOf, { shards: 3 })
      .window(assigner)
      .aggregate(kind === 'count' ? count() : sum(value))
      .sink('results');

    // Act
    const summary = await runPipelineOnFiles({
      pipeline: p,
      inputs: [{ stream: 'clicks', file: input }],
      outputs: [
        { stream: 'results', file: output },
        { stream: 'win-window-1-late', file: `${output}.late` },
      ],
    });

    // Assess
    const results = readLines<Result>(output);
    expect(results.every((r) => r.kind === 'final')).toBe(true);
    expect(asMap(results)).toEqual(reference(views(input), keyOf, assigner, value));
    expect(readLines(`${output}.late`)).toEqual([]);
    expect(summary.failedBatches).toEqual([]);
  });

  it('fires processing-time windows at the end of a bounded input, every record counted once', async () => {
    const output = join(dir, 'processing-time.jsonl');
    const p = pipeline('clock', { eventSource: { maxBatchingWindowSeconds: 0 } });
    p.source('clicks', { schema: ClickSchema, shards: 2 })
      .filter((c) => c.kind === 'view')
      .keyBy((c) => c.page)
      .window(tumblingProcessingTime('1h'))
      .aggregate(count())
      .sink('results');

    await runPipelineOnFiles({
      pipeline: p,
      inputs: [{ stream: 'clicks', file: input }],
      outputs: [{ stream: 'results', file: output }],
    });

    const results = [...asMap(readLines<Result>(output)).entries()];
    const perPage = new Map<string, number>();
    for (const [name, value] of results) {
      const page = name.split('|')[0] ?? '';
      perPage.set(page, (perPage.get(page) ?? 0) + value);
    }
    const expected = new Map<string, number>();
    for (const c of views(input)) expected.set(c.page, (expected.get(c.page) ?? 0) + 1);
    expect(perPage).toEqual(expected);
  });

  describe('with late data', () => {
    let summary: RunSummary;
    const output = join(dir, 'late-results.jsonl');
    const late = join(dir, 'late.jsonl');
    beforeAll(async () => {
      const p = pipeline('lateness', { eventSource: { maxBatchingWindowSeconds: 0, batchSize: 50 } });
      // No allowance for disorder: records behind the highest time seen can be late.
      p.source('clicks', { schema: ClickSchema, eventTime: (c) => c.ts, maxOutOfOrderness: 0 })
        .filter((c) => c.kind === 'view')
        .keyBy((c) => c.page)
        .window(tumbling('2s'), { allowedLateness: '1s', lateOutput: 'late-clicks' })
        .aggregate(count())
        .sink('results');
      summary = await runPipelineOnFiles({
        pipeline: p,
        inputs: [{ stream: 'clicks', file: input }],
        outputs: [
          { stream: 'results', file: output },
          { stream: 'late-clicks', file: late },
        ],
      });
    });

    it('sends late records to the side output with the reason, and counts every other record exactly once', () => {
      const lateRecords = readLines<{
        value: Click;
        time: number;
        watermark: number;
        reason: string;
        windows: { start: number; end: number }[];
      }>(late);
      expect(lateRecords.length).toBeGreaterThan(0);
      for (const record of lateRecords) {
        // Late: its window closed (end - 1 + lateness <= watermark) before it arrived.
        for (const w of record.windows) expect(w.end - 1 + 1000).toBeLessThanOrEqual(record.watermark);
        expect(record.reason).toContain('too late');
      }
      const lateIds = new Set(lateRecords.map((r) => JSON.stringify(r.value)));
      const accepted = views(input).filter((c) => !lateIds.has(JSON.stringify(c)));
      expect(asMap(readLines<Result>(output))).toEqual(
        reference(
          accepted,
          (c) => c.page,
          tumbling('2s'),
          () => 1,
        ),
      );
      const keyed = summary.stages[1]?.stats;
      expect(keyed?.late).toBe(lateRecords.length);
    });
  });
});
