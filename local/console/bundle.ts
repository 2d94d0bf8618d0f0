import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

/**
 * The console's page script, bundled with its libraries (preact, htm) by esbuild, once per process:
 * from the TypeScript source in a checkout, from the compiled JavaScript in the installed package
 * (dist/). Nothing is fetched from elsewhere when the page loads.
 */
let bundled: Promise<string> | undefined;

export function consoleScript(): Promise<string> {
  bundled ??= bundle().catch((error: unknown) => {
    bundled = undefined;
    throw error;
  });
  return bundled;
}

async function bundle(): Promise<string> {
  const entry = ['./client/app.ts', './client/app.js']
    .map((file) => fileURLToPath(new URL(file, import.meta.url)))
    .find((file) => existsSync(file));
  if (entry === undefined) throw new Error(`the console's script is missing next to ${fileURLToPath(import.meta.url)}`);
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    target: 'es2020',
    minify: true,
    legalComments: 'none',
    logLevel: 'silent',
  });
  const [output] = result.outputFiles;
  if (output === undefined) throw new Error('esbuild produced no console script');
  return output.text;
}
