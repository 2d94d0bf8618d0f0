import { type Command, InvalidArgumentError, Option } from 'commander';
import { type EndpointOptions, endpointOptions } from '../local/endpoints.js';
import { DEFAULT_METRICS_HOST, DEFAULT_METRICS_PORT } from '../local/observability/metrics-server.js';
import type { LocalLogLevel } from '../local/runner/local-pipeline.js';
import { addEndpointOptions } from './endpoint-options.js';
import { loadPipeline } from './load-pipeline.js';

interface StreamFile {
  readonly stream: string;
  readonly file: string;
}

function streamFile(value: string, previous: StreamFile[] = []): StreamFile[] {
  const eq = value.indexOf('=');
  if (eq <= 0 || eq === value.length - 1) throw new InvalidArgumentError(`expected <stream>=<file>, got '${value}'`);
  return [...previous, { stream: value.slice(0, eq), file: value.slice(eq + 1) }];
}

function port(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0 || parsed > 65_535) {
    throw new InvalidArgumentError(`expected a port from 0 to 65535 (0: any free port), got '${value}'`);
  }
  return parsed;
}

export interface DevCommandOptions extends EndpointOptions {
  readonly metricsPort: number;
  readonly metricsHost: string;
  readonly input?: StreamFile[];
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
  const { DevSession } = await import('../local/observability/dev-session.js');
  const session = await DevSession.start({
    pipeline,
    ...endpointOptions(options),
    streamPrefix: options.prefix,
    logLevel: options.logLevel,
    metricsPort: options.metricsPort,
    metricsHost: options.metricsHost,
  });
  const stopped = untilStopped();
  try {
    const { url } = session.server;
    console.log(`eddy dev: pipeline ${plan.pipeline} is running on the local stack`);
    console.log(`  metrics  ${url}/metrics`);
    console.log(`  status   ${url}/status    (eddy status --url ${url})`);
    console.log(
      `  kinesis  ${session.local.endpoint}    (source streams: ${sources.map((s) => session.local.physicalName(s)).join(', ')})`,
    );
    for (const input of options.input ?? []) {
      const fed = await session.feed(input.stream, input.file);
      console.log(`  fed ${fed.records} records of ${fed.file} into ${fed.stream}`);
    }
    console.log('Ctrl-C stops it.');
    const signal = await stopped;
    console.log(`eddy dev: ${signal}, stopping`);
  } finally {
    await session.stop();
  }
}

export function registerDevCommand(program: Command): void {
  addEndpointOptions(program.command('dev'))
    .description(
      'run a pipeline on the local stack until stopped, with Prometheus metrics on /metrics and lag on /status',
    )
    .argument('<pipeline>', 'TypeScript file that default-exports the pipeline')
    .option('--metrics-port <port>', 'port of /metrics and /status (0: any free port)', port, DEFAULT_METRICS_PORT)
    .option('--metrics-host <host>', 'interface of /metrics and /status (0.0.0.0 exposes them)', DEFAULT_METRICS_HOST)
    .option(
      '-i, --input <stream=file>',
      'feed a JSON-lines file into a source stream at start (repeatable)',
      streamFile,
    )
    .option('--prefix <prefix>', 'prefix of every stream name', '')
    .addOption(
      new Option('--log-level <level>', "stage handlers' log level")
        .choices(['DEBUG', 'INFO', 'WARN', 'ERROR', 'SILENT'])
        .default('ERROR'),
    )
    .action(runDev);
}
