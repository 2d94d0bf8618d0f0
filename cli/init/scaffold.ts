import type { EddyManifest } from '../version.js';
import { sampleClicks } from './sample-clicks.js';

export interface ScaffoldOptions {
  /** The project's package name. */
  readonly name: string;
  /** What the project's package.json depends on for Eddy: a version range, a tarball path, a git URL. */
  readonly eddy: string;
  /** Eddy's own manifest: the versions of zod, the CDK CLI, TypeScript and vitest Eddy is tested with. */
  readonly manifest: EddyManifest;
}

const PIPELINE = 'pipelines/page-view-counts.ts';

/** The files of a new project, by path relative to its folder. */
export function scaffoldFiles(options: ScaffoldOptions): Map<string, string> {
  const { manifest } = options;
  const pinned = (name: string): string => {
    const version = manifest.dependencies[name] ?? manifest.devDependencies?.[name];
    if (version === undefined) throw new Error(`Eddy's package.json does not pin ${name}`);
    return version;
  };
  const run =
    `eddy run ${PIPELINE} -i clicks=data/clicks.jsonl ` +
    '-o page-view-counts=out/page-view-counts.jsonl -o late-clicks=out/late-clicks.jsonl';
  const files = new Map<string, string>();
  files.set(
    'package.json',
    json({
      name: options.name,
      version: '0.1.0',
      private: true,
      type: 'module',
      scripts: {
        test: 'vitest run',
        start: run,
        synth: `eddy synth ${PIPELINE}`,
        deploy: `eddy deploy ${PIPELINE} --stage dev`,
      },
      dependencies: { eddy: options.eddy, zod: pinned('zod') },
      devDependencies: {
        '@types/node': pinned('@types/node'),
        'aws-cdk': pinned('aws-cdk'),
        typescript: pinned('typescript'),
        vitest: pinned('vitest'),
      },
    }),
  );
  files.set(
    'tsconfig.json',
    json({
      compilerOptions: {
        target: 'ES2022',
        module: 'ESNext',
        moduleResolution: 'Bundler',
        strict: true,
        noEmit: true,
        skipLibCheck: true,
        types: ['node'],
      },
      include: ['pipelines', 'test'],
    }),
  );
  // Plain `npx cdk synth|deploy` works too: the app is Eddy's, the pipeline its context.
  files.set('cdk.json', json({ app: 'npx eddy cdk-app', context: { pipeline: PIPELINE } }));
  files.set('.gitignore', ['node_modules/', 'out/', 'cdk.out/', '.eddy/', ''].join('\n'));
  files.set(PIPELINE, PIPELINE_SOURCE);
  files.set('test/page-view-counts.test.ts', TEST_SOURCE);
  files.set('data/clicks.jsonl', `${sampleClicks().join('\n')}\n`);
  files.set('README.md', readme(options.name, run));
  return files;
}

function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

const PIPELINE_SOURCE = `import { count, pipeline, tumbling } from 'eddy';
import * as z from 'zod';

export const Click = z.object({ user: z.string(), page: z.string(), kind: z.string(), ts: z.number() });
export type Click = z.infer<typeof Click>;

/** Views per page per minute, in event time; clicks more than 30 s late for their minute go to late-clicks. */
export default pipeline('page-view-counts')
  .source('clicks', { schema: Click, eventTime: (c) => c.ts, maxOutOfOrderness: '5s' })
  .filter((c) => c.kind === 'view')
  .keyBy((c) => c.page)
  .window(tumbling('1m'), { allowedLateness: '30s', lateOutput: 'late-clicks' })
  .aggregate(count())
  .sink('page-view-counts');
`;

const TEST_SOURCE = `import { PipelineTestDriver } from 'eddy/testing';
import { expect, it } from 'vitest';
import pageViewCounts, { type Click } from '../pipelines/page-view-counts.js';

const minute = Date.UTC(2026, 0, 1);

it('counts views per page per minute, once the watermark has passed the minute', async () => {
  const driver = new PipelineTestDriver(pageViewCounts);
  const clicks = driver.input<Click>('clicks');
  const counts = driver.output<{ key: string; windowStart: number; value: number }>('page-view-counts');

  await clicks.pipeAll([
    { user: 'u1', page: '/home', kind: 'view', ts: minute + 1_000 },
    { user: 'u2', page: '/home', kind: 'view', ts: minute + 2_000 },
    { user: 'u3', page: '/home', kind: 'scroll', ts: minute + 3_000 },
  ]);
  expect(counts.isEmpty()).toBe(true); // the minute is still open

  await driver.advanceWatermark('clicks', minute + 90_000); // past the minute and 30 s of allowed lateness
  expect(counts.readValue()).toMatchObject({ key: '/home', windowStart: minute, value: 2 });
});

it('sends a click too late for its minute to late-clicks, and a line that is not JSON to the dead letters', async () => {
  const driver = new PipelineTestDriver(pageViewCounts);
  const clicks = driver.input<Click>('clicks');
  await driver.advanceWatermark('clicks', minute + 90_000);

  await clicks.pipe({ user: 'u4', page: '/home', kind: 'view', ts: minute + 4_000 });
  expect(driver.lateOutput('late-clicks').readValue()).toMatchObject({ time: minute + 4_000 });

  await clicks.pipeRaw(['{not json']);
  expect(driver.deadLetters().readValue().error.reason).toBe('malformed-json');
});
`;

function readme(name: string, run: string): string {
  return `# ${name}

A stream processing pipeline on [Eddy](https://github.com/): Kinesis, Lambda and DynamoDB, with
event time, windows and exactly-once state, and no cluster.

- \`${PIPELINE}\`: views per page per minute, in event time, late clicks to a side output.
- \`test/page-view-counts.test.ts\`: its tests, in memory with Eddy's test driver (no emulator).
- \`data/clicks.jsonl\`: sample clicks (one line not JSON, to show a dead letter).

## Commands

\`\`\`sh
npm install
npm test                      # the pipeline's tests, in memory, in milliseconds
npm start                     # the pipeline over data/clicks.jsonl on the embedded Kinesis, DynamoDB and Lambda
npm run synth                 # its CloudFormation template (cdk synth)
npm run deploy                # deploy to the AWS account and region of your environment, stage dev
\`\`\`

\`npm start\` runs \`${run}\`: results in \`out/page-view-counts.jsonl\`, clicks too late for their
minute in \`out/late-clicks.jsonl\` (none in the sample), and the dead letter printed with its file and
line.
`;
}
