import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

/**
 * The package's own name resolves to its sources, as tsconfig.json's `paths` say (tsc, tsx and esbuild
 * read them; Vite does not): one list, read from there.
 */
function packageAliases(): { find: RegExp; replacement: string }[] {
  const tsconfig = JSON.parse(readFileSync(new URL('./tsconfig.json', import.meta.url), 'utf8')) as {
    compilerOptions: { paths: Record<string, [string]> };
  };
  return Object.entries(tsconfig.compilerOptions.paths).map(([name, [target]]) => ({
    find: new RegExp(`^${name.replace('/', '\\/')}$`),
    replacement: fileURLToPath(new URL(target, import.meta.url)),
  }));
}

export default defineConfig({
  resolve: { alias: packageAliases() },
  test: {
    include: ['test/**/*.test.ts'],
    // Integration tests start their own emulators on free ports; 2 cores make more forks slower, not faster.
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
