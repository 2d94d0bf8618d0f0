import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeClickSample } from '../../examples/data/click-generator.js';
import type { StatusReport } from '../../local/observability/prometheus.js';

describe('eddy run --ui', () => {
  const dir = mkdtempSync(join(tmpdir(), 'eddy-run-ui-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('serves the console on 127.0.0.1 while the run goes on, and ends with the run', async () => {
    const input = join(dir, 'clicks.jsonl');
    await writeClickSample(input, { events: 20_000 });
    const { AWS_ENDPOINT_URL: _, ...env } = process.env;
    const child = spawn(
      process.execPath,
      ['bin/eddy.js', 'run', 'examples/page-views.ts', '--input', `clicks=${input}`, '--ui-port', '0', '--no-progress'],
      { env },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    const url = await new Promise<string>((resolve, reject) => {
      child.stderr.on('data', (chunk) => {
        stderr += chunk;
        const found = stderr.match(/console on (http:\/\/127\.0\.0\.1:\d+)\//);
        if (found?.[1] !== undefined) resolve(found[1]);
      });
      void exited.then((code) => reject(new Error(`eddy run exited (${code}) before serving the console: ${stderr}`)));
    });

    const page = await (await fetch(`${url}/`)).text();
    const status = (await (await fetch(`${url}/status`)).json()) as StatusReport;

    expect(page).toContain('console.js');
    expect(status.pipeline).toBe('page-views');
    expect(status.recent).toBeDefined();
    expect(await exited).toBe(0);
    expect(stdout).toContain('pipeline page-views: 20,000 input records');
    await expect(fetch(`${url}/status`)).rejects.toThrow();
  });
});
