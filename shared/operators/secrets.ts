import { PipelineDefinitionError } from '../dag/errors.js';
import type { PipelineNode } from '../dag/graph.js';
import type { PipelineGraph } from '../dag/pipeline-graph.js';
import type { StageSpec } from '../dag/plan-types.js';

/**
 * Secrets of a pipeline's operators (tokenize's key): declared in code by reference only, their
 * values loaded by the runtime before the first batch and never written anywhere.
 *
 * - `secret(name)` refers to an SSM Parameter Store SecureString parameter.
 * - An operator function carries the secrets it needs ({@link usesSecrets}); the pipeline lists them
 *   per stage ({@link stageSecrets}), so the CDK construct grants each stage function
 *   `ssm:GetParameter` on exactly its parameters, and the Lambda handler loads them once per
 *   execution environment ({@link loadSecrets}) before it runs a batch.
 * - Operator functions are synchronous, so they read a loaded value with {@link secretValue}.
 * - Locally (`eddy run`, `eddy dev`, LocalPipeline) the values come from the environment:
 *   `EDDY_SECRET_<name in capitals, every other character an underscore>` ({@link secretEnvironmentVariable}).
 */

/** A reference to a secret value; holds no value itself. */
export interface SecretRef {
  /** Where the value is kept. Only SSM Parameter Store today. */
  readonly source: 'ssm';
  /** The parameter's name (`/eddy/token-key`) or ARN (a parameter shared from another account). */
  readonly name: string;
  /** A pinned parameter version; without one, the latest version is read. */
  readonly version?: number;
  /** Identifies the secret in the runtime's store and in messages: `ssm:<name>[:<version>]`. */
  readonly id: string;
}

/** What an operator function needs of a secret. */
export interface SecretUse {
  readonly secret: SecretRef;
  /** The value must have at least this many bytes (UTF-8). @default 1 */
  readonly minBytes?: number;
  /** Who needs it, for messages: `tokenize (user)`. */
  readonly usedBy?: string;
}

export interface SecretOptions {
  /**
   * Reads this version of the parameter instead of the latest: a rotation then takes effect with a
   * deployment that changes the number, never in the middle of a run (docs/security.md).
   */
  readonly version?: number;
}

/**
 * Parameter names: letters, digits and `_.-/`, at most 2048 characters (SSM's PutParameter); a name
 * with a `/` must begin with one. ARNs are checked by their shape only.
 */
const PARAMETER_NAME = /^[A-Za-z0-9_.\-/]{1,2048}$/;
const PARAMETER_ARN = /^arn:aws[a-z-]*:ssm:[a-z0-9-]+:\d{12}:parameter\/[A-Za-z0-9_.\-/]{1,2048}$/;

/**
 * A secret kept in SSM Parameter Store as a SecureString parameter.
 *
 * @example
 * stream.map(tokenize(['user'], { key: secret('/eddy/token-key') }))
 */
export function secret(name: string, options: SecretOptions = {}): SecretRef {
  const label = `secret('${name}')`;
  if (typeof name !== 'string' || !(PARAMETER_NAME.test(name) || PARAMETER_ARN.test(name))) {
    throw new PipelineDefinitionError(
      'expects an SSM parameter name (letters, digits, _ . - /, at most 2048 characters) or a parameter ARN',
      label,
    );
  }
  if (!name.startsWith('arn:') && name.includes('/') && !name.startsWith('/')) {
    throw new PipelineDefinitionError('a parameter name with a path must begin with /', label);
  }
  if (/^\/?(aws|ssm)/i.test(name)) {
    throw new PipelineDefinitionError("parameter names may not begin with 'aws' or 'ssm' (reserved by AWS)", label);
  }
  const { version } = options;
  if (version !== undefined && (!Number.isInteger(version) || version < 1)) {
    throw new PipelineDefinitionError(`version must be a positive integer, got ${version}`, label);
  }
  return Object.freeze({
    source: 'ssm' as const,
    name,
    ...(version !== undefined && { version }),
    id: `ssm:${name}${version === undefined ? '' : `:${version}`}`,
  });
}

/** The name GetParameter is called with: the name, with `:<version>` when one is pinned. */
export function ssmParameterSelector(ref: SecretRef): string {
  return ref.version === undefined ? ref.name : `${ref.name}:${ref.version}`;
}

const USES = Symbol.for('eddy.secrets');

/**
 * Declares the secrets an operator function reads with {@link secretValue}, so that the runtime
 * loads them (and the CDK construct grants them) for the stage the function runs in. Returns `fn`.
 */
export function usesSecrets<F extends object>(fn: F, uses: readonly SecretUse[]): F {
  Object.defineProperty(fn, USES, { value: Object.freeze([...secretUsesOf(fn), ...uses]), configurable: true });
  return fn;
}

/** The secrets a function declared with {@link usesSecrets}. */
export function secretUsesOf(fn: unknown): readonly SecretUse[] {
  if ((typeof fn !== 'function' && typeof fn !== 'object') || fn === null) return [];
  return (fn as { [USES]?: readonly SecretUse[] })[USES] ?? [];
}

/** The user functions of a node that run in its own stage (a key extractor, an event-time extractor). */
function functionsOf(node: PipelineNode): unknown[] {
  return Object.values(node).filter((value) => typeof value === 'function');
}

/** The secrets the operators of one stage use, one per secret id (the largest `minBytes` kept). */
export function stageSecrets(graph: PipelineGraph, stage: StageSpec): SecretUse[] {
  const nodes = stage.nodes.map((name) => graph.node(name));
  // A stage's input node is the previous stage's keyBy (or join side): its key function ran there.
  const own = nodes.filter((node, index) => index > 0 || node.kind === 'source');
  return merge(own.flatMap((node) => functionsOf(node).flatMap(secretUsesOf)));
}

/** Every secret the pipeline's operators use, over all its stages. */
export function pipelineSecrets(graph: PipelineGraph): SecretUse[] {
  return merge(graph.nodes().flatMap((node) => functionsOf(node).flatMap(secretUsesOf)));
}

function merge(uses: readonly SecretUse[]): SecretUse[] {
  const byId = new Map<string, SecretUse>();
  for (const use of uses) {
    const known = byId.get(use.secret.id);
    if (known === undefined || (use.minBytes ?? 1) > (known.minBytes ?? 1)) byId.set(use.secret.id, use);
  }
  return [...byId.values()];
}

/** A secret an operator needs could not be loaded: the invocation fails, nothing is processed. */
export class SecretUnavailableError extends Error {
  override readonly name = 'SecretUnavailableError';
}

/** Reads one secret's value (SSM in Lambda, the environment locally). */
export type SecretLoader = (ref: SecretRef) => Promise<string>;

/** Values loaded in this execution environment, by secret id. Never logged, never written. */
const loaded = new Map<string, string>();

/**
 * Loads every secret not loaded yet, all at once, and checks each value's size. Throws
 * {@link SecretUnavailableError} naming every secret that failed; the ones that loaded are kept.
 */
export async function loadSecrets(uses: readonly SecretUse[], loader: SecretLoader): Promise<void> {
  const missing = merge(uses).filter((use) => !loaded.has(use.secret.id));
  const results = await Promise.allSettled(
    missing.map(async (use) => {
      let value: string;
      try {
        value = await loader(use.secret);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        throw new SecretUnavailableError(use.usedBy === undefined ? message : `${message} (used by ${use.usedBy})`, {
          cause: error,
        });
      }
      checkValue(use, value);
      return value;
    }),
  );
  const problems: string[] = [];
  results.forEach((result, index) => {
    const use = missing[index] as SecretUse;
    if (result.status === 'fulfilled') loaded.set(use.secret.id, result.value);
    else problems.push(result.reason instanceof Error ? result.reason.message : String(result.reason));
  });
  if (problems.length > 0) throw new SecretUnavailableError(problems.join('; '));
}

function checkValue(use: SecretUse, value: unknown): void {
  const who = use.usedBy === undefined ? '' : ` (used by ${use.usedBy})`;
  if (typeof value !== 'string' || value.length === 0) {
    throw new SecretUnavailableError(`secret ${use.secret.id}${who} is empty`);
  }
  const bytes = Buffer.byteLength(value);
  if (bytes < (use.minBytes ?? 1)) {
    throw new SecretUnavailableError(
      `secret ${use.secret.id}${who} is ${bytes} bytes; it needs at least ${use.minBytes} ` +
        '(generate one with `openssl rand -base64 32`)',
    );
  }
}

/**
 * A loaded secret's value, for operator functions. Throws when it was not loaded: the function did
 * not declare it with {@link usesSecrets}, or runs outside a stage handler.
 */
export function secretValue(ref: SecretRef): string {
  const value = loaded.get(ref.id);
  if (value === undefined) {
    throw new SecretUnavailableError(
      `secret ${ref.id} is not loaded: stage handlers load the secrets operators declare before the first ` +
        'batch (a function that reads one must declare it with usesSecrets)',
    );
  }
  return value;
}

/** Forgets every loaded value (tests). */
export function clearLoadedSecrets(): void {
  loaded.clear();
}

/**
 * The environment variable that holds a secret locally: `EDDY_SECRET_` and the parameter name in
 * capitals, each run of other characters an underscore. `/eddy/token-key` → `EDDY_SECRET_EDDY_TOKEN_KEY`.
 * A pinned version does not change it.
 */
export function secretEnvironmentVariable(ref: SecretRef): string {
  const name = ref.name.startsWith('arn:') ? ref.name.slice(ref.name.indexOf(':parameter/') + 10) : ref.name;
  const normalized = name
    .toUpperCase()
    .replace(/[^A-Z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
  return `EDDY_SECRET_${normalized}`;
}

/** Reads secrets from environment variables (the local stack's loader). */
export function environmentSecretLoader(env: NodeJS.ProcessEnv = process.env): SecretLoader {
  return async (ref) => {
    const variable = secretEnvironmentVariable(ref);
    const value = env[variable];
    if (value === undefined || value === '') {
      throw new SecretUnavailableError(
        `secret ${ref.id} is read from the environment locally, and ${variable} is not set`,
      );
    }
    return value;
  };
}

/**
 * Checks, before a local run starts, that every secret of the pipeline has its environment variable:
 * one error that names all the missing ones.
 */
export function assertSecretsInEnvironment(graph: PipelineGraph, env: NodeJS.ProcessEnv = process.env): void {
  const missing = pipelineSecrets(graph)
    .map((use) => ({ use, variable: secretEnvironmentVariable(use.secret) }))
    .filter(({ variable }) => env[variable] === undefined || env[variable] === '');
  if (missing.length === 0) return;
  const list = missing
    .map(({ use, variable }) => `${variable} (for ${use.secret.id}${use.usedBy ? `, used by ${use.usedBy}` : ''})`)
    .join(', ');
  throw new SecretUnavailableError(
    `pipeline '${graph.name}' needs secrets that locally come from the environment; set ${list}`,
  );
}
