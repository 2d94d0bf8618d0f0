import { fileURLToPath } from 'node:url';

/**
 * The root of the Eddy package (the folder of its package.json), found from this file rather than
 * from `process.cwd()` so that bundling works whichever folder `cdk` or a test runs from.
 */
export const PACKAGE_ROOT: string = fileURLToPath(new URL('..', import.meta.url));

/** The lock file esbuild's bundling step uses to find the project's dependencies. */
export const PACKAGE_LOCK_FILE: string = fileURLToPath(new URL('../package-lock.json', import.meta.url));

/** The Lambda entry point of the stages that keep state or use tables (with DynamoDB in its bundle). */
export const DEFAULT_HANDLER_ENTRY: string = fileURLToPath(new URL('../functions/stage-handler.ts', import.meta.url));

/** The Lambda entry point of the other stages: the same handler, without DynamoDB. */
export const STATELESS_HANDLER_ENTRY: string = fileURLToPath(
  new URL('../functions/stateless-stage-handler.ts', import.meta.url),
);

/** The entry of the scheduled function that marks idle source shards (docs/watermarks.md). */
export const IDLENESS_HANDLER_ENTRY: string = fileURLToPath(
  new URL('../functions/idleness-handler.ts', import.meta.url),
);
