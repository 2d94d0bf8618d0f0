import { once } from 'node:events';
import { createWriteStream } from 'node:fs';

/** Writes lines to a file as they are generated, minding the stream's backpressure. */
export async function writeLines(file: string, lines: Iterable<string>): Promise<void> {
  const out = createWriteStream(file);
  for (const line of lines) {
    if (!out.write(`${line}\n`)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}
