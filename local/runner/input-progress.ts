import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** How far an input file was fed into its stream, as recorded in a data folder. */
interface FedFile {
  /** Every line up to this one (1-based) is in the stream. */
  readonly line: number;
  /** The file as it was fed: another size or time means another file, fed from its start. */
  readonly size: number;
  readonly mtimeMs: number;
}

/**
 * What `eddy run --data-dir` has fed of each input file, so that a run stopped in the middle and
 * started again on the same folder feeds the rest of its files, not all of them again. Kept in
 * `<dataDir>/inputs/<pipeline>.json`, written after every PutRecords round: a crash between a round
 * and its record feeds that round again (at least once, as any Kinesis producer that retries).
 */
export class InputProgress {
  readonly #file: string;
  readonly #fed: Record<string, FedFile>;

  constructor(dataDir: string, pipeline: string) {
    const folder = join(dataDir, 'inputs');
    mkdirSync(folder, { recursive: true });
    this.#file = join(folder, `${pipeline}.json`);
    let fed: Record<string, FedFile> = {};
    try {
      fed = JSON.parse(readFileSync(this.#file, 'utf8')) as Record<string, FedFile>;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    this.#fed = fed;
  }

  /** The last line of `file` already in `stream`; 0 when the file was never fed or has changed since. */
  fedUpTo(stream: string, file: string): number {
    const recorded = this.#fed[keyOf(stream, file)];
    if (recorded === undefined) return 0;
    const now = statSync(file);
    return now.size === recorded.size && now.mtimeMs === recorded.mtimeMs ? recorded.line : 0;
  }

  record(stream: string, file: string, line: number): void {
    const { size, mtimeMs } = statSync(file);
    this.#fed[keyOf(stream, file)] = { line, size, mtimeMs };
    writeFileSync(`${this.#file}.tmp`, `${JSON.stringify(this.#fed, null, 1)}\n`);
    renameSync(`${this.#file}.tmp`, this.#file);
  }
}

function keyOf(stream: string, file: string): string {
  return `${stream}=${resolve(file)}`;
}
