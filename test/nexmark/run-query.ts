import { join } from 'node:path';
import { EVENTS_STREAM } from '../../examples/nexmark/config.js';
import type { NexmarkQuery } from '../../examples/nexmark/queries.js';
import { type RunSummary, runPipelineOnFiles } from '../../local/runner/run-files.js';
import { checkQuery, type Event, type RowComparison, readJsonLines } from './reference.js';

export interface QueryRun {
  readonly summary: RunSummary;
  readonly comparison: RowComparison;
  /** Records the windows or join found too late, over every late output of the query. */
  readonly late: number;
}

/**
 * `eddy run` of one query over a generated events file (files in `dir`), its output compared with the
 * reference computed over the same file.
 */
export async function runQuery(query: NexmarkQuery, input: string, dir: string): Promise<QueryRun> {
  const output = join(dir, `${query.name}.jsonl`);
  const late = (query.lateOutputs ?? []).map((stream) => ({ stream, file: join(dir, `${stream}.jsonl`) }));
  const summary = await runPipelineOnFiles({
    pipeline: query.pipeline,
    inputs: [{ stream: EVENTS_STREAM, file: input }],
    outputs: [{ stream: query.sink, file: output }, ...late],
    logLevel: 'ERROR',
  });
  const comparison = checkQuery(query.name, readJsonLines<Event>(input), readJsonLines(output));
  return { summary, comparison, late: late.reduce((n, { file }) => n + readJsonLines(file).length, 0) };
}

/** The comparison, short enough for a test failure message. */
export function brief(c: RowComparison): Record<string, unknown> {
  return {
    missing: c.missing.slice(0, 5),
    extra: c.extra.slice(0, 5),
    conflicts: c.conflicts.slice(0, 5),
  };
}
