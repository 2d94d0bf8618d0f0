import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type DynamoDBClient, paginateListTables } from '@aws-sdk/client-dynamodb';

/**
 * A state generation of a pipeline on the local stack: its own state table (`<table>-g<n>` for
 * n > 0) and its own event source mappings, with their own checkpoints and starting positions. A
 * replay (`eddy replay`) starts a new one, as a replay in the cloud creates a new table and new
 * mappings (docs/reliability.md, "Replay").
 */
export interface Generation {
  readonly generation: number;
  /**
   * Where the mappings of the stages that read source streams start, when a shard has no
   * checkpoint of this generation: `TRIM_HORIZON`, or an ISO time (AT_TIMESTAMP).
   * @default the plan's starting position
   */
  readonly sourcesFrom?: string;
  /**
   * The other stages' mappings read records that arrived from this ISO time on (AT_TIMESTAMP): what
   * this generation wrote to the shuffle streams, not what an earlier one did.
   * @default the plan's starting position
   */
  readonly downstreamFrom?: string;
}

/** The state table of a generation: the plan's name, with `-g<n>` for generations after the first. */
export function generationTable(table: string, generation: number): string {
  return generation > 0 ? `${table}-g${generation}` : table;
}

/** The suffix of a generation's event source mapping ids and checkpoint files. */
export function generationSuffix(generation: number): string {
  return generation > 0 ? `.g${generation}` : '';
}

const FILE = 'generations.json';

/** The generation a data folder last ran for a pipeline (its physical name: prefix and pipeline). */
export function loadGeneration(dataDir: string, pipeline: string): Generation | undefined {
  try {
    const all = JSON.parse(readFileSync(join(dataDir, FILE), 'utf8')) as Record<string, Generation>;
    return all[pipeline];
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** Records the pipeline's current generation in the data folder (written atomically). */
export function saveGeneration(dataDir: string, pipeline: string, generation: Generation): void {
  mkdirSync(dataDir, { recursive: true });
  const file = join(dataDir, FILE);
  let all: Record<string, Generation> = {};
  try {
    all = JSON.parse(readFileSync(file, 'utf8')) as Record<string, Generation>;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  all[pipeline] = generation;
  writeFileSync(`${file}.tmp`, `${JSON.stringify(all, null, 2)}\n`);
  renameSync(`${file}.tmp`, file);
}

/**
 * The generation after every one the endpoint or the data folder knows of: one more than the
 * highest of the recorded generation and the `<table>-g<n>` tables that exist.
 */
export async function nextGeneration(options: {
  readonly dynamodb?: DynamoDBClient | undefined;
  readonly table?: string | undefined;
  readonly recorded?: Generation | undefined;
}): Promise<number> {
  let highest = options.recorded?.generation ?? 0;
  if (options.dynamodb !== undefined && options.table !== undefined) {
    const pattern = new RegExp(`^${options.table.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-g(\\d+)$`);
    for await (const page of paginateListTables({ client: options.dynamodb }, {})) {
      for (const name of page.TableNames ?? []) {
        const match = pattern.exec(name);
        if (match !== null) highest = Math.max(highest, Number(match[1]));
      }
    }
  }
  return highest + 1;
}
