import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { waitUntil } from '../helpers/emulators.js';

const run = promisify(execFile);
const {
  AWS_ENDPOINT_URL: _,
  EDDY_SECRETS_SOURCE: __,
  EDDY_SECRET_EDDY_TOKEN_KEY: ___,
  EDDY_SECRET_EDDY_PAGE_KEY: ____,
  ...environment
} = process.env;

describe('eddy dev', () => {
  const dir = mkdtempSync(join(tmpdir(), 'eddy-dev-'));
  const children: ChildProcess[] = [];
  afterAll(() => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs a pipeline until Ctrl-C, serving its metrics, and stops cleanly', async () => {
    // Prepare
    const input = join(dir, 'clicks.jsonl');
    const ts = Date.now() - 30_000;
    writeFileSync(
      input,
      [
        JSON.stringify({ user: 'u1', page: '/a', kind: 'view', ts }),
        JSON.stringify({ user: 'u2', page: '/b', kind: 'click', ts: ts + 1 }),
        'not json',
      ].join('\n'),
    );

    // Act
    const child = spawn(
      process.execPath,
      ['bin/eddy.js', 'dev', 'examples/page-views.ts', '--metrics-port', '0', '--input', `clicks=${input}`],
      { env: environment, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    children.push(child);
    let stdout = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr?.resume();
    const exited = once(child, 'exit');
    await waitUntil(() => stdout.includes('Ctrl-C stops it.'), 'eddy dev is ready', { timeoutMs: 60_000 });
    const url = /metrics {2}(http:\/\/127\.0\.0\.1:\d+)\/metrics/.exec(stdout)?.[1] ?? '';
    const recordsIn = async () => {
      const text = await (await fetch(`${url}/metrics`)).text();
      return /eddy_records_in_total\{pipeline="page-views",stage="from-clicks"\} (\d+)/.exec(text)?.[1];
    };
    await waitUntil(async () => (await recordsIn()) === '3', 'the source stage took the 3 records', {
      timeoutMs: 30_000,
      intervalMs: 200,
    });
    const text = await (await fetch(`${url}/metrics`)).text();
    child.kill('SIGINT');
    const [code] = await exited;

    // Assess
    expect(stdout).toContain('eddy dev: pipeline page-views is running on the local stack');
    expect(stdout).toContain(`status   ${url}/status    (eddy status --url ${url})`);
    expect(stdout).toContain(`fed 3 records of ${input} into clicks`);
    expect(text).toMatch(/eddy_records_filtered_total\{pipeline="page-views",stage="from-clicks"\} 1/);
    expect(text).toMatch(/eddy_records_dead_lettered_total\{pipeline="page-views",stage="from-clicks"\} 1/);
    expect(text).toContain(`eddy_watermark_seconds{pipeline="page-views",stage="from-clicks"} ${(ts + 1) / 1000}`);
    expect(stdout).toContain('eddy dev: SIGINT, stopping');
    expect(code).toBe(0);
    await expect(fetch(`${url}/metrics`)).rejects.toThrow();
  });

  it('refuses to start a pipeline whose secrets are not in the environment, naming each variable', async () => {
    await expect(
      run(
        process.execPath,
        ['bin/eddy.js', 'dev', 'test/infra/fixtures/tokenized-pipeline.ts', '--metrics-port', '0'],
        {
          env: environment,
          timeout: 60_000,
        },
      ),
    ).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining(
        "eddy: pipeline 'tokenized' needs secrets that locally come from the environment; set " +
          'EDDY_SECRET_EDDY_TOKEN_KEY (for ssm:/eddy/token-key, used by tokenize (user)), ' +
          'EDDY_SECRET_EDDY_PAGE_KEY (for ssm:/eddy/page-key:4, used by tokenize (page)), ' +
          'EDDY_SECRET_SHARED_SALT (for ssm:arn:aws:ssm:eu-west-1:111122223333:parameter/shared/salt)',
      ),
    });
  });

  it('says how to start one when eddy status finds none', async () => {
    // Prepare: a port nothing listens on.
    const server = createServer().listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    await new Promise((resolve) => server.close(resolve));
    const url = `http://127.0.0.1:${port}`;

    // Act & Assess
    await expect(
      run(process.execPath, ['bin/eddy.js', 'status', '--url', url], { env: environment, timeout: 60_000 }),
    ).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining(
        `eddy: no eddy dev answers at ${url} (ECONNREFUSED): start one with \`eddy dev <pipeline.ts>\``,
      ),
    });
  });
});
