import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const runtime = join(root, 'shared/runtime');

/**
 * The folders of pure semantics (docs/architecture.md): the DAG model, the DSL, operators, windows,
 * joins, process functions, tables, utilities. They run unchanged in Lambda, the local stack and
 * property tests, so they may not reach into the runtime or talk to AWS.
 */
const PURE_FOLDERS = ['dag', 'dsl', 'joins', 'operators', 'process', 'tables', 'util', 'windows'];

/** Packages only the runtime's I/O edges may use. */
const AWS_PACKAGE = /^(@aws-sdk\/|aws-sdk$|@aws-lambda-powertools\/|@smithy\/)/;

/** Every module specifier a TypeScript file names: static imports and re-exports, dynamic imports. */
function importsOf(source: string): string[] {
  const specifiers: string[] = [];
  const patterns = [
    /\b(?:import|export)\s[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]/g,
    /\bimport\s*['"]([^'"]+)['"]/g,
    /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  for (const pattern of patterns) {
    for (const match of source.matchAll(pattern)) specifiers.push(match[1] as string);
  }
  return specifiers;
}

function typeScriptFiles(folder: string): string[] {
  return readdirSync(folder, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => join(entry.parentPath, entry.name));
}

/** What a file imports that a pure folder must not: `<file>: <specifier>` for each. */
function forbiddenImports(file: string, source: string): string[] {
  return importsOf(source)
    .filter((specifier) => {
      if (AWS_PACKAGE.test(specifier)) return true;
      if (!specifier.startsWith('.')) return false;
      const target = resolve(dirname(file), specifier);
      return target === runtime || target.startsWith(`${runtime}/`);
    })
    .map((specifier) => `${relative(root, file)}: ${specifier}`);
}

describe('architecture: pure semantics do not depend on the runtime', () => {
  it('finds the imports a file names, static, re-exported and dynamic', () => {
    const source = [
      "import type { A } from '../runtime/a.js';",
      "import {\n  B,\n  type C,\n} from '../windows/b.js';",
      "export { D } from './d.js';",
      "import '@aws-sdk/client-dynamodb';",
      "const e = await import('../runtime/e.js');",
    ].join('\n');
    expect(importsOf(source)).toEqual([
      '../runtime/a.js',
      '../windows/b.js',
      './d.js',
      '@aws-sdk/client-dynamodb',
      '../runtime/e.js',
    ]);
    const file = join(root, 'shared/operators/example.ts');
    expect(forbiddenImports(file, source)).toEqual([
      'shared/operators/example.ts: ../runtime/a.js',
      'shared/operators/example.ts: @aws-sdk/client-dynamodb',
      'shared/operators/example.ts: ../runtime/e.js',
    ]);
  });

  it.each(PURE_FOLDERS)('shared/%s imports neither shared/runtime nor an AWS SDK', (folder) => {
    const files = typeScriptFiles(join(root, 'shared', folder));
    expect(files.length).toBeGreaterThan(0);
    const forbidden = files.flatMap((file) => forbiddenImports(file, readFileSync(file, 'utf8')));
    expect(forbidden).toEqual([]);
  });
});
