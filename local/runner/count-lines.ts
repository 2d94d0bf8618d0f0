import { isBlank, readByteLines } from './byte-lines.js';

/**
 * How many records feeding `file` puts into its stream: its non-blank lines, read and skipped as
 * the feeder reads them (input-feeder.ts), as bytes, nothing decoded or parsed; so that a progress
 * total is known before feeding starts. Lines over the record limit are counted too, though they
 * become dead letters instead of records.
 */
export async function countRecordLines(file: string): Promise<number> {
  let lines = 0;
  for await (const { bytes } of readByteLines(file, 0)) if (!isBlank(bytes)) lines += 1;
  return lines;
}
