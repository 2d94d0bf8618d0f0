#!/usr/bin/env node
// Installed, Eddy is compiled JavaScript (dist/): the CLI starts without compiling anything, and only the
// user's pipeline file goes through a TypeScript loader (cli/load-pipeline.ts). In a checkout of Eddy's
// own repository there is no build: the CLI's TypeScript sources run through tsx.
import { existsSync } from 'node:fs';

const sources = new URL('../cli/eddy.ts', import.meta.url);
if (existsSync(sources)) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(sources.href);
} else {
  await import('../dist/cli/eddy.js');
}
