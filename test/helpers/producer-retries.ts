import { readFileSync, writeFileSync } from 'node:fs';
import { seededRandom } from '../../shared/util/random.js';

/**
 * Writes some lines of a JSON-lines file twice, as a producer retrying PutRecords does: a call that
 * failed or timed out after Kinesis took the record is sent again, so the same data gets a second
 * sequence number, up to a few records later. To Kinesis, and so to Eddy, the copy is a distinct
 * record. Returns how many lines were written twice.
 */
export function addProducerRetries(file: string, options: { readonly rate: number; readonly seed: number }): number {
  const random = seededRandom(options.seed);
  const lines = readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line !== '');
  const placed = lines.map((line, index) => ({ line, at: index }));
  for (const [index, line] of lines.entries()) {
    if (random() < options.rate) placed.push({ line, at: index + 0.5 + Math.floor(random() * 5) });
  }
  placed.sort((a, b) => a.at - b.at);
  writeFileSync(file, `${placed.map((p) => p.line).join('\n')}\n`);
  return placed.length - lines.length;
}
