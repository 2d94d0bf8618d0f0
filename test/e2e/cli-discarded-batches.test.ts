import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { secret, secretEnvironmentVariable } from '../../shared/index.js';
import { eddyWith } from '../helpers/eddy-cli.js';

/** What a failed `execFile` rejects with. */
interface Failed {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

describe('eddy run, when a stage keeps failing', () => {
  const dir = mkdtempSync(join(tmpdir(), 'eddy-discarded-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const keyVariable = secretEnvironmentVariable(secret('/eddy/test-token-key'));

  it('prints each discarded batch with its stage, shard, positions and last error, and exits non-zero', async () => {
    // Prepare
    const input = join(dir, 'clicks.jsonl');
    writeFileSync(
      input,
      ['{"user":"u1","page":"/a"}', '{"user":"u2","page":"/b"}', '{"user":"u3","page":"/c"}'].join('\n'),
    );

    // Act
    const failed = (await eddyWith(
      { [keyVariable]: 'too-short' },
      'run',
      'test/e2e/fixtures/short-secret.ts',
      '--input',
      `clicks=${input}`,
      '--no-progress',
    ).then(
      () => undefined,
      (error: unknown) => error,
    )) as Failed | undefined;

    // Assess
    expect(failed?.code).toBe(1);
    const lines = (failed?.stdout ?? '').split('\n').filter((line) => line.includes('RetryAttemptsExhausted'));
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) {
      expect(line).toMatch(
        /^ {2}stage from-clicks, shardId-\d+, sequence numbers \d+\.\.\d+ \(\d+ records\): RetryAttemptsExhausted after 2 invocation\(s\); last error: function error: .*is 9 bytes; it needs at least 32/,
      );
    }
    const records = lines.reduce((sum, line) => sum + Number(/\((\d+) records\)/.exec(line)?.[1]), 0);
    // The 3 clicks, and the end-of-input marker of each source shard, which the same stage reads.
    expect(records).toBeGreaterThanOrEqual(4);
    expect(failed?.stderr).toContain(
      `eddy: ${lines.length} batch(es) of ${records} record(s) discarded after retries: those records were not processed`,
    );
  });

  it('exits 0 when records were only dead-lettered (kept, not lost); without a terminal, plain progress lines with the total, and no SDK warning', async () => {
    // Prepare
    const input = join(dir, 'broken.jsonl');
    writeFileSync(input, ['{"user":"u1","page":"/a"}', '', 'not json', '{"user":3,"page":"/c"}'].join('\n'));
    const started = Date.now();

    // Act: stderr is a pipe here, not a terminal.
    const { stdout, stderr } = await eddyWith(
      { [keyVariable]: 'a-key-of-at-least-thirty-two-bytes-long' },
      'run',
      'test/e2e/fixtures/short-secret.ts',
      '--input',
      `clicks=${input}`,
    );

    // Assess
    expect(stdout).toContain('dead letters (2, in stream short-secret-dead-letters)');
    expect(stdout).not.toContain('discarded after retries');
    expect(stderr).not.toContain('eddy:');
    expect(stderr + stdout).not.toMatch(/NodeVersionSupportWarning|AWS SDK for JavaScript/);
    const lines = stderr.split('\n').filter((line) => line !== '');
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(line).toMatch(/^eddy run: \d\/3 source records \(\d+%\) \| /);
    expect(lines.at(-1)).toMatch(/^eddy run: 3\/3 source records \(100%\)/);
    // One line every 5 s at most, and the last.
    expect(lines.length).toBeLessThanOrEqual(Math.ceil((Date.now() - started) / 5000) + 1);
  });
});
