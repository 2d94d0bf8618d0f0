import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll } from 'vitest';
import { cdkJsonContext, REPO_ROOT } from './support.js';

const run = promisify(execFile);
const TSX = join(REPO_ROOT, 'node_modules/.bin/tsx');

const outdirs: string[] = [];
afterAll(() => {
  for (const dir of outdirs) rmSync(dir, { recursive: true, force: true });
});

/**
 * Runs infra/app.ts the way the CDK CLI does (cdk.json's context and the output folder passed in
 * the environment), without bundling: these tests are about how the app loads pipelines and names things.
 */
export async function synthApp(context: Record<string, unknown>): Promise<{ outdir: string }> {
  const outdir = mkdtempSync(join(tmpdir(), 'eddy-app-test-'));
  outdirs.push(outdir);
  await run(TSX, ['infra/app.ts'], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      CDK_OUTDIR: outdir,
      CDK_CONTEXT_JSON: JSON.stringify({ ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [], ...context }),
    },
  });
  return { outdir };
}

/** Stack artifacts are keyed by the stack's id, which app.ts sets to the stack name. */
export function stackNames(outdir: string): string[] {
  const manifest = JSON.parse(readFileSync(join(outdir, 'manifest.json'), 'utf8')) as {
    artifacts: Record<string, { type: string }>;
  };
  return Object.entries(manifest.artifacts)
    .filter(([, artifact]) => artifact.type === 'aws:cloudformation:stack')
    .map(([id]) => id);
}
