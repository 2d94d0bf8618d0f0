import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { eddyManifest } from '../version.js';
import { scaffoldFiles } from './scaffold.js';

/** Writes a new project into `dir`, which must not exist or be empty; returns the files written. */
export function initProject(dir: string, options: { eddy?: string } = {}): string[] {
  const folder = resolve(dir);
  if (existsSync(folder) && readdirSync(folder).length > 0) {
    throw new Error(`${dir} is not empty: eddy init writes a new project into an empty or new folder`);
  }
  const manifest = eddyManifest();
  const name = packageName(basename(folder));
  const files = scaffoldFiles({ name, eddy: options.eddy ?? `^${manifest.version}`, manifest });
  for (const [path, content] of files) {
    mkdirSync(dirname(join(folder, path)), { recursive: true });
    writeFileSync(join(folder, path), content);
  }
  return [...files.keys()];
}

/** An npm package name from a folder name: lower case, and only the characters npm allows. */
export function packageName(folder: string): string {
  const name = folder
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[._-]+/, '')
    .slice(0, 214);
  return name === '' ? 'eddy-pipeline' : name;
}

export function registerInitCommand(program: Command): void {
  program
    .command('init')
    .description('write a new project: a pipeline, its test, sample data, package.json, tsconfig.json and cdk.json')
    .argument('<dir>', 'the folder to create (new or empty)')
    .option('--eddy <spec>', 'the eddy dependency of its package.json (a version range, a tarball, a git URL)')
    .action((dir: string, options: { eddy?: string }) => {
      const files = initProject(dir, options);
      console.log(`wrote ${files.length} files into ${dir}:\n${files.map((file) => `  ${file}`).join('\n')}`);
      console.log(`\nnext:\n  cd ${dir}\n  npm install\n  npm test\n  npm start`);
    });
}
