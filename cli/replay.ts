import { type Command, InvalidArgumentError } from 'commander';
import { endpointOptions } from '../local/endpoints.js';
import { addEndpointOptions } from './endpoint-options.js';
import { loadPipeline } from './load-pipeline.js';
import {
  addDataDirOption,
  addLogLevelOption,
  addOutputOption,
  addPrefixOption,
  addProgressOption,
  addSandboxOption,
  addStallLimitOption,
  type LocalRunCliOptions,
} from './options.js';
import { ProgressView } from './progress.js';
import { printSummary } from './summary.js';

/** `trim-horizon` (any case, `_` or `-`) or an ISO 8601 time. */
export function parseReplayFrom(value: string): 'TRIM_HORIZON' | Date {
  if (/^trim[-_]horizon$/i.test(value)) return 'TRIM_HORIZON';
  const time = new Date(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(time.getTime())) {
    throw new InvalidArgumentError(`expected trim-horizon or an ISO time (2026-01-01T12:00:00Z), got '${value}'`);
  }
  return time;
}

function positiveInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`expected a whole number from 1, got '${value}'`);
  return n;
}

/** Adds `eddy replay` to the program. */
export function registerReplay(program: Command): void {
  const replay = addEndpointOptions(program.command('replay'))
    .description(
      'run a pipeline again over its source streams, from the trim horizon or a point in time, into fresh state ' +
        '(a new state table generation and new event source mappings); sinks receive the results again, with the same ids',
    )
    .argument('<pipeline>', 'TypeScript file that default-exports the pipeline')
    .requiredOption(
      '--from <time>',
      'trim-horizon, or an ISO time (AT_TIMESTAMP) where the source stages start',
      parseReplayFrom,
    );
  addDataDirOption(replay, 'the data folder of an earlier `eddy run --data-dir`, whose streams are replayed');
  addOutputOption(replay, ' (what the replay wrote to it)');
  addPrefixOption(replay);
  replay.option('--generation <n>', 'the state generation to create (default: the next one)', positiveInteger);
  for (const add of [addSandboxOption, addLogLevelOption, addProgressOption, addStallLimitOption]) add(replay);
  replay.action(
    async (file: string, options: LocalRunCliOptions & { from: 'TRIM_HORIZON' | Date; generation?: number }) => {
      const pipeline = await loadPipeline(file);
      // Loaded by the command that uses it, so that `eddy --help` starts fast (bench/cli-startup.ts).
      const { replayPipeline } = await import('../local/runner/replay.js');
      // The records to replay are known only as the stages read them: no total, no ETA.
      const view = options.progress
        ? new ProgressView({ label: 'eddy replay', total: undefined, output: process.stderr })
        : undefined;
      const summary = await replayPipeline({
        pipeline,
        from: options.from,
        outputs: options.output ?? [],
        ...(options.dataDir !== undefined && { dataDir: options.dataDir }),
        ...endpointOptions(options),
        ...(options.generation !== undefined && { generation: options.generation }),
        streamPrefix: options.prefix,
        logLevel: options.logLevel,
        sandboxes: options.sandbox,
        ...(options.sandbox === 'worker' && { pipelineModule: file }),
        ...(options.stallLimit !== undefined && { stallLimitMs: options.stallLimit }),
        ...(view !== undefined && { onProgress: (progress) => view.update(progress) }),
      }).finally(() => view?.stop());
      console.log(
        `replay of ${summary.pipeline} from ${summary.generation.sourcesFrom} into state generation ${summary.generation.generation}` +
          (summary.stateTable === undefined ? '' : ` (table ${summary.stateTable})`),
      );
      printSummary(summary);
    },
  );
}
