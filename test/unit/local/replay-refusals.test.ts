import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import pageViewCounts from '../../../examples/page-view-counts.js';
import { assertNotInFuture, replayPipeline } from '../../../local/runner/replay.js';
import { RunOptionsError } from '../../../local/runner/run-files.js';

/** `eddy replay` refuses what would replay nothing, before it creates anything (no emulator starts). */
describe('replay refusals', () => {
  const dir = mkdtempSync(join(tmpdir(), 'eddy-replay-refusals-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses a data folder that does not exist, and does not create it', async () => {
    // Prepare
    const missing = join(dir, 'never-ran');

    // Act
    const replay = replayPipeline({ pipeline: pageViewCounts, from: 'TRIM_HORIZON', outputs: [], dataDir: missing });

    // Assess
    await expect(replay).rejects.toThrow(RunOptionsError);
    await expect(replay).rejects.toThrow(`--data-dir ${missing}: no such folder`);
    expect(existsSync(missing)).toBe(false);
  });

  it('refuses an empty data folder, and leaves it empty', async () => {
    // Prepare
    const empty = join(dir, 'empty');
    mkdirSync(empty);

    // Act
    const replay = replayPipeline({ pipeline: pageViewCounts, from: 'TRIM_HORIZON', outputs: [], dataDir: empty });

    // Assess
    await expect(replay).rejects.toThrow(`--data-dir ${empty}: the folder is empty`);
    expect(readdirSync(empty)).toEqual([]);
  });

  it('refuses a start in the future, and records no new generation', async () => {
    // Prepare
    const ran = join(dir, 'ran');
    mkdirSync(ran);
    writeFileSync(join(ran, 'marker'), 'a run was here');
    const future = new Date(Date.now() + 3_600_000);

    // Act
    const replay = replayPipeline({ pipeline: pageViewCounts, from: future, outputs: [], dataDir: ran });

    // Assess
    await expect(replay).rejects.toThrow(`--from ${future.toISOString()}: in the future`);
    expect(readdirSync(ran)).toEqual(['marker']);
  });

  it('takes the trim horizon, now and any past time', () => {
    const now = new Date('2026-12-06T12:00:00Z');
    expect(() => assertNotInFuture('TRIM_HORIZON', now)).not.toThrow();
    expect(() => assertNotInFuture(now, now)).not.toThrow();
    expect(() => assertNotInFuture(new Date('2026-12-06T11:59:59Z'), now)).not.toThrow();
    expect(() => assertNotInFuture(new Date('2026-12-06T12:00:01Z'), now)).toThrow(RunOptionsError);
  });
});
