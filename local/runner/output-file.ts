import { once } from 'node:events';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';

/** An output file to write, its folder created if it is not there yet (`-o out/counts.jsonl`). */
function openOutput(file: string): WriteStream {
  mkdirSync(dirname(file), { recursive: true });
  return createWriteStream(file);
}

/** Writes records' payloads to a file, one per line (they are JSON), as `--output` does. */
export async function writeRecordLines(file: string, records: readonly { readonly data: Uint8Array }[]): Promise<void> {
  const sink = openOutput(file);
  for (const record of records) {
    if (!sink.write(`${Buffer.from(record.data).toString('utf8')}\n`)) await once(sink, 'drain');
  }
  sink.end();
  await once(sink, 'finish');
}

/**
 * Writes pages of records to a file, one payload per line, each page flushed before the next is
 * asked for: one page in memory at a time, however long the stream. Returns the lines written.
 */
export async function writeRecordPages(
  file: string,
  pages: AsyncIterable<readonly { readonly data: Uint8Array }[]>,
): Promise<number> {
  const sink = openOutput(file);
  let lines = 0;
  try {
    for await (const page of pages) {
      if (page.length === 0) continue;
      const text = page.map((record) => `${Buffer.from(record.data).toString('utf8')}\n`).join('');
      await new Promise<void>((done, fail) => sink.write(text, (error) => (error ? fail(error) : done())));
      lines += page.length;
    }
  } finally {
    sink.end();
    await once(sink, 'finish');
  }
  return lines;
}

/** The records of pages that pass `keep`, page by page. */
export async function* filterPages<R>(
  pages: AsyncIterable<readonly R[]>,
  keep: (record: R) => boolean,
): AsyncGenerator<R[]> {
  for await (const page of pages) yield page.filter(keep);
}

/** How many records pages hold, reading them one at a time. */
export async function countRecords(pages: AsyncIterable<readonly unknown[]>): Promise<number> {
  let count = 0;
  for await (const page of pages) count += page.length;
  return count;
}
