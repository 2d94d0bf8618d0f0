import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * Where a mapping keeps, per shard, the sequence number of the last record it is done with
 * (processed or discarded). Async so that a durable store can replace the in-memory one.
 */
export interface CheckpointStore {
  /** The last checkpointed sequence number of the shard, or undefined when it was never checkpointed. */
  get(shardId: string): Promise<string | undefined>;
  put(shardId: string, sequenceNumber: string): Promise<void>;
}

/** Checkpoints held in this process only: a restarted mapping starts again from its starting position. */
export class InMemoryCheckpointStore implements CheckpointStore {
  readonly #checkpoints = new Map<string, string>();

  async get(shardId: string): Promise<string | undefined> {
    return this.#checkpoints.get(shardId);
  }

  async put(shardId: string, sequenceNumber: string): Promise<void> {
    this.#checkpoints.set(shardId, sequenceNumber);
  }

  /** A copy of every checkpoint, by shard id. */
  snapshot(): ReadonlyMap<string, string> {
    return new Map(this.#checkpoints);
  }
}

/**
 * Checkpoints kept in a JSON file (`{ "<shard id>": "<sequence number>" }`), as Lambda keeps a
 * mapping's checkpoints outside the function: a mapping restarted on the same file resumes after
 * them. `put` resolves once the file holds the checkpoint; writes replace the file atomically
 * (write a temporary file, then rename), so a crash leaves the old or the new file, never half of
 * one. Puts that arrive while a write is in flight are coalesced into the next write.
 */
export class FileCheckpointStore implements CheckpointStore {
  #checkpoints: Map<string, string> | undefined;
  #inFlight: Promise<void> = Promise.resolve();
  #queued: Promise<void> | undefined;

  constructor(readonly file: string) {}

  async get(shardId: string): Promise<string | undefined> {
    return (await this.#load()).get(shardId);
  }

  async put(shardId: string, sequenceNumber: string): Promise<void> {
    (await this.#load()).set(shardId, sequenceNumber);
    await this.#flush();
  }

  /** A copy of every checkpoint, by shard id. */
  async snapshot(): Promise<ReadonlyMap<string, string>> {
    return new Map(await this.#load());
  }

  async #load(): Promise<Map<string, string>> {
    if (this.#checkpoints !== undefined) return this.#checkpoints;
    let stored: Record<string, string> = {};
    try {
      stored = JSON.parse(await readFile(this.file, 'utf8')) as Record<string, string>;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    this.#checkpoints ??= new Map(Object.entries(stored).filter(([, value]) => typeof value === 'string'));
    return this.#checkpoints;
  }

  /** One write at a time; a write not started yet takes every checkpoint put before it starts. */
  #flush(): Promise<void> {
    this.#queued ??= this.#inFlight
      .catch(() => undefined)
      .then(() => {
        this.#queued = undefined;
        const text = `${JSON.stringify(Object.fromEntries(this.#checkpoints ?? []), null, 1)}\n`;
        this.#inFlight = replaceFile(this.file, text);
        return this.#inFlight;
      });
    return this.#queued;
  }
}

async function replaceFile(file: string, text: string): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, text);
  await rename(temporary, file);
}
