import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { eddy } from '../helpers/eddy-cli.js';

describe('the eddy command', () => {
  const dir = mkdtempSync(join(tmpdir(), 'eddy-cli-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('runs a pipeline file over an input file, reports bad lines by file, line and field, and exits 0', async () => {
    // Prepare
    const input = join(dir, 'clicks.jsonl');
    const output = join(dir, 'views.jsonl');
    writeFileSync(
      input,
      [
        '{"user":"u1","page":"/a","kind":"view","ts":1}',
        '{"user":"u2","page":"/b","kind":"view","ts":"late"}',
        '',
        '{"user":"u3","page":"/a","kind":"click","ts":3}',
        'not json',
        '{"user":"u4","page":"/c","kind":"view","ts":4}',
      ].join('\n'),
    );

    // Act
    const { stdout } = await eddy(
      'run',
      'examples/page-views.ts',
      '--input',
      `clicks=${input}`,
      '--output',
      `page-views-by-page=${output}`,
      '--no-progress',
    );

    // Assess
    expect(
      readFileSync(output, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l))
        .sort((a, b) => a.ts - b.ts),
    ).toEqual([
      { page: '/a', user: 'u1', ts: 1 },
      { page: '/c', user: 'u4', ts: 4 },
    ]);
    expect(stdout).toContain('pipeline page-views: 5 input records');
    expect(stdout).toContain(
      `${input}:2: schema-violation in clicks: record does not match the schema of source 'clicks': field 'ts'`,
    );
    expect(stdout).toContain(`${input}:5: malformed-json in clicks`);
    expect(stdout).toMatch(/from-clicks\s+5\s+2\s+1\s+0\s+2\s+0/);
  });

  it("prints Eddy's version", async () => {
    const { version } = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
    const { stdout, stderr } = await eddy('--version');
    expect(stdout).toBe(`${version}\n`);
    expect(stderr).toBe('');
  });

  it('prints the DAG as Mermaid', async () => {
    const { stdout } = await eddy('graph', 'examples/page-views.ts');
    expect(stdout).toMatch(/^flowchart LR/);
    expect(stdout).toContain('subgraph from_page_views_keyBy_1');
  });

  it('draws the DAG as SVG and as one HTML page, and refuses an unknown format', async () => {
    const svg = await eddy('graph', 'examples/orders-payments.ts', '--format', 'svg');
    expect(svg.stdout).toMatch(/^<svg /);
    expect(svg.stdout).toContain('data-from="op:orders" data-to="stream:orders-with-payments-order-payment"');
    const html = await eddy('graph', 'examples/orders-payments.ts', '--format', 'html');
    expect(html.stdout).toMatch(/^<!doctype html>/);
    await expect(eddy('graph', 'examples/orders-payments.ts', '--format', 'png')).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining("'png' is invalid"),
    });
  });

  it('fails with a clear message for a stream the pipeline does not have', async () => {
    await expect(eddy('run', 'examples/page-views.ts', '--input', 'nope=x.jsonl')).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining("--input nope: not a source of 'page-views' (sources: clicks)"),
    });
  });
});
