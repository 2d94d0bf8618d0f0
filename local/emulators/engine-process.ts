import { spawn } from 'node:child_process';
import { createServer } from 'node:net';

/** A server engine running as a process of its own (kinesis-mock on Node, DynamoDB Local on Java). */
export interface EngineProcess {
  readonly endpoint: string;
  /** The engine's process id (one process: kinesis-mock's node, DynamoDB Local's JVM). */
  readonly pid: number;
  stop(): Promise<void>;
  crash(): Promise<void>;
}

export interface EngineCommand {
  /** For messages: `kinesis-mock`, `DynamoDB Local`. */
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly cwd: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Said when the command is not found (`java` missing, say). */
  readonly missingCommandHint?: string;
}

// A cold JVM on two loaded cores can take a while; a process that is still starting after this is stuck.
const readyTimeoutMs = 90_000;
// SIGTERM first: DynamoDB Local flushes and the JVM exits in well under a second when idle.
const stopGraceMs = 5_000;
const keptOutputChars = 4_000;

/**
 * Starts an engine and waits until it answers HTTP on `endpoint`. Its stdout and stderr are kept
 * (the last few KB) to explain a failure to start. It stays in the runner's process group, so that
 * killing the runner's group (Ctrl-C, or a test killing every process of a run) ends it too.
 */
export async function startEngineProcess(engine: EngineCommand, endpoint: string): Promise<EngineProcess> {
  const child = spawn(engine.command, engine.args, {
    cwd: engine.cwd,
    env: { ...process.env, ...engine.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString('utf8')).slice(-keptOutputChars);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const failedToStart = new Promise<never>((_, reject) => {
    child.once('error', (error: NodeJS.ErrnoException) => {
      const hint = error.code === 'ENOENT' && engine.missingCommandHint ? `: ${engine.missingCommandHint}` : '';
      reject(new Error(`${engine.name} could not be started (${engine.command}: ${error.message})${hint}`));
    });
    child.once('exit', (code, signal) =>
      reject(
        new Error(
          `${engine.name} exited (${signal ?? `code ${code}`}) before it answered on ${endpoint}; its output:\n${output}`,
        ),
      ),
    );
  });
  failedToStart.catch(() => undefined);
  const running = (): boolean => child.exitCode === null && child.signalCode === null;
  const kill = (signal: NodeJS.Signals): void => {
    if (running()) child.kill(signal);
  };
  const stop = async (): Promise<void> => {
    kill('SIGTERM');
    const grace = setTimeout(() => kill('SIGKILL'), stopGraceMs);
    await exited;
    clearTimeout(grace);
  };
  const crash = async (): Promise<void> => {
    kill('SIGKILL');
    await exited;
  };
  try {
    await Promise.race([failedToStart, waitUntilAnswering(endpoint, engine.name)]);
  } catch (error) {
    await crash();
    throw error;
  }
  return { endpoint, pid: child.pid ?? 0, stop, crash };
}

async function waitUntilAnswering(endpoint: string, name: string): Promise<void> {
  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    try {
      // Any HTTP answer (kinesis-mock says 404, DynamoDB Local 400 to a bare GET) means it is serving.
      await fetch(endpoint, { signal: AbortSignal.timeout(2_000) });
      return;
    } catch {
      if (Date.now() > deadline) throw new Error(`${name} did not answer on ${endpoint} within ${readyTimeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/** A port that was free a moment ago: engines that cannot listen on port 0 and report it need one named. */
export function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
