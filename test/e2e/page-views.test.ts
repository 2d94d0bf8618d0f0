import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeClickSample } from '../../examples/data/click-generator.js';
import pageViews from '../../examples/page-views.js';
import { type RunSummary, runPipelineOnFiles } from '../../local/runner/run-files.js';

interface View {
  page: string;
  user: string;
  ts: number;
}

/** The example's semantics written out by hand, without Eddy or zod: what the sink must hold. */
function expectedViews(lines: string[]): { views: View[]; rejectedLines: number[] } {
  const views: View[] = [];
  const rejectedLines: number[] = [];
  lines.forEach((line, index) => {
    if (line.trim() === '') return;
    let click: Record<string, unknown>;
    try {
      click = JSON.parse(line);
    } catch {
      rejectedLines.push(index + 1);
      return;
    }
    const valid =
      typeof click.user === 'string' &&
      typeof click.page === 'string' &&
      typeof click.kind === 'string' &&
      typeof click.ts === 'number';
    if (!valid) rejectedLines.push(index + 1);
    else if (click.kind === 'view')
      views.push({ page: click.page as string, user: click.user as string, ts: click.ts as number });
  });
  return { views, rejectedLines };
}

const byKey = (views: View[]) => {
  const groups = new Map<string, string[]>();
  for (const view of views) groups.set(view.page, [...(groups.get(view.page) ?? []), JSON.stringify(view)]);
  return groups;
};

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
  }, 240_000);

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes exactly the independently computed views, record by record, each key in input order', () => {
    const lines = readFileSync(input, 'utf8').split('\n');
    const { views: expected } = expectedViews(lines);
    const actual = readFileSync(output, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as View);

    expect(actual.length).toBe(expected.length);
    expect(actual.map((v) => JSON.stringify(v)).sort()).toEqual(expected.map((v) => JSON.stringify(v)).sort());
    // keyBy routes a page to one shard and Kinesis keeps a shard's order: each page's views stay in input order.
    expect(byKey(actual)).toEqual(byKey(expected));
  });

  it('dead-letters every broken line, naming its file and line', () => {
    const lines = readFileSync(input, 'utf8').split('\n');
    const { rejectedLines } = expectedViews(lines);

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
