import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

/** Whether this module runs from its TypeScript sources, under tsx already (a checkout of Eddy itself). */
const RUNNING_FROM_SOURCES = import.meta.url.endsWith('.ts');

/**
 * Imports a file of the user's (a pipeline, usually TypeScript). Compiled Eddy goes through tsx's loader
 * for this import only, so that the CLI and the CDK app start without compiling anything of Eddy's;
 * what the file imports from the installed `eddy` package is its compiled JavaScript, the same modules
 * the caller uses, so `instanceof Pipeline` holds.
 */
export async function importUserModule(file: string): Promise<Record<string, unknown>> {
  const url = pathToFileURL(resolve(file)).href;
  if (RUNNING_FROM_SOURCES || !/\.[cm]?tsx?$/.test(file)) return (await import(url)) as Record<string, unknown>;
  const { register } = await import('tsx/esm/api');
  const unregister = register();
  try {
    return (await import(url)) as Record<string, unknown>;
  } finally {
    await unregister();
  }
}
