import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeClickSample } from '../../examples/data/click-generator.js';
import pageViews from '../../examples/page-views.js';
import { type RunSummary, runPipelineOnFiles } from '../../local/runner/run-files.js';
import { expectedPageViews, groupByPage, type View } from '../reference/page-views.js';

describe('eddy run: the page-views example end to end on the embedded stack', () => {
  const dir = mkdtempSync(join(tmpdir(), 'eddy-e2e-'));
  const input = join(dir, 'clicks.jsonl');
  const output = join(dir, 'views.jsonl');
  let summary: RunSummary;

  beforeAll(async () => {
    await writeClickSample(input, { events: 12_000, seed: 11, badLineRate: 0.002 });
    summary = await runPipelineOnFiles({
      pipeline: pageViews,
      inputs: [{ stream: 'clicks', file: input }],
      outputs: [{ stream: 'page-views-by-page', file: output }],
    });
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes exactly the independently computed views, record by record, each key in input order', () => {
    const lines = readFileSync(input, 'utf8').split('\n');
    const { views: expected } = expectedPageViews(lines);
    const actual = readFileSync(output, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as View);

    expect(actual.length).toBe(expected.length);
    expect(actual.map((v) => JSON.stringify(v)).sort()).toEqual(expected.map((v) => JSON.stringify(v)).sort());
    // keyBy routes a page to one shard and Kinesis keeps a shard's order: each page's views stay in input order.
    expect(groupByPage(actual)).toEqual(groupByPage(expected));
  });

  it('dead-letters every broken line, naming its file and line', () => {
    const lines = readFileSync(input, 'utf8').split('\n');
    const { rejectedLines } = expectedPageViews(lines);

    expect(rejectedLines.length).toBeGreaterThan(5);
    expect(summary.deadLetters.map((d) => d.origin?.line).sort((a, b) => (a ?? 0) - (b ?? 0))).toEqual(rejectedLines);
    expect(summary.deadLetters.every((d) => d.origin?.file === input)).toBe(true);
    expect(new Set(summary.deadLetters.map((d) => d.envelope.error.reason))).toEqual(
      new Set(['malformed-json', 'schema-violation']),
    );
  });

  it('accounts for every record: in = out + filtered + dead-lettered in each stage', () => {
    expect(summary.inputRecords).toBe(12_000);
    for (const { stats } of summary.stages) {
      expect(stats.recordsIn).toBe(stats.recordsOut + stats.filtered + stats.deadLettered);
      expect(stats.failedRecords).toBe(0);
    }
    expect(summary.failedBatches).toEqual([]);
  });
});
