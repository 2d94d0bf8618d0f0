import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { cdkJsonContext, REPO_ROOT } from './support.js';

const run = promisify(execFile);
const TSX = join(REPO_ROOT, 'node_modules/.bin/tsx');

/**
 * Runs infra/app.ts the way the CDK CLI does (cdk.json's context and the output folder passed in
 * the environment), without bundling: these tests are about how the app loads pipelines.
 */
async function synthApp(context: Record<string, unknown>): Promise<{ outdir: string }> {
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
const outdirs: string[] = [];
afterAll(() => {
  for (const dir of outdirs) rmSync(dir, { recursive: true, force: true });
});

/** Stack artifacts are keyed by the stack's id, which app.ts sets to the stack name. */
function stackNames(outdir: string): string[] {
  const manifest = JSON.parse(readFileSync(join(outdir, 'manifest.json'), 'utf8')) as {
    artifacts: Record<string, { type: string }>;
  };
  return Object.entries(manifest.artifacts)
    .filter(([, artifact]) => artifact.type === 'aws:cloudformation:stack')
    .map(([id]) => id);
}

describe('infra/app.ts', () => {
  it('deploys examples/page-views.ts by default, naming the stack after the prefix and the pipeline', async () => {
    const { outdir } = await synthApp({ prefix: 'dev_' });
    expect(stackNames(outdir)).toEqual(['Eddy-dev-page-views']);
    const template = readFileSync(join(outdir, 'Eddy-dev-page-views.template.json'), 'utf8');
    expect(template).toContain('"Name": "dev_page-views-by-page"');
  });

  it('loads the pipeline file given as context', async () => {
    const { outdir } = await synthApp({ pipeline: 'test/infra/fixtures/fan-out-pipeline.ts' });
    expect(stackNames(outdir)).toEqual(['Eddy-shop']);
    const template = readFileSync(join(outdir, 'Eddy-shop.template.json'), 'utf8');
    expect(template).toContain('"Name": "refunds-by-order"');
  });

  it('deploys the windowed example with its state table and late-output stream', async () => {
    const { outdir } = await synthApp({ pipeline: 'examples/page-view-counts.ts', prefix: 'dev-' });
    expect(stackNames(outdir)).toEqual(['Eddy-dev-page-view-counts']);
    const template = readFileSync(join(outdir, 'Eddy-dev-page-view-counts.template.json'), 'utf8');
    expect(template).toContain('"Type": "AWS::DynamoDB::GlobalTable"');
    expect(template).toContain('"TableName": "dev-page-view-counts-state"');
    expect(template).toContain('"Name": "dev-late-clicks"');
  });

  it('refuses a file whose default export is not a pipeline, naming the file', async () => {
    await expect(synthApp({ pipeline: 'test/infra/fixtures/not-a-pipeline.ts' })).rejects.toThrow(
      /test\/infra\/fixtures\/not-a-pipeline\.ts must default-export a pipeline .* but its default export is object/,
    );
  });
});
