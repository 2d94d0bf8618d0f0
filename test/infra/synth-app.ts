import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { afterAll } from 'vitest';
import { addPipelineStack } from '../../infra/pipeline-app.js';
import { cdkJsonContext } from './support.js';

const outdirs: string[] = [];
afterAll(() => {
  for (const dir of outdirs) rmSync(dir, { recursive: true, force: true });
});

/**
 * Builds and synthesizes what infra/app.ts does, with cdk.json's context and the given one, in this
 * process and without bundling: these tests are about how the app loads pipelines and names things.
 * Each call used to start the app's own process, which loaded aws-cdk-lib afresh (about 10 s of CPU);
 * the entry itself, an App that reads its context from the CDK CLI's environment, is run by
 * test/package/package.test.ts through `eddy synth` and `cdk synth`.
 */
export async function synthApp(context: Record<string, unknown>): Promise<{ outdir: string }> {
  const outdir = mkdtempSync(join(tmpdir(), 'eddy-app-test-'));
  outdirs.push(outdir);
  const app = new App({
    outdir,
    context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [], ...context },
  });
  await addPipelineStack(app);
  app.synth();
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
