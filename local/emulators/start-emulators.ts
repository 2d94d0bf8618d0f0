import { fork } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import dynalite from 'dynalite';
import kinesalite from 'kinesalite';

/** Which emulators to start, and where. */
export interface StartEmulatorsOptions {
  /** Start kinesalite (default true). */
  readonly kinesis?: boolean;
  /** Start dynalite (default true). */
  readonly dynamodb?: boolean;
  /** Interface to listen on (default 127.0.0.1); the port is always a free one picked by the OS. */
  readonly host?: string;
  /**
   * Run the emulators in a child process (default) or in this one. A child process gives them a
   * core of their own: on 2 cores a local run is about twice as fast.
   */
  readonly inProcess?: boolean;
  /**
   * Keep the emulators' data on disk in this folder (LevelDB: `kinesis/` for kinesalite,
   * `dynamodb/` for dynalite) instead of in memory: streams, their records and tables survive a
   * restart on the same folder. One running stack per folder (LevelDB locks it).
   * @default in memory
   */
  readonly dataDir?: string;
}

/** Emulators listening on free ports; `stop()` closes them (and frees their data, unless kept in `dataDir`). */
export interface RunningEmulators {
  /** `http://host:port` of kinesalite; empty string when it was not started. */
  readonly kinesisEndpoint: string;
  readonly dynamodbEndpoint: string | undefined;
  stop(): Promise<void>;
  /**
   * For tests of a crash: the emulator process is SIGKILLed (requests in flight are cut; what they
   * wrote to a `dataDir` stays). In-process emulators are closed at once instead.
   */
  crash(): Promise<void>;
}

/** An emulator failed to start or to stop. */
export class EmulatorError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EmulatorError';
  }
}

const defaultHost = '127.0.0.1';

/**
 * Starts kinesalite and dynalite, each on a free port, with every artificial delay (stream and
 * table creation, resharding) set to zero so tests need not wait for ACTIVE.
 */
export function startEmulators(options: StartEmulatorsOptions = {}): Promise<RunningEmulators> {
  return options.inProcess === true ? startEmulatorsInProcess(options) : startEmulatorsInChild(options);
}

async function startEmulatorsInChild(options: StartEmulatorsOptions): Promise<RunningEmulators> {
  const child = fork(fileURLToPath(new URL('./emulator-process.ts', import.meta.url)), [JSON.stringify(options)], {
    // The child entry is TypeScript like the rest: load it with tsx, resolved from this package.
    execArgv: ['--import', import.meta.resolve('tsx')],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const endpoints = await new Promise<{ kinesisEndpoint: string; dynamodbEndpoint?: string }>((resolve, reject) => {
    child.once('message', (message) => {
      const answer = message as { kinesisEndpoint: string; dynamodbEndpoint?: string; error?: string };
      if (answer.error === undefined) resolve(answer);
      else reject(new EmulatorError(answer.error));
    });
    child.once('error', (error) => reject(new EmulatorError('the emulator process failed to start', { cause: error })));
    child.once('exit', (code) =>
      reject(new EmulatorError(`the emulator process exited with code ${code} before it was ready`)),
    );
  });
  return {
    kinesisEndpoint: endpoints.kinesisEndpoint,
    dynamodbEndpoint: endpoints.dynamodbEndpoint,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
    crash: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

/** Starts the emulators in this process. */
export async function startEmulatorsInProcess(options: StartEmulatorsOptions = {}): Promise<RunningEmulators> {
  const host = options.host ?? defaultHost;
  const servers: Server[] = [];
  const unlock = options.dataDir === undefined ? () => {} : lockDataDir(resolve(options.dataDir));
  const stop = () => closeAll(servers).finally(unlock);
  try {
    let kinesisEndpoint = '';
    let dynamodbEndpoint: string | undefined;
    if (options.kinesis ?? true) {
      // Resharding tests split and merge many shards; the default limit of 10 is too low.
      const server = kinesalite({
        createStreamMs: 0,
        deleteStreamMs: 0,
        updateStreamMs: 0,
        shardLimit: 1000,
        ...dataPath(options.dataDir, 'kinesis'),
      });
      servers.push(server);
      kinesisEndpoint = await listen(server, host, 'kinesalite');
    }
    if (options.dynamodb ?? true) {
      const server = dynalite({
        createTableMs: 0,
        deleteTableMs: 0,
        updateTableMs: 0,
        ...dataPath(options.dataDir, 'dynamodb'),
      });
      servers.push(server);
      dynamodbEndpoint = await listen(server, host, 'dynalite');
    }
    return { kinesisEndpoint, dynamodbEndpoint, stop, crash: stop };
  } catch (error) {
    await stop().catch(() => undefined);
    throw error;
  }
}

/**
 * Claims the data folder for this process: LevelDB would otherwise fail later, in the middle of a
 * request, when a second stack opened it. A lock left by a process that no longer runs is taken over.
 */
function lockDataDir(dataDir: string): () => void {
  mkdirSync(dataDir, { recursive: true });
  const file = join(dataDir, 'emulators.lock');
  for (let attempt = 0; ; attempt += 1) {
    try {
      writeFileSync(file, String(process.pid), { flag: 'wx' });
      return () => rmSync(file, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 2) throw error;
      const owner = Number(readFileSync(file, 'utf8'));
      if (Number.isInteger(owner) && owner > 0 && isRunning(owner)) {
        throw new EmulatorError(`data directory ${dataDir} is in use by process ${owner} (another local stack?)`);
      }
      rmSync(file, { force: true });
    }
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The LevelDB folder of one emulator under the data folder, created if missing. */
function dataPath(dataDir: string | undefined, emulator: string): { path?: string } {
  if (dataDir === undefined) return {};
  const path = join(resolve(dataDir), emulator);
  mkdirSync(path, { recursive: true });
  return { path };
}

function listen(server: Server, host: string, name: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void =>
      reject(new EmulatorError(`${name} failed to listen on ${host}`, { cause: error }));
    server.once('error', onError);
    server.listen(0, host, () => {
      server.off('error', onError);
      const { port } = server.address() as AddressInfo;
      resolve(`http://${host.includes(':') ? `[${host}]` : host}:${port}`);
    });
  });
}

async function closeAll(servers: readonly Server[]): Promise<void> {
  const results = await Promise.allSettled(servers.filter((server) => server.listening).map(close));
  const failure = results.find((result) => result.status === 'rejected');
  if (failure) throw new EmulatorError('an emulator failed to stop', { cause: failure.reason });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
    // Keep-alive sockets of SDK clients would hold close() open until they time out.
    server.closeAllConnections();
  });
}
