import { Command, InvalidArgumentError, Option } from 'commander';
import { type EndpointOptions, endpointOptions } from '../local/endpoints.js';
import type { StreamFile } from '../local/runner/run-files.js';
import { toMermaid } from '../shared/dag/describe.js';
import { addEndpointOptions } from './endpoint-options.js';
import { loadPipeline } from './load-pipeline.js';
import { printSummary } from './summary.js';

function streamFile(value: string, previous: StreamFile[] = []): StreamFile[] {
  const eq = value.indexOf('=');
  if (eq <= 0 || eq === value.length - 1) throw new InvalidArgumentError(`expected <stream>=<file>, got '${value}'`);
  return [...previous, { stream: value.slice(0, eq), file: value.slice(eq + 1) }];
}

const program = new Command('eddy')
  .description('Serverless stream processing on Kinesis, Lambda and DynamoDB')
  .showHelpAfterError();

addEndpointOptions(program.command('run'))
  .description('run a pipeline on the local stack over JSON-lines files, until every record is processed')
  .argument('<pipeline>', 'TypeScript file that default-exports the pipeline')
  .requiredOption('-i, --input <stream=file>', 'feed a JSON-lines file into a source stream (repeatable)', streamFile)
  .option(
    '-o, --output <stream=file>',
    'write a stream (sink, shuffle or dead-letter), or the dead-letter queue, to a JSON-lines file (repeatable)',
    streamFile,
  )
  .option(
    '-t, --table <table=file>',
    "put a JSON-lines file's rows into an external table (pipeline.table) before the run (repeatable)",
    streamFile,
  )
  .option('--prefix <prefix>', 'prefix of every stream name', '')
  .option(
    '--data-dir <dir>',
    "keep the emulators' data and the mappings' checkpoints in this folder: stopped and run again on it, a run resumes",
  )
  .addOption(
    new Option('--sandbox <mode>', 'run each Lambda execution environment in-process or as a worker process')
      .choices(['in-process', 'worker'])
      .default('in-process'),
  )
  .addOption(
    new Option('--log-level <level>', "stage handlers' log level")
      .choices(['DEBUG', 'INFO', 'WARN', 'ERROR', 'SILENT'])
      .default('ERROR'),
  )
  .option('--no-progress', 'no progress bar')
  .action(
    async (
      file: string,
      options: EndpointOptions & {
        input: StreamFile[];
        output?: StreamFile[];
        table?: StreamFile[];
        prefix: string;
        dataDir?: string;
        sandbox: 'in-process' | 'worker';
        logLevel: 'ERROR';
        progress: boolean;
      },
    ) => {
      const pipeline = await loadPipeline(file);
      // Loaded by the command that uses them, so that `eddy --help` starts fast (bench/cli-startup.ts).
      const [{ default: cliProgress }, { runPipelineOnFiles }] = await Promise.all([
        import('cli-progress'),
        import('../local/runner/run-files.js'),
      ]);
      const bar = options.progress
        ? new cliProgress.SingleBar(
            {
              format: 'eddy run |{bar}| {value}/{total} source records processed | {rate} | fed {fed}',
              stream: process.stderr,
              noTTYOutput: !process.stderr.isTTY,
              notTTYSchedule: 2000,
              hideCursor: true,
            },
            cliProgress.Presets.shades_classic,
          )
        : undefined;
      const started = performance.now();
      bar?.start(1, 0, { rate: '-', fed: 0 });
      try {
        const summary = await runPipelineOnFiles({
          pipeline,
          inputs: options.input,
          outputs: options.output ?? [],
          ...(options.table !== undefined && { tables: options.table }),
          ...endpointOptions(options),
          streamPrefix: options.prefix,
          logLevel: options.logLevel,
          ...(options.dataDir !== undefined && { dataDir: options.dataDir }),
          // A worker imports the pipeline by path: the file given here.
          ...(options.sandbox === 'worker' && { sandboxes: 'worker', pipelineModule: file }),
          onProgress: (progress) => {
            const elapsed = (performance.now() - started) / 1000;
            bar?.setTotal(Math.max(1, progress.fed));
            bar?.update(Math.min(progress.sourceRecordsProcessed, progress.fed), {
              rate: `${Math.round(progress.sourceRecordsProcessed / Math.max(elapsed, 0.001))} rec/s`,
              fed: progress.fed,
            });
          },
        });
        bar?.stop();
        printSummary(summary);
      } catch (error) {
        bar?.stop();
        throw error;
      }
    },
  );

program
  .command('graph')
  .description('print the pipeline as a Mermaid diagram (stages, streams)')
  .argument('<pipeline>', 'TypeScript file that default-exports the pipeline')
  .option('--json', 'print the plan as JSON instead')
  .action(async (file: string, options: { json?: boolean }) => {
    const pipeline = await loadPipeline(file);
    console.log(
      options.json ? JSON.stringify(pipeline.describe(), null, 2) : toMermaid(pipeline.graph, pipeline.plan()),
    );
  });

(await import('./replay.js')).registerReplay(program);
(await import('./dev.js')).registerDevCommand(program);
(await import('./status.js')).registerStatusCommand(program);
(await import('./cdk.js')).registerCdkCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  console.error(`eddy: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
}
