import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { eddy } from '../helpers/eddy-cli.js';

describe('eddy replay refuses what would replay nothing', () => {
  const dir = mkdtempSync(join(tmpdir(), 'eddy-cli-replay-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a --data-dir that does not exist: exit 1, a clear message, nothing created', async () => {
    const missing = join(dir, 'missing');
    await expect(
      eddy('replay', 'examples/page-view-counts.ts', '--from', 'trim-horizon', '--data-dir', missing),
    ).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining(`eddy: --data-dir ${missing}: no such folder`),
    });
    expect(existsSync(missing)).toBe(false);
  });

  it('a --from in the future: exit 1 and a clear message', async () => {
    // A folder a run left something in: only the time is wrong.
    writeFileSync(join(dir, 'marker'), 'a run was here');
    const future = new Date(Date.now() + 24 * 3_600_000).toISOString();
    await expect(
      eddy('replay', 'examples/page-view-counts.ts', '--from', future, '--data-dir', dir),
    ).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining(`eddy: --from ${future}: in the future`),
    });
  });
});
