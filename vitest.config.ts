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
    // Backstops only. Tests fail on lack of progress, not on time: a run fails when nothing moved for
    // EDDY_STALL_LIMIT_SECONDS (the local runner's and the CLI's stall watch), and waits on progress
    // (test/helpers/emulators.ts, waitUntil's `progress`). A loaded machine stretches a run 3-4x.
    testTimeout: 600_000,
    hookTimeout: 300_000,
    env: { EDDY_STALL_LIMIT_SECONDS: '120' },
  },
});
