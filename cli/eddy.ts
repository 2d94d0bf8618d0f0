// First, for its effect: no AWS SDK Node-version warning in Eddy's output.
import '../local/sdk-node-warning.js';
import { Command, Option } from 'commander';
import { endpointOptions } from '../local/endpoints.js';
import { countRecordLines } from '../local/runner/count-lines.js';
import type { StreamFile } from '../local/runner/run-files.js';
import { drawingToMermaid } from '../shared/dag/describe.js';
import { drawPipeline } from '../shared/dag/drawing.js';
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
  addTableOption,
  type LocalRunCliOptions,
  port,
  streamFile,
} from './options.js';
import { ProgressView } from './progress.js';
import { printSummary } from './summary.js';
import { eddyVersion } from './version.js';

type RunCliOptions = LocalRunCliOptions & { input: StreamFile[]; table?: StreamFile[]; ui?: boolean; uiPort?: number };

const program = new Command('eddy')
  .description('Serverless stream processing on Kinesis, Lambda and DynamoDB')
  .version(eddyVersion(), '-V, --version', "print Eddy's version")
  .showHelpAfterError();

const run = addEndpointOptions(program.command('run'))
  .description('run a pipeline on the local stack over JSON-lines files, until every record is processed')
  .argument('<pipeline>', 'TypeScript file that default-exports the pipeline')
  .requiredOption('-i, --input <stream=file>', 'feed a JSON-lines file into a source stream (repeatable)', streamFile);
for (const add of [addOutputOption, addTableOption, addPrefixOption]) add(run);
addDataDirOption(
  run,
  "keep the emulators' data and the mappings' checkpoints in this folder: stopped and run again on it, a run resumes",
);
for (const add of [addSandboxOption, addLogLevelOption, addProgressOption, addStallLimitOption]) add(run);
run
  .option('--ui', 'serve the web console (and /metrics, /status) on 127.0.0.1 while the run goes on')
  .option('--ui-port <port>', 'port of the console (0: any free port; default 8081)', port);
run.action(async (file: string, options: RunCliOptions) => {
  const pipeline = await loadPipeline(file);
  // Loaded by the command that uses it, so that `eddy --help` starts fast (bench/cli-startup.ts).
  const { checkInputs, checkOutputs, runPipelineOnFiles } = await import('../local/runner/run-files.js');
  checkInputs(pipeline.plan(), options.input);
  checkOutputs(pipeline.plan(), options.output ?? []);
  // The total before feeding starts: the percentage and the ETA never go back.
  const total = options.progress
    ? (await Promise.all(options.input.map((input) => countRecordLines(input.file)))).reduce((a, b) => a + b, 0)
    : undefined;
  const view = options.progress ? new ProgressView({ label: 'eddy run', total, output: process.stderr }) : undefined;
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
      ...(options.stallLimit !== undefined && { stallLimitMs: options.stallLimit }),
      // A worker imports the pipeline by path: the file given here.
      ...(options.sandbox === 'worker' && { sandboxes: 'worker', pipelineModule: file }),
      ...(view !== undefined && { onProgress: (progress) => view.update(progress) }),
      ...((options.ui || options.uiPort !== undefined) && {
        ui: {
          ...(options.uiPort !== undefined && { port: options.uiPort }),
          onReady: (url: string) => console.error(`eddy run: console on ${url}/ (until the run ends)`),
        },
      }),
    });
    view?.stop();
    printSummary(summary);
  } catch (error) {
    view?.stop();
    throw error;
  }
});

program
  .command('graph')
  .description('draw the pipeline: stages with their operators, streams, joins, side outputs, tables and dead letters')
  .argument('<pipeline>', 'TypeScript file that default-exports the pipeline')
  .addOption(
    new Option('-f, --format <format>', 'mermaid (text), svg, or html (one self-contained page)')
      .choices(['mermaid', 'svg', 'html'])
      .default('mermaid'),
  )
  .option('--json', 'print the plan as JSON instead')
  .action(async (file: string, options: { json?: boolean; format: 'mermaid' | 'svg' | 'html' }) => {
    const pipeline = await loadPipeline(file);
    if (options.json) {
      console.log(JSON.stringify(pipeline.describe(), null, 2));
      return;
    }
    const drawing = drawPipeline(pipeline.graph, pipeline.plan());
    if (options.format === 'mermaid') {
      console.log(drawingToMermaid(drawing));
      return;
    }
    // Loaded by the command that uses them (dagre), so that `eddy --help` starts fast.
    const render =
      options.format === 'svg'
        ? (await import('../local/drawing/svg.js')).drawingToSvg
        : (await import('../local/drawing/html.js')).drawingToHtml;
    console.log(render(drawing));
  });

(await import('./replay.js')).registerReplay(program);
(await import('./dev.js')).registerDevCommand(program);
(await import('./status.js')).registerStatusCommand(program);
(await import('./cdk.js')).registerCdkCommands(program);
(await import('./init/init.js')).registerInitCommand(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  console.error(`eddy: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
}
