import { fork } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import dynalite from 'dynalite';
import { siblingModule } from '../../shared/util/sibling-module.js';
import { localRequestTimeoutVariable } from '../aws-clients.js';
import { defaultEnginePair, type EnginePair, enginePairFromEnvironment } from './engine-pairs.js';
import type { EngineProcess } from './engine-process.js';
import { kinesalite } from './kinesalite/load-kinesalite.js';
import { startDynamoDbLocal, startKinesisMock } from './second-pair.js';

/** Which emulators to start, and where. */
export interface StartEmulatorsOptions {
  /**
   * Which engines: kinesalite and dynalite (pure Node, in this stack's process), or kinesis-mock
   * and DynamoDB Local (the engines LocalStack runs; processes of their own, Java for DynamoDB
   * Local). docs/local-engines.md compares them.
   * @default 'kinesalite+dynalite'
   */
  readonly engines?: EnginePair;
  /** Start the Kinesis engine (default true). */
  readonly kinesis?: boolean;
  /** Start the DynamoDB engine (default true). */
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
   * restart on the same folder. One running stack per folder (LevelDB locks it). kinesalite and
   * dynalite only: kinesis-mock saves its streams on a timer, so a crash would lose acknowledged records.
   * @default in memory
   */
  readonly dataDir?: string;
  /**
   * Where kinesalite and dynalite keep their data when no `dataDir` is given: in memory (memdown,
   * which grows with every record put), or in a temporary LevelDB folder under the OS's temporary
   * directory, removed when the emulators stop or their process exits (docs/performance.md: memory
   * then stays bounded as the input grows). The other engine pair ignores it.
   * @default 'memory'
   */
  readonly store?: EmulatorStore;
}

/** Where emulators without a `dataDir` keep their data: see StartEmulatorsOptions.store. */
export type EmulatorStore = 'memory' | 'temporary-disk';

/** Emulators listening on free ports; `stop()` closes them (and frees their data, unless kept in `dataDir`). */
export interface RunningEmulators {
  /** `http://host:port` of the Kinesis engine; empty string when it was not started. */
  readonly kinesisEndpoint: string;
  readonly dynamodbEndpoint: string | undefined;
  /** Process ids of engines that run as processes of their own (kinesis-mock, DynamoDB Local); none for the Node pair. */
  readonly processIds: readonly number[];
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
/** kinesis-mock's PutRecords took up to 20 s each at 80,000 records in a 4-shard stream, on a loaded machine. */
const kinesisMockRequestTimeoutMs = 300_000;

/**
 * Starts the engines (kinesalite and dynalite unless `engines` or `EDDY_ENGINES` names the other
 * pair), each on a free port, with every artificial delay (stream and table creation, resharding)
 * set to zero so tests need not wait for ACTIVE.
 */
export function startEmulators(options: StartEmulatorsOptions = {}): Promise<RunningEmulators> {
  const chosen = { ...options, engines: options.engines ?? enginePairFromEnvironment() };
  if (chosen.engines === 'kinesis-mock+dynamodb-local' && chosen.kinesis !== false) {
    // Clients made from now on, here and in the workers this process starts, wait for a slow engine.
    process.env[localRequestTimeoutVariable] ||= String(kinesisMockRequestTimeoutMs);
  }
  return chosen.inProcess === true ? startEmulatorsInProcess(chosen) : startEmulatorsInChild(chosen);
}

async function startEmulatorsInChild(options: StartEmulatorsOptions): Promise<RunningEmulators> {
  const child = fork(siblingModule('./emulator-process.ts', import.meta.url), [JSON.stringify(options)], {
    // The child entry is TypeScript like the rest: load it with tsx, resolved from this package.
    execArgv: ['--import', import.meta.resolve('tsx')],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const endpoints = await new Promise<EmulatorEndpoints>((resolve, reject) => {
    child.once('message', (message) => {
      const answer = message as EmulatorEndpoints & { error?: string };
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
    processIds: endpoints.processIds ?? [],
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
    crash: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
      // Engines of their own (a JVM) would outlive their SIGKILLed parent: they go with it.
      killEngines(endpoints.processIds ?? []);
    },
  };
}

/** What the emulator process tells its parent once its engines answer. */
export interface EmulatorEndpoints {
  readonly kinesisEndpoint: string;
  readonly dynamodbEndpoint?: string;
  /** Process ids of engines that run as processes of their own. */
  readonly processIds?: readonly number[];
}

/** SIGKILLs engine processes, synchronously (it also serves in an 'exit' handler); gone ones are skipped. */
export function killEngines(pids: readonly number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
    }
  }
}

/** Starts the emulators in this process (the engines of the second pair: as children of it). */
export async function startEmulatorsInProcess(options: StartEmulatorsOptions = {}): Promise<RunningEmulators> {
  const engines = options.engines ?? defaultEnginePair;
  if (engines === 'kinesis-mock+dynamodb-local') return startSecondPair(options);
  const host = options.host ?? defaultHost;
  const servers: Server[] = [];
  const temporary = options.dataDir === undefined && options.store === 'temporary-disk' ? temporaryFolder() : undefined;
  const dataDir = options.dataDir ?? temporary?.path;
  const unlock = dataDir === undefined ? () => {} : lockDataDir(resolve(dataDir));
  const stop = () =>
    closeAll(servers)
      .finally(unlock)
      .finally(() => temporary?.remove());
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
        ...dataPath(dataDir, 'kinesis'),
      });
      servers.push(server);
      kinesisEndpoint = await listen(server, host, 'kinesalite');
    }
    if (options.dynamodb ?? true) {
      const server = dynalite({
        createTableMs: 0,
        deleteTableMs: 0,
        updateTableMs: 0,
        ...dataPath(dataDir, 'dynamodb'),
      });
      servers.push(server);
      dynamodbEndpoint = await listen(server, host, 'dynalite');
    }
    return { kinesisEndpoint, dynamodbEndpoint, stop, crash: stop, processIds: [] };
  } catch (error) {
    await stop().catch(() => undefined);
    throw error;
  }
}

/** kinesis-mock and DynamoDB Local, each a process of its own on a free port, started side by side. */
async function startSecondPair(options: StartEmulatorsOptions): Promise<RunningEmulators> {
  if (options.dataDir !== undefined) {
    throw new EmulatorError(
      'a data directory needs the kinesalite+dynalite engines: kinesis-mock writes its streams to disk on a ' +
        'timer, so a crash would lose records it had acknowledged, and a resumed run would be wrong',
    );
  }
  const host = options.host ?? defaultHost;
  const started = await Promise.allSettled([
    (options.kinesis ?? true) ? startKinesisMock(host) : undefined,
    (options.dynamodb ?? true) ? startDynamoDbLocal(host) : undefined,
  ]);
  const engines = started.flatMap((result) => (result.status === 'fulfilled' && result.value ? [result.value] : []));
  const each = (act: (engine: EngineProcess) => Promise<void>) => async (): Promise<void> => {
    const results = await Promise.allSettled(engines.map(act));
    const failure = results.find((result) => result.status === 'rejected');
    if (failure) throw new EmulatorError('an engine failed to stop', { cause: failure.reason });
  };
  const failure = started.find((result) => result.status === 'rejected');
  if (failure) {
    await each((engine) => engine.crash())();
    throw new EmulatorError(String((failure.reason as Error).message ?? failure.reason), { cause: failure.reason });
  }
  const [kinesis, dynamodb] = started.map((result) => (result.status === 'fulfilled' ? result.value : undefined));
  return {
    kinesisEndpoint: kinesis?.endpoint ?? '',
    dynamodbEndpoint: dynamodb?.endpoint,
    stop: each((engine) => engine.stop()),
    crash: each((engine) => engine.crash()),
    processIds: engines.map((engine) => engine.pid),
  };
}

/**
 * A fresh folder under the OS's temporary directory, removed by `remove()` or, failing that, when
 * this process exits (an 'exit' handler runs on an uncaught error and on process.exit, not on a
 * signal: the emulator process turns SIGINT and SIGTERM into an orderly exit for that reason).
 */
function temporaryFolder(): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), 'eddy-emulators-'));
  const remove = (): void => {
    process.off('exit', remove);
    rmSync(path, { recursive: true, force: true });
  };
  process.on('exit', remove);
  return { path, remove };
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
