import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { StatefulKind } from '../shared/dag/stage-kind.js';
import { siblingModule } from '../shared/util/sibling-module.js';

/** Whether Eddy runs compiled (dist/infra/paths.js, installed) rather than from its sources (infra/paths.ts). */
const COMPILED = !import.meta.url.endsWith('.ts');

/** The root of the Eddy package (the folder of its package.json), found from this file rather than from `process.cwd()`. */
const EDDY_ROOT: string = fileURLToPath(new URL(COMPILED ? '../..' : '..', import.meta.url));

/** The lock files NodejsFunction knows, in the order it looks for them. */
const LOCK_FILES = ['pnpm-lock.yaml', 'yarn.lock', 'bun.lock', 'bun.lockb', 'package-lock.json'];

/**
 * The lock file esbuild's bundling step uses to find the project's dependencies: Eddy's own in its
 * repository; installed (no lock file is published), the one of the project that installed Eddy, the
 * first found above the package (node_modules/eddy, or pnpm's node_modules/.pnpm/.../eddy).
 */
export const PACKAGE_LOCK_FILE: string = findLockFile(EDDY_ROOT) ?? join(EDDY_ROOT, 'package-lock.json');

/**
 * The folder esbuild bundles from (NodejsFunction's `projectRoot`): the folder of the lock file, which
 * holds the handler entries below (NodejsFunction requires the entry and the lock file under it)
 * whichever folder `cdk` or a test runs from.
 */
export const PACKAGE_ROOT: string = dirname(PACKAGE_LOCK_FILE);

/** The Lambda entry point that runs any stage: every stateful operator, DynamoDB. */
export const DEFAULT_HANDLER_ENTRY: string = siblingModule('../functions/stage-handler.ts', import.meta.url);

/** The Lambda entry point of the stages that keep no state and use no table: no DynamoDB, no stateful operator. */
export const STATELESS_HANDLER_ENTRY: string = siblingModule(
  '../functions/stateless-stage-handler.ts',
  import.meta.url,
);

/** The entry point of the stages that use tables and keep no state: DynamoDB, no stateful operator. */
export const TABLE_HANDLER_ENTRY: string = siblingModule('../functions/table-stage-handler.ts', import.meta.url);

/** The entry points of the stateful stages, one per kind: DynamoDB and that kind's operator only. */
export const STATEFUL_HANDLER_ENTRIES: Readonly<Record<StatefulKind, string>> = {
  window: siblingModule('../functions/window-stage-handler.ts', import.meta.url),
  join: siblingModule('../functions/join-stage-handler.ts', import.meta.url),
  process: siblingModule('../functions/process-stage-handler.ts', import.meta.url),
};

/**
 * What stage functions bundle in place of Powertools' tracer when tracing is off
 * (PipelineBundlingOptions.tracing): its calls, recording nothing, without the X-Ray SDK.
 */
export const UNTRACED_TRACER_MODULE: string = siblingModule('../functions/untraced-tracer.ts', import.meta.url);

/** The entry of the scheduled function that marks idle source shards (docs/watermarks.md). */
export const IDLENESS_HANDLER_ENTRY: string = siblingModule('../functions/idleness-handler.ts', import.meta.url);

function findLockFile(from: string): string | undefined {
  for (let folder = from; ; folder = dirname(folder)) {
    const found = LOCK_FILES.map((name) => join(folder, name)).find((file) => existsSync(file));
    if (found !== undefined) return found;
    if (dirname(folder) === folder) return undefined;
  }
}
