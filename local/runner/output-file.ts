import { once } from 'node:events';
import { createWriteStream } from 'node:fs';

/** Writes records' payloads to a file, one per line (they are JSON), as `--output` does. */
export async function writeRecordLines(file: string, records: readonly { readonly data: Uint8Array }[]): Promise<void> {
  const sink = createWriteStream(file);
  for (const record of records) {
    if (!sink.write(`${Buffer.from(record.data).toString('utf8')}\n`)) await once(sink, 'drain');
  }
  sink.end();
  await once(sink, 'finish');
}
