import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const REPO_ROOT = new URL('../../', import.meta.url).pathname;
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const manifest = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
  devDependencies: Record<string, string>;
  dependencies: Record<string, string>;
};
// The embedded stack, whatever the developer's shell points the AWS SDK at.
const { AWS_ENDPOINT_URL: _, ...environment } = process.env;
const env = { ...environment, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };

/**
 * Each step has a deadline of its own (packing builds Eddy; installing and each synth bundle with
 * esbuild; all slow on a loaded machine), rather than one for the whole file.
 */
const STEP_MS = 600_000;

/** A user's project outside the repository, with Eddy installed from the tarball `npm pack` made. */
describe('the eddy package, installed into a project of its own', () => {
  const root = mkdtempSync(join(tmpdir(), 'eddy-package-'));
  const project = join(root, 'project');
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  let tarball = '';

  it(
    'packs: compiled JavaScript, declarations and the bin, no TypeScript sources',
    async () => {
      const { stdout } = await run(NPM, ['pack', '--json', '--pack-destination', root], { cwd: REPO_ROOT, env });
      const [packed] = JSON.parse(stdout.slice(stdout.indexOf('['))) as {
        filename: string;
        files: { path: string }[];
      }[];
      if (packed === undefined) throw new Error(`npm pack printed no package: ${stdout}`);
      tarball = join(root, packed.filename);
      const files = packed.files.map((f) => f.path);
      expect(files).toContain('bin/eddy.js');
      expect(files).toContain('dist/shared/index.js');
      expect(files).toContain('dist/shared/index.d.ts');
      expect(files).toContain('dist/infra/index.d.ts');
      expect(files).toContain('dist/testing/index.js');
      expect(files).toContain('dist/functions/stage-handler.js');
      // The console's page script, which the console bundles with preact and htm when first asked for.
      expect(files).toContain('dist/local/console/client/app.js');
      expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
    },
    STEP_MS,
  );

  it(
    'installs from the tarball (dependencies from the npm cache where it has them)',
    async () => {
      mkdirSync(join(project, 'pipelines'), { recursive: true });
      writeFileSync(
        join(project, 'package.json'),
        JSON.stringify({ name: 'eddy-user-project', private: true, type: 'module' }, null, 2),
      );
      await run(
        NPM,
        [
          'install',
          '--prefer-offline',
          '--no-audit',
          '--no-fund',
          tarball,
          `aws-cdk@${manifest.devDependencies['aws-cdk']}`,
          `zod@${manifest.dependencies.zod}`,
        ],
        { cwd: project, env },
      );
      const installed = JSON.parse(readFileSync(join(project, 'node_modules/eddy/package.json'), 'utf8'));
      expect(installed.name).toBe('eddy');
    },
    STEP_MS,
  );

  it(
    'runs a pipeline that imports from eddy with eddy run',
    async () => {
      writeFileSync(
        join(project, 'pipelines/clicks.ts'),
        [
          "import { count, pipeline, tumbling } from 'eddy';",
          "import * as z from 'zod';",
          '',
          'const Click = z.object({ page: z.string(), ts: z.number() });',
          '',
          "export default pipeline('user-clicks')",
          "  .source('clicks', { schema: Click, eventTime: (c) => c.ts })",
          '  .keyBy((c) => c.page)',
          "  .window(tumbling('1m'))",
          '  .aggregate(count())',
          "  .sink('click-counts');",
          '',
        ].join('\n'),
      );
      const minute = Date.UTC(2026, 0, 1);
      const clicks = ['/a', '/b', '/a', '/a', '/b'].map((page, i) => JSON.stringify({ page, ts: minute + i * 1000 }));
      writeFileSync(join(project, 'clicks.jsonl'), `${clicks.join('\n')}\n`);

      const { stdout, stderr } = await run(
        join(project, 'node_modules/.bin/eddy'),
        ['run', 'pipelines/clicks.ts', '-i', 'clicks=clicks.jsonl', '-o', 'click-counts=counts.jsonl', '--no-progress'],
        { cwd: project, env },
      );

      expect(stdout).toContain('sink click-counts: 2 records');
      const counts = readFileSync(join(project, 'counts.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as { key: string; value: number });
      expect(Object.fromEntries(counts.map((c) => [c.key, c.value]))).toEqual({ '/a': 3, '/b': 2 });
      expect(stderr).not.toMatch(/NodeVersionSupport|AWS SDK for JavaScript/);
    },
    STEP_MS,
  );

  it(
    'synthesizes the pipeline with eddy synth, bundling the stage functions from the installed package',
    async () => {
      await run(
        join(project, 'node_modules/.bin/eddy'),
        ['synth', 'pipelines/clicks.ts', '--stage', 'ci', '--', '-o', 'eddy.out', '--quiet'],
        { cwd: project, env },
      );
      const template = readFileSync(join(project, 'eddy.out/Eddy-ci-user-clicks.template.json'), 'utf8');
      expect(template).toContain('"Name": "ci_user-clicks-clicks"');
      const bundles = readdirSync(join(project, 'eddy.out')).filter((f) => f.startsWith('asset.'));
      expect(bundles.some((asset) => readdirSync(join(project, 'eddy.out', asset)).includes('index.mjs'))).toBe(true);
    },
    STEP_MS,
  );

  it(
    "synthesizes with plain cdk synth from a cdk.json whose app is 'npx eddy cdk-app'",
    async () => {
      writeFileSync(
        join(project, 'cdk.json'),
        JSON.stringify({ app: 'npx eddy cdk-app', context: { pipeline: 'pipelines/clicks.ts' } }, null, 2),
      );

      await run(
        join(project, 'node_modules/.bin/cdk'),
        ['synth', '--no-notices', '--quiet', '-c', 'stage=prod', '-o', 'cdk-json.out'],
        { cwd: project, env },
      );

      const template = readFileSync(join(project, 'cdk-json.out/Eddy-prod-user-clicks.template.json'), 'utf8');
      expect(template).toContain('"Name": "prod_user-clicks-clicks"');
    },
    STEP_MS,
  );

  it(
    "synthesizes the user's own CDK app, with EddyPipeline from eddy/cdk beside its own constructs, with plain cdk synth",
    async () => {
      writeFileSync(
        join(project, 'app.ts'),
        [
          "import { App, Stack } from 'aws-cdk-lib';",
          "import * as sqs from 'aws-cdk-lib/aws-sqs';",
          "import { EddyPipeline } from 'eddy/cdk';",
          "import clicks from './pipelines/clicks.js';",
          '',
          'const app = new App();',
          "const stack = new Stack(app, 'Analytics');",
          "new sqs.Queue(stack, 'Theirs');",
          "new EddyPipeline(stack, 'Clicks', {",
          '  pipeline: clicks,',
          "  pipelineEntry: 'pipelines/clicks.ts',",
          "  stage: 'prod',",
          '});',
          '',
        ].join('\n'),
      );
      writeFileSync(join(project, 'cdk.json'), JSON.stringify({ app: 'npx tsx app.ts' }, null, 2));

      await run(join(project, 'node_modules/.bin/cdk'), ['synth', '--no-notices', '--quiet', '-o', 'app.out'], {
        cwd: project,
        env,
      });

      const template = readFileSync(join(project, 'app.out/Analytics.template.json'), 'utf8');
      expect(template).toContain('"Name": "prod_user-clicks-click-counts"');
      expect(template).toContain('"AWS::Lambda::Function"');
    },
    STEP_MS,
  );

  // eddy init, from the installed package: a project whose own tests, run and synth work as generated.
  const scaffold = join(root, 'scaffold');

  it(
    'eddy init writes a project that installs with Eddy from the tarball',
    async () => {
      const { stdout } = await run(
        join(project, 'node_modules/.bin/eddy'),
        ['init', scaffold, '--eddy', `file:${tarball}`],
        { cwd: root, env },
      );
      expect(stdout).toContain('pipelines/page-view-counts.ts');
      await run(NPM, ['install', '--prefer-offline', '--no-audit', '--no-fund'], { cwd: scaffold, env });
      await expect(
        run(join(project, 'node_modules/.bin/eddy'), ['init', scaffold], { cwd: root, env }),
      ).rejects.toThrow(/not empty/);
    },
    STEP_MS,
  );

  it(
    "the scaffold's tests pass as generated (npm test: the test driver, in memory)",
    async () => {
      const { stdout } = await run(NPM, ['test'], { cwd: scaffold, env });
      expect(stdout).toMatch(/2 passed/);
    },
    STEP_MS,
  );

  it(
    'the scaffold runs on its sample data (npm start: eddy run) and synthesizes (eddy synth)',
    async () => {
      const { stdout } = await run(NPM, ['start', '--', '--no-progress'], { cwd: scaffold, env });
      expect(stdout).toMatch(/dead-lettered 1 \(all stages\)/);
      const lines = (file: string) => readFileSync(join(scaffold, file), 'utf8').split('\n').filter(Boolean);
      // The batch answer over the sample: views per page and minute (nothing in it is late).
      const expected = new Map<string, number>();
      for (const line of lines('data/clicks.jsonl')) {
        let click: { page: string; kind: string; ts: number };
        try {
          click = JSON.parse(line);
        } catch {
          continue;
        }
        if (click.kind !== 'view') continue;
        const window = `${click.page} ${click.ts - (click.ts % 60_000)}`;
        expected.set(window, (expected.get(window) ?? 0) + 1);
      }
      const counts = lines('out/page-view-counts.jsonl').map(
        (line) => JSON.parse(line) as { key: string; windowStart: number; value: number },
      );
      expect(new Map(counts.map((c) => [`${c.key} ${c.windowStart}`, c.value]))).toEqual(expected);
      expect(expected.size).toBeGreaterThan(15);
      expect(lines('out/late-clicks.jsonl')).toEqual([]);

      await run(
        join(scaffold, 'node_modules/.bin/eddy'),
        ['synth', 'pipelines/page-view-counts.ts', '--', '-o', 'synth.out', '--quiet'],
        { cwd: scaffold, env },
      );
      expect(readdirSync(join(scaffold, 'synth.out')).some((f) => f.endsWith('.template.json'))).toBe(true);
    },
    STEP_MS,
  );
});
