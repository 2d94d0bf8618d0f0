import { type ChildProcess, fork } from 'node:child_process';
import type { Context, KinesisStreamBatchResponse, KinesisStreamEvent } from 'aws-lambda';
import type { DeadLetterEnvelope } from '../../shared/runtime/dead-letter.js';
import type { BatchReport } from '../../shared/runtime/stage-runner.js';
import { lambdaHeapFlags } from '../../shared/util/lambda-memory.js';
import { siblingModule } from '../../shared/util/sibling-module.js';
import { deserializeError, type InvokeMessage, type WorkerConfig, type WorkerMessage } from './sandbox-protocol.js';

/**
 * The runtime of an execution environment exited (crashed, was killed) in the middle of an
 * invocation; Lambda reports `Runtime.ExitError` and starts a new environment for the next one.
 */
export class SandboxExitError extends Error {
  override readonly name = 'Runtime.ExitError';
  constructor(
    message: string,
    readonly signal: NodeJS.Signals | null,
    readonly exitCode: number | null,
  ) {
    super(message);
  }
}

/** The invocation ran past the function's timeout: Lambda stops the environment. */
export class SandboxTimeoutError extends Error {
  override readonly name = 'Sandbox.Timedout';
}

/** What one execution environment runs: in-process handler instances and worker processes alike. */
export interface StageSandbox {
  /** False once the environment is gone: the pool then replaces it. */
  readonly alive: boolean;
  /**
   * One invocation. `killAfterRequests` (worker sandboxes only) makes the environment SIGKILL itself
   * after that many AWS requests of this invocation.
   */
  invoke(event: KinesisStreamEvent, context: Context, killAfterRequests?: number): Promise<KinesisStreamBatchResponse>;
  stop(): Promise<void>;
}

export interface WorkerSandboxOptions {
  readonly config: WorkerConfig;
  /** Each batch's report, as the in-process handler's `onBatch` gives it. */
  readonly onBatch?: (report: BatchReport) => void;
  /** Dead letters an invocation sent to the pipeline's (local) dead-letter queue. */
  readonly onDeadLetters?: (envelopes: readonly DeadLetterEnvelope[]) => void;
  /** AWS requests (HTTP attempts) of each invocation that answered. */
  readonly onRequests?: (requests: number) => void;
  /** How long the environment may take to start (Lambda's init phase is limited too). @default 60000 */
  readonly initTimeoutMs?: number;
}

interface Pending {
  readonly id: number;
  readonly resolve: (response: KinesisStreamBatchResponse) => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
}

const workerEntry = siblingModule('./sandbox-worker.ts', import.meta.url);

/**
 * A Lambda execution environment as a child process (`sandbox-worker.ts`, loaded with tsx as the
 * emulator process is): started when created, one invocation at a time, replaced when it dies.
 */
export class WorkerSandbox implements StageSandbox {
  readonly #child: ChildProcess;
  readonly #ready: Promise<void>;
  readonly #exited: Promise<void>;
  readonly #options: WorkerSandboxOptions;
  #pending: Pending | undefined;
  #exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  #nextId = 0;

  constructor(options: WorkerSandboxOptions) {
    this.#options = options;
    this.#child = fork(workerEntry, [JSON.stringify(options.config)], {
      // The heap Lambda gives a stage function, not the one Node would size from this machine's memory.
      execArgv: [...lambdaHeapFlags(), '--import', import.meta.resolve('tsx')],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      // The parent has said it once already: not again for every environment started.
      env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...process.env },
    });
    this.#exited = new Promise((resolve) => {
      this.#child.once('exit', (code, signal) => {
        this.#exit = { code, signal };
        const pending = this.#pending;
        if (pending !== undefined) {
          this.#pending = undefined;
          clearTimeout(pending.timer);
          pending.reject(
            new SandboxExitError(
              signal !== null
                ? `Runtime exited with signal: ${signal}`
                : `Runtime exited with error: exit status ${code}`,
              signal,
              code,
            ),
          );
        }
        resolve();
      });
    });
    this.#ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new SandboxExitError('Runtime did not start in time (init phase timed out)', null, null));
        this.#child.kill('SIGKILL');
      }, options.initTimeoutMs ?? 60_000);
      this.#child.on('message', (message: WorkerMessage) => {
        if (message.type === 'ready') {
          clearTimeout(timer);
          resolve();
        } else if (message.type === 'init-error') {
          clearTimeout(timer);
          const error = deserializeError(message.error);
          reject(Object.assign(error, { name: `Runtime.InitError: ${error.name}` }));
        } else {
          this.#answer(message);
        }
      });
      this.#child.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      this.#child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new SandboxExitError(`Runtime exited during init (code ${code}, signal ${signal})`, signal, code));
      });
    });
    // Awaited by the first invocation; an init failure must not surface as an unhandled rejection first.
    this.#ready.catch(() => undefined);
  }

  get alive(): boolean {
    return this.#exit === undefined;
  }

  /** The process id, for tests. */
  get pid(): number | undefined {
    return this.#child.pid;
  }

  async invoke(
    event: KinesisStreamEvent,
    context: Context,
    killAfterRequests?: number,
  ): Promise<KinesisStreamBatchResponse> {
    await this.#ready;
    if (!this.alive) throw new SandboxExitError('Runtime exited before the invocation', null, null);
    if (this.#pending !== undefined) throw new Error('a sandbox runs one invocation at a time');
    this.#nextId += 1;
    const remaining = context.getRemainingTimeInMillis();
    const message: InvokeMessage = {
      type: 'invoke',
      id: this.#nextId,
      event,
      deadline: Date.now() + remaining,
      functionName: context.functionName,
      invokedFunctionArn: context.invokedFunctionArn,
      awsRequestId: context.awsRequestId,
      ...(killAfterRequests !== undefined && { killAfterRequests }),
    };
    return new Promise<KinesisStreamBatchResponse>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (this.#pending?.id !== message.id) return;
        this.#pending = undefined;
        reject(new SandboxTimeoutError(`Task timed out after ${(remaining / 1000).toFixed(2)} seconds`));
        this.#child.kill('SIGKILL');
      }, remaining);
      this.#pending = { id: message.id, resolve, reject, timer };
      this.#child.send(message, (error) => {
        if (error === null || this.#pending?.id !== message.id) return;
        this.#pending = undefined;
        clearTimeout(timer);
        reject(new SandboxExitError(`could not reach the runtime: ${error.message}`, null, null));
      });
    });
  }

  #answer(message: Exclude<WorkerMessage, { type: 'ready' } | { type: 'init-error' }>): void {
    const pending = this.#pending;
    if (pending === undefined || pending.id !== message.id) return;
    this.#pending = undefined;
    clearTimeout(pending.timer);
    this.#options.onRequests?.(message.requests);
    if (message.deadLetters !== undefined) this.#options.onDeadLetters?.(message.deadLetters);
    if (message.type === 'result') {
      if (message.report !== undefined) this.#options.onBatch?.(message.report);
      pending.resolve(message.response);
    } else {
      pending.reject(deserializeError(message.error));
    }
  }

  async stop(): Promise<void> {
    if (this.alive) this.#child.kill('SIGTERM');
    await this.#exited;
  }
}
