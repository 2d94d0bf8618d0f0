import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { compareSequenceNumbers } from '../event-source-mapping/sequence-number.js';

/** Per shard of the stream, the highest sequence number a committed round of the file got. */
export type ShardPositions = Readonly<Record<string, string>>;

/** How far an input file was fed into its stream, as recorded in a data folder. */
export interface FedFile {
  /** Every line up to this one (1-based) is in the stream. */
  readonly line: number;
  /**
   * Where the lines after `line` can be, if a round was in flight when the run stopped: after these
   * positions, or anywhere in a shard not named here.
   */
  readonly shards: ShardPositions;
  /** The file as it was fed: another size or time means another file, fed from its start. */
  readonly size: number;
  readonly mtimeMs: number;
}

/**
 * What `eddy run --data-dir` has fed of each input file, so that a run stopped in the middle and
 * started again on the same folder feeds the rest of its files, not all of them again. Kept in
 * `<dataDir>/inputs/<pipeline>.json`, replaced atomically after every PutRecords round. A round in
 * flight when the run stopped may be in the stream in whole or in part: the resumed feeder reads the
 * stream back after `shards` to find which of its lines are in (fed-lines.ts), and feeds only the
 * others.
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

  /**
   * What of `file` is certainly in `stream`, and where to look for more; nothing when the file was
   * never fed or has changed since (it is then fed from its start).
   */
  fed(stream: string, file: string): Pick<FedFile, 'line' | 'shards'> | undefined {
    const recorded = this.#fed[keyOf(stream, file)];
    if (recorded === undefined) return undefined;
    const now = statSync(file);
    if (now.size !== recorded.size || now.mtimeMs !== recorded.mtimeMs) return undefined;
    // Files written before the shard positions were recorded: look everywhere.
    return { line: recorded.line, shards: recorded.shards ?? {} };
  }

  /**
   * Every line of `file` up to `line` is in `stream`, the last round's records at `shards` (merged
   * with what was recorded: the highest position per shard is kept).
   */
  record(stream: string, file: string, line: number, shards: ShardPositions = {}): void {
    const { size, mtimeMs } = statSync(file);
    const key = keyOf(stream, file);
    const before = this.#fed[key];
    const same = before !== undefined && before.size === size && before.mtimeMs === mtimeMs;
    const merged: Record<string, string> = { ...(same ? (before.shards ?? {}) : {}) };
    for (const [shard, sequence] of Object.entries(shards)) {
      const known = merged[shard];
      if (known === undefined || compareSequenceNumbers(sequence, known) > 0) merged[shard] = sequence;
    }
    this.#fed[key] = { line, shards: merged, size, mtimeMs };
    writeFileSync(`${this.#file}.tmp`, `${JSON.stringify(this.#fed, null, 1)}\n`);
    renameSync(`${this.#file}.tmp`, this.#file);
  }
}

function keyOf(stream: string, file: string): string {
  return `${stream}=${resolve(file)}`;
}
