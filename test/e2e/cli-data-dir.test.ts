import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeClickSample } from '../../examples/data/click-generator.js';

const run = promisify(execFile);
const { AWS_ENDPOINT_URL: _, ...environment } = process.env;
const eddy = (...args: string[]) => run(process.execPath, ['bin/eddy.js', ...args], { env: environment });

const sortedLines = (file: string) =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .sort();

/**
 * `eddy run --data-dir --sandbox worker`, then `eddy replay --from trim-horizon` on the same folder:
 * the same results, written again from a fresh state generation.
 */
describe('eddy run --data-dir --sandbox worker, and eddy replay', () => {
  const dir = mkdtempSync(join(tmpdir(), 'eddy-cli-data-'));
  const input = join(dir, 'clicks.jsonl');
  const dataDir = join(dir, 'data');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  beforeAll(async () => {
    await writeClickSample(input, { events: 2_000, seed: 61, users: 100, pages: 10 });
  });

  it('runs with worker sandboxes on a data folder, and replays it from the trim horizon into a new generation', async () => {
    const ran = join(dir, 'ran.jsonl');
    const replayed = join(dir, 'replayed.jsonl');

    const first = await eddy(
      'run',
      'examples/page-view-counts.ts',
      '--input',
      `clicks=${input}`,
      '--output',
      `page-view-counts=${ran}`,
      '--data-dir',
      dataDir,
      '--sandbox',
      'worker',
      '--no-progress',
    );
    const replay = await eddy(
      'replay',
      'examples/page-view-counts.ts',
      '--from',
      'trim-horizon',
      '--data-dir',
      dataDir,
      '--output',
      `page-view-counts=${replayed}`,
    );

    expect(first.stdout).toMatch(/pipeline page-view-counts: 2,000 input records/);
    expect(first.stdout).toMatch(/max lag/);
    expect(existsSync(join(dataDir, 'kinesis'))).toBe(true);
    expect(existsSync(join(dataDir, 'event-source-mappings', 'page-view-counts-from-clicks.json'))).toBe(true);
    expect(replay.stdout).toMatch(
      /replay of page-view-counts from TRIM_HORIZON into state generation 1 \(table page-view-counts-state-g1\)/,
    );
    expect(sortedLines(ran).length).toBeGreaterThan(0);
    expect(sortedLines(replayed)).toEqual(sortedLines(ran));
  });

  it('refuses a replay with nothing to read, and a bad --from', async () => {
    await expect(eddy('replay', 'examples/page-view-counts.ts', '--from', 'trim-horizon')).rejects.toMatchObject({
      stderr: expect.stringMatching(/--data-dir/),
    });
    await expect(
      eddy('replay', 'examples/page-view-counts.ts', '--from', 'yesterday', '--data-dir', dataDir),
    ).rejects.toMatchObject({ stderr: expect.stringMatching(/trim-horizon or an ISO time/) });
  });
});
