import { type Command, InvalidArgumentError, Option } from 'commander';
import type { EndpointOptions } from '../local/endpoints.js';
import type { StreamFile } from '../local/runner/run-files.js';
import { parseStallLimitSeconds } from '../local/runner/stall-watch.js';

/**
 * The options `run`, `dev` and `replay` share, defined once so that a flag reads and behaves the
 * same in every command that takes it.
 */

/** `<stream>=<file>`, repeatable. */
export function streamFile(value: string, previous: StreamFile[] = []): StreamFile[] {
  const eq = value.indexOf('=');
  if (eq <= 0 || eq === value.length - 1) throw new InvalidArgumentError(`expected <stream>=<file>, got '${value}'`);
  return [...previous, { stream: value.slice(0, eq), file: value.slice(eq + 1) }];
}

export function addOutputOption(command: Command, when = ''): Command {
  return command.option(
    '-o, --output <stream=file>',
    `write a stream (sink, shuffle or dead-letter), or the dead-letter queue, to a JSON-lines file${when} (repeatable)`,
    streamFile,
  );
}

export function addTableOption(command: Command): Command {
  return command.option(
    '-t, --table <table=file>',
    "put a JSON-lines file's rows into an external table (pipeline.table) before any input (repeatable)",
    streamFile,
  );
}

export function addDataDirOption(command: Command, description: string): Command {
  return command.option('--data-dir <dir>', description);
}

export function addPrefixOption(command: Command): Command {
  return command.option('--prefix <prefix>', 'prefix of every stream name', '');
}

export function addLogLevelOption(command: Command): Command {
  return command.addOption(
    new Option('--log-level <level>', "stage handlers' log level")
      .choices(['DEBUG', 'INFO', 'WARN', 'ERROR', 'SILENT'])
      .default('ERROR'),
  );
}

export function addSandboxOption(command: Command): Command {
  return command.addOption(
    new Option('--sandbox <mode>', 'run each Lambda execution environment in-process or as a worker process')
      .choices(['in-process', 'worker'])
      .default('in-process'),
  );
}

export function addProgressOption(command: Command): Command {
  return command.option('--no-progress', 'no progress line (without a terminal, one plain line every few seconds)');
}

export function addStallLimitOption(command: Command): Command {
  return command.option(
    '--stall-limit <seconds>',
    'fail only when no record moved anywhere for this long; a run that progresses never times out (default 300, or EDDY_STALL_LIMIT_SECONDS)',
    (value: string) => {
      try {
        return parseStallLimitSeconds(value, '--stall-limit');
      } catch (error) {
        throw new InvalidArgumentError((error as Error).message);
      }
    },
  );
}

/** What commander parses from the options `run` and `replay` both take. */
export interface LocalRunCliOptions extends EndpointOptions {
  readonly output?: StreamFile[];
  readonly dataDir?: string;
  readonly prefix: string;
  readonly sandbox: 'in-process' | 'worker';
  readonly logLevel: 'ERROR';
  readonly progress: boolean;
  /** `--stall-limit`, in ms. */
  readonly stallLimit?: number;
}

/** A TCP port option: 0 to 65535, 0 for any free port. */
export function port(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0 || parsed > 65_535) {
    throw new InvalidArgumentError(`expected a port from 0 to 65535 (0: any free port), got '${value}'`);
  }
  return parsed;
}
