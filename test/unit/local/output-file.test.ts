import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { countRecords, filterPages, writeRecordPages } from '../../../local/runner/output-file.js';

const page = (from: number, size: number) =>
  Array.from({ length: size }, (_, i) => ({ n: from + i, data: Buffer.from(JSON.stringify({ n: from + i })) }));

describe('writing a stream to its output file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'eddy-output-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes each page before it asks for the next: one page in memory, not the stream', async () => {
    // Prepare
    const file = join(dir, 'out.jsonl');
    const onDiskWhenAsked: number[] = [];
    async function* pages() {
      for (let k = 0; k < 4; k += 1) {
        // The file is opened asynchronously: before the first write it may not exist yet.
        const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
        onDiskWhenAsked.push(text.split('\n').filter(Boolean).length);
        yield page(k * 3, 3);
      }
    }

    // Act
    const lines = await writeRecordPages(file, pages());

    // Assess
    expect(onDiskWhenAsked).toEqual([0, 3, 6, 9]);
    expect(lines).toBe(12);
    expect(readFileSync(file, 'utf8')).toBe(
      `${page(0, 12)
        .map((r) => JSON.stringify({ n: r.n }))
        .join('\n')}\n`,
    );
  });

  it("creates the output file's folder when it is not there yet", async () => {
    const file = join(dir, 'out', 'nested', 'counts.jsonl');

    const lines = await writeRecordPages(
      file,
      (async function* () {
        yield page(0, 2);
      })(),
    );

    expect(lines).toBe(2);
    expect(readFileSync(file, 'utf8')).toBe('{"n":0}\n{"n":1}\n');
  });

  it('filters and counts page by page', async () => {
    async function* pages() {
      yield page(0, 5);
      yield page(5, 5);
    }
    expect(await countRecords(filterPages(pages(), (r) => r.n % 2 === 0))).toBe(5);
  });
});
