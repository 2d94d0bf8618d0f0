import { type Command, InvalidArgumentError, Option } from 'commander';
import { type EndpointOptions, endpointOptions } from '../local/endpoints.js';
import type { StreamFile } from '../local/runner/run-files.js';
import { addEndpointOptions } from './endpoint-options.js';
import { loadPipeline } from './load-pipeline.js';
import { printSummary } from './summary.js';

function streamFile(value: string, previous: StreamFile[] = []): StreamFile[] {
  const eq = value.indexOf('=');
  if (eq <= 0 || eq === value.length - 1) throw new InvalidArgumentError(`expected <stream>=<file>, got '${value}'`);
  return [...previous, { stream: value.slice(0, eq), file: value.slice(eq + 1) }];
}

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
  addEndpointOptions(program.command('replay'))
    .description(
      'run a pipeline again over its source streams, from the trim horizon or a point in time, into fresh state ' +
        '(a new state table generation and new event source mappings); sinks receive the results again, with the same ids',
    )
    .argument('<pipeline>', 'TypeScript file that default-exports the pipeline')
    .requiredOption(
      '--from <time>',
      'trim-horizon, or an ISO time (AT_TIMESTAMP) where the source stages start',
      parseReplayFrom,
    )
    .option('--data-dir <dir>', 'the data folder of an earlier `eddy run --data-dir`, whose streams are replayed')
    .option(
      '-o, --output <stream=file>',
      'write what the replay wrote to a stream to a JSON-lines file (repeatable)',
      streamFile,
    )
    .option('--prefix <prefix>', 'prefix of every stream name', '')
    .option('--generation <n>', 'the state generation to create (default: the next one)', positiveInteger)
    .addOption(
      new Option('--sandbox <mode>', 'where stage handlers run')
        .choices(['in-process', 'worker'])
        .default('in-process'),
    )
    .addOption(
      new Option('--log-level <level>', "stage handlers' log level")
        .choices(['DEBUG', 'INFO', 'WARN', 'ERROR', 'SILENT'])
        .default('ERROR'),
    )
    .action(
      async (
        file: string,
        options: EndpointOptions & {
          from: 'TRIM_HORIZON' | Date;
          dataDir?: string;
          output?: StreamFile[];
          prefix: string;
          generation?: number;
          sandbox: 'in-process' | 'worker';
          logLevel: 'ERROR';
        },
      ) => {
        const pipeline = await loadPipeline(file);
        const { replayPipeline } = await import('../local/runner/replay.js');
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
        });
        console.log(
          `replay of ${summary.pipeline} from ${summary.generation.sourcesFrom} into state generation ${summary.generation.generation}` +
            (summary.stateTable === undefined ? '' : ` (table ${summary.stateTable})`),
        );
        printSummary(summary);
      },
    );
}
