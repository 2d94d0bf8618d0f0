import type { Command } from 'commander';
import { type EndpointOptions, endpointOptions } from '../local/endpoints.js';
import { DEFAULT_METRICS_HOST, DEFAULT_METRICS_PORT } from '../local/observability/metrics-server.js';
import type { LocalLogLevel } from '../local/runner/local-pipeline.js';
import type { StreamFile } from '../local/runner/run-files.js';
import { addEndpointOptions } from './endpoint-options.js';
import { loadPipeline } from './load-pipeline.js';
import {
  addDataDirOption,
  addLogLevelOption,
  addOutputOption,
  addPrefixOption,
  addTableOption,
  port,
  streamFile,
} from './options.js';

export interface DevCommandOptions extends EndpointOptions {
  readonly metricsPort: number;
  readonly metricsHost: string;
  readonly input?: StreamFile[];
  readonly output?: StreamFile[];
  readonly table?: StreamFile[];
  readonly dataDir?: string;
  readonly prefix: string;
  readonly logLevel: LocalLogLevel;
}

/** Resolves on the first SIGINT or SIGTERM. */
function untilStopped(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      // A second signal while stopping exits at once.
      const force = () => process.exit(130);
      process.once('SIGINT', force);
      process.once('SIGTERM', force);
      resolve(signal);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

/** `eddy dev <pipeline>`: runs the pipeline on the local stack until stopped, with /metrics and /status. */
export async function runDev(file: string, options: DevCommandOptions): Promise<void> {
  const pipeline = await loadPipeline(file);
  const plan = pipeline.plan();
  const sources = plan.streams.filter((s) => s.role === 'source').map((s) => s.name);
  for (const input of options.input ?? []) {
    if (!sources.includes(input.stream)) {
      throw new Error(`--input ${input.stream}: not a source of '${plan.pipeline}' (sources: ${sources.join(', ')})`);
    }
  }
  // Loaded by the command that uses them, so that `eddy --help` starts fast (bench/cli-startup.ts).
  const [{ DevSession }, { checkOutputs, readJsonLines, writeOutputs }] = await Promise.all([
    import('../local/observability/dev-session.js'),
    import('../local/runner/run-files.js'),
  ]);
  checkOutputs(plan, options.output ?? []);
  const session = await DevSession.start({
    pipeline,
    ...endpointOptions(options),
    ...(options.dataDir !== undefined && { dataDir: options.dataDir }),
    streamPrefix: options.prefix,
    logLevel: options.logLevel,
    metricsPort: options.metricsPort,
    metricsHost: options.metricsHost,
  });
  const stopped = untilStopped();
  try {
    const { url } = session.server;
    console.log(`eddy dev: pipeline ${plan.pipeline} is running on the local stack`);
    if (session.server.console) console.log(`  console  ${url}/`);
    console.log(`  metrics  ${url}/metrics`);
    console.log(`  status   ${url}/status    (eddy status --url ${url})`);
    console.log(
      `  kinesis  ${session.local.endpoint}    (source streams: ${sources.map((s) => session.local.physicalName(s)).join(', ')})`,
    );
    for (const seed of options.table ?? []) {
      const rows = await readJsonLines(seed.file);
      await session.local.seedTable(seed.stream, rows);
      console.log(`  put ${rows.length} rows of ${seed.file} into table ${seed.stream}`);
    }
    for (const input of options.input ?? []) {
      const fed = await session.feed(input.stream, input.file);
      console.log(`  fed ${fed.records} records of ${fed.file} into ${fed.stream}`);
    }
    console.log('Ctrl-C stops it.');
    const signal = await stopped;
    console.log(`eddy dev: ${signal}, stopping`);
    if ((options.output ?? []).length > 0) {
      const written = await writeOutputs(session.local, options.output ?? []);
      for (const output of written) {
        console.log(`  wrote ${output.records} records of ${output.stream} to ${output.file}`);
      }
    }
  } finally {
    await session.stop();
  }
}

export function registerDevCommand(program: Command): void {
  const dev = addEndpointOptions(program.command('dev'))
    .description(
      'run a pipeline on the local stack until stopped, with the web console on /, Prometheus metrics on /metrics and lag on /status',
    )
    .argument('<pipeline>', 'TypeScript file that default-exports the pipeline')
    .option('--metrics-port <port>', 'port of /metrics and /status (0: any free port)', port, DEFAULT_METRICS_PORT)
    .option(
      '--metrics-host <host>',
      'interface of /metrics and /status (0.0.0.0 exposes them; the console is served on loopback only)',
      DEFAULT_METRICS_HOST,
    )
    .option(
      '-i, --input <stream=file>',
      'feed a JSON-lines file into a source stream at start (repeatable)',
      streamFile,
    );
  addOutputOption(dev, ' when stopped');
  addTableOption(dev);
  addDataDirOption(
    dev,
    "keep the emulators' data and the mappings' checkpoints in this folder: started again on it, the pipeline resumes",
  );
  addPrefixOption(dev);
  addLogLevelOption(dev);
  dev.action(runDev);
}
