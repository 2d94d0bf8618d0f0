import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeClickSample } from '../../examples/data/click-generator.js';
import pageViewCounts from '../../examples/page-view-counts.js';
import { FEEDER_STAGE } from '../../local/runner/feeder-dead-letters.js';
import { type RunSummary, runPipelineOnFiles } from '../../local/runner/run-files.js';
import { pageViewCountsOf } from '../helpers/pipeline-run.js';
import { compareWindows, type WindowResult } from '../helpers/window-check.js';

const INVALID_AT = 100;
const OVERSIZED_AT = 200;

/**
 * `eddy run` over a CRLF file that holds, among good clicks, a view whose page is not valid UTF-8 and
 * a valid view of 1.1 MB, more than a Kinesis record holds. Both are dead-lettered with their file and
 * line, the first with its original bytes, and every window is that of the good clicks alone.
 */
describe('eddy run: input lines as bytes, and lines the stream cannot take', () => {
  const dir = mkdtempSync(join(tmpdir(), 'eddy-lines-'));
  const good = join(dir, 'good.jsonl');
  const input = join(dir, 'clicks.jsonl');
  const output = join(dir, 'counts.jsonl');
  const invalid = Buffer.concat([
    Buffer.from('{"user":"u1","page":"/caf'),
    Buffer.from([0xe9, 0xff]), // Latin-1 'é', then a byte that is never UTF-8
    Buffer.from('","kind":"view","ts":1767225600000}'),
  ]);
  const oversized = Buffer.from(
    JSON.stringify({ user: 'u2', page: `/${'x'.repeat(1_100_000)}`, kind: 'view', ts: 1767225600000 }),
  );
  let summary: RunSummary;

  beforeAll(async () => {
    await writeClickSample(good, { events: 2_000, seed: 17, users: 50, pages: 10, badLineRate: 0 });
    const lines = readFileSync(good, 'utf8')
      .trimEnd()
      .split('\n')
      .map((line) => Buffer.from(line));
    lines.splice(INVALID_AT - 1, 0, invalid);
    lines.splice(OVERSIZED_AT - 1, 0, oversized);
    writeFileSync(input, Buffer.concat(lines.flatMap((line) => [line, Buffer.from('\r\n')])));
    summary = await runPipelineOnFiles({
      pipeline: pageViewCounts,
      inputs: [{ stream: 'clicks', file: input }],
      outputs: [{ stream: 'page-view-counts', file: output }],
    });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('counts the good clicks only, exactly', () => {
    const results = readFileSync(output, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as WindowResult);

    expect(compareWindows(results, pageViewCountsOf(good)).differences).toEqual([]);
    expect(summary.failedBatches).toEqual([]);
  });

  it('dead-letters the invalid UTF-8 line with its original bytes, and says why', () => {
    const letter = summary.deadLetters.find((d) => d.origin?.line === INVALID_AT);

    expect(letter?.origin?.file).toBe(input);
    expect(letter?.envelope.error).toMatchObject({ reason: 'malformed-json', operator: 'clicks' });
    expect(letter?.envelope.error.message).toMatch(/not valid UTF-8/);
    expect(Buffer.from(letter?.envelope.payload ?? '', 'base64')).toEqual(invalid);
  });

  it('dead-letters the line over the record limit with its file, line, size and hash, and goes on', () => {
    const letter = summary.deadLetters.find((d) => d.origin?.line === OVERSIZED_AT);

    expect(letter?.origin?.file).toBe(input);
    expect(letter?.envelope).toMatchObject({
      stage: FEEDER_STAGE,
      error: { reason: 'record-too-large', operator: 'clicks' },
      payloadTruncated: {
        bytes: oversized.length,
        sha256: createHash('sha256').update(oversized).digest('hex'),
        keptBytes: 4096,
      },
    });
    expect(Buffer.from(letter?.envelope.payload ?? '', 'base64')).toEqual(oversized.subarray(0, 4096));
    expect(summary.deadLetters).toHaveLength(2);
    expect(summary.inputRecords).toBe(2_001);
  });
});
