import { createReadStream } from 'node:fs';

/** One line of a file, as the bytes it holds: never decoded, so invalid UTF-8 stays as it was. */
export interface ByteLine {
  /** 1-based. */
  readonly line: number;
  /** The line without its `\n`, nor a `\r` before it (CRLF files). */
  readonly bytes: Buffer;
}

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;

/**
 * The lines of a file as bytes, split on `\n`. Decoding is the source stage's job (its decoder is
 * fatal): a line decoded here would have its invalid bytes replaced by U+FFFD and be accepted with
 * altered content. Lines up to `skipThrough` are counted but not copied.
 */
export async function* readByteLines(file: string, skipThrough = 0): AsyncGenerator<ByteLine> {
  let line = 1;
  let partial: Buffer[] = [];
  const finish = (parts: Buffer[]): Buffer => {
    const bytes = parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
    return bytes.at(-1) === CARRIAGE_RETURN ? bytes.subarray(0, -1) : bytes;
  };
  for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) {
    let start = 0;
    for (let end = chunk.indexOf(NEWLINE); end !== -1; end = chunk.indexOf(NEWLINE, start)) {
      if (line > skipThrough) yield { line, bytes: finish([...partial, chunk.subarray(start, end)]) };
      partial = [];
      line += 1;
      start = end + 1;
    }
    if (start < chunk.length && line > skipThrough) partial.push(chunk.subarray(start));
  }
  if (partial.length > 0) yield { line, bytes: finish(partial) };
}

/** A line with nothing but spaces, tabs and carriage returns: skipped, as JSON-lines readers do. */
export function isBlank(bytes: Buffer): boolean {
  for (const byte of bytes) if (byte !== 0x20 && byte !== 0x09 && byte !== CARRIAGE_RETURN) return false;
  return true;
}
