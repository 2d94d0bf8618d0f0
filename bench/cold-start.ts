/**
 * Bundle size and module init time of every Lambda function Eddy deploys.
 *
 * Each function is built with the esbuild options the CDK construct gives NodejsFunction
 * (`pipelineBundling` of infra/stage-function.ts, translated flag by flag the way aws-cdk-lib 2.276's
 * bundler passes them to the esbuild CLI: see {@link esbuildOptionsOf}), so the sizes are those of the
 * `index.mjs` assets `cdk synth` writes (`--verify-synth` runs `cdk synth` and compares). The metafile
 * gives the biggest inputs of each bundle.
 *
 * Module init: a fresh `node` process per measurement imports the bundle with the function's
 * environment (the variables infra/stage-function.ts sets, and the ones Lambda sets; with
 * `--source-maps`, `NODE_OPTIONS=--enable-source-maps` as `sourceMapStackTraces: true` deploys them),
 * median of `--runs`, the variants interleaved round by round.
 * Beside it, in the same run and built with the same options: an empty handler that imports and
 * constructs the AWS SDK clients the stage uses during init (Kinesis; DynamoDB and its document
 * client for a stateful stage; the SSM and SQS clients are imported later, on first use), and one
 * that imports nothing. Everything is also built and timed with `tracing: false` (EddyPipelineProps.tracing:
 * no X-Ray SDK in the stage bundles, nor in the Powertools baseline); with `tracing: false` and the
 * entry points as they were before one per stage kind (every stateful operator in every stage's
 * bundle), to measure that lever on its own; and lean, `awsSdk: 'runtime'` with `tracing: false`,
 * beside baselines that load the same clients from node_modules. Unless `--no-compare`, everything is also built and timed with the other two
 * `awsSdk` settings (infra/stage-function.ts, AwsSdkSource): `'bundle'` (all of the SDK in the
 * bundle) and `'runtime'` (none of it), the baselines each built the same way.
 *
 * Node here is 20; Lambda runs 22. The SDK modules left out of a bundle are resolved from this
 * repository's node_modules, standing in for the runtime's /var/runtime/node_modules.
 *
 *   npx tsx bench/cold-start.ts [--runs 15] [--pipeline examples/page-views.ts]... [--no-compare] [--verify-synth] [--source-maps]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as esbuild from 'esbuild';
import { handlerEntryOf } from '../infra/eddy-pipeline.js';
import {
  DEFAULT_HANDLER_ENTRY,
  IDLENESS_HANDLER_ENTRY,
  PACKAGE_ROOT,
  STATEFUL_HANDLER_ENTRIES,
  STATELESS_HANDLER_ENTRY,
  TABLE_HANDLER_ENTRY,
} from '../infra/paths.js';
import { pipelineBundling, sourceMapOptions } from '../infra/stage-function.js';
import type { Pipeline } from '../shared/dsl/pipeline.js';
import { processingTimeInputs } from '../shared/runtime/idleness.js';
import { type BenchOptions, type BenchRow, formatTable, isMain, median } from './results.js';

/** The pipelines whose functions are measured: the examples, and fixtures with secrets, a queue, idle shards and clock ticks. */
export const DEFAULT_PIPELINES: readonly string[] = [
  'examples/page-views.ts',
  'examples/page-view-counts.ts',
  'examples/orders-payments.ts',
  'test/infra/fixtures/tokenized-pipeline.ts',
  'test/infra/fixtures/dead-letter-queue-pipeline.ts',
  'test/infra/fixtures/idle-pipeline.ts',
];

/** The issue's targets. */
export const TARGET_BUNDLE_KB = 300;
export const TARGET_INIT_RATIO = 2;
/** The variants held to the targets: the default, and the levers a user can pick (`tracing: false`, `lean`). */
const TARGETED_VARIANTS = new Set(['deployed', 'untraced', 'lean']);
const TARGETED_LABELS = new Set(['as deployed', 'tracing off', 'lean']);

/**
 * NodejsFunction's externals when `externalModules` is not given, for nodejs18.x and later, with the
 * feature flag `@aws-cdk/aws-lambda-nodejs:sdkV3ExcludeSmithyPackages` (set in cdk.json). Eddy always
 * gives them; this is for other bundling options.
 */
const CDK_DEFAULT_EXTERNALS = ['@aws-sdk/*', '@smithy/*'];

const OUT_DIR = join(PACKAGE_ROOT, '.eddy/bench/cold-start');

/**
 * The esbuild build options equivalent to a NodejsFunction's BundlingOptions: the CLI flags
 * aws-cdk-lib's bundler derives (`--bundle <entry> --target --platform=node --format --outfile
 * --minify --sourcemap --sources-content --external:* --banner:js --main-fields` and the
 * `esbuildArgs`), as build options. Options this function does not translate make it throw, so that
 * the benchmark never measures something other than what `cdk synth` builds.
 */
export function esbuildOptionsOf(
  bundling: nodejs.BundlingOptions,
  entry: string,
  outfile: string,
): esbuild.BuildOptions & { metafile: true } {
  const translated = new Set([
    'format',
    'target',
    'minify',
    'sourceMap',
    'sourcesContent',
    'mainFields',
    'banner',
    'externalModules',
    'esbuildArgs',
  ]);
  const untranslated = Object.keys(bundling).filter(
    (key) => !translated.has(key) && bundling[key as keyof nodejs.BundlingOptions] !== undefined,
  );
  if (untranslated.length > 0) throw new Error(`bench/cold-start.ts does not translate ${untranslated.join(', ')}`);
  const alias: Record<string, string> = {};
  for (const [flag, value] of Object.entries(bundling.esbuildArgs ?? {})) {
    const match = /^--alias:(.+)$/.exec(flag);
    if (match?.[1] === undefined || typeof value !== 'string') {
      throw new Error(`bench/cold-start.ts does not translate the esbuild argument ${flag}`);
    }
    alias[match[1]] = value;
  }
  return {
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    outfile,
    target: bundling.target ?? 'node22',
    format: bundling.format === 'cjs' ? 'cjs' : 'esm',
    minify: bundling.minify ?? false,
    sourcemap: bundling.sourceMap ?? false,
    sourcesContent: bundling.sourcesContent ?? true,
    external: [...(bundling.externalModules ?? CDK_DEFAULT_EXTERNALS)],
    ...(bundling.mainFields !== undefined && { mainFields: bundling.mainFields }),
    ...(bundling.banner !== undefined && { banner: { js: bundling.banner } }),
    alias,
    metafile: true,
    logLevel: 'silent',
  };
}

/** How one variant of every function is built. */
interface BuildMode {
  readonly label: string;
  readonly variant: string;
  readonly bundling: (pipelineEntry: string) => nodejs.BundlingOptions;
  /** The entry point built instead of the one infra picks. @default infra's */
  readonly entryOf?: (entry: string) => string;
}

/**
 * The entry points as they were before one per stage kind: a stateless stage's without DynamoDB but
 * with every stateful operator (written into `dir`: no such entry ships), every other stage's
 * functions/stage-handler.ts.
 */
function everyKindEntriesIn(dir: string): (entry: string) => string {
  const stateless = join(dir, 'every-kind-stateless-stage-handler.ts');
  writeFileSync(
    stateless,
    "import pipeline from '@eddy/user-pipeline';\n" +
      `import { createLambdaStageHandler } from '${join(PACKAGE_ROOT, 'shared/runtime/lambda-handler.js')}';\n` +
      'export const handler = createLambdaStageHandler(pipeline);\n',
  );
  return (entry) =>
    entry === STATELESS_HANDLER_ENTRY ? stateless : entry === IDLENESS_HANDLER_ENTRY ? entry : DEFAULT_HANDLER_ENTRY;
}

/** Which AWS SDK clients a function constructs: the empty handler it is compared with constructs the same. */
type Client = 'kinesis' | 'dynamodb' | 'powertools';

const CLIENT_IMPORTS: Record<Client, string> = {
  kinesis: "import { KinesisClient } from '@aws-sdk/client-kinesis';\nexport const kinesis = new KinesisClient({});",
  dynamodb:
    "import { DynamoDBClient } from '@aws-sdk/client-dynamodb';\nimport { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';\n" +
    'export const dynamodb = DynamoDBDocumentClient.from(new DynamoDBClient({}));',
  // Not a client: Powertools as the stage handler sets it up (the X-Ray SDK alone is about 30 ms of init).
  powertools:
    "import { Logger } from '@aws-lambda-powertools/logger';\nimport { Metrics } from '@aws-lambda-powertools/metrics';\n" +
    "import { Tracer } from '@aws-lambda-powertools/tracer';\nexport const logger = new Logger();\n" +
    "export const metrics = new Metrics({ namespace: 'Eddy' });\nexport const tracer = new Tracer();",
};

interface Bundle {
  readonly name: string;
  readonly file: string;
  readonly bytes: number;
  readonly mapBytes: number;
  /** Bytes in the output by package (node_modules) or folder (this repository), biggest first. */
  readonly inputs: readonly [string, number][];
}

async function build(name: string, bundling: nodejs.BundlingOptions, entry: string, variant: string): Promise<Bundle> {
  const dir = join(OUT_DIR, variant, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const outfile = join(dir, 'index.mjs');
  const result = await esbuild.build(esbuildOptionsOf(bundling, entry, outfile));
  const output = Object.values(result.metafile.outputs).find((o) => o.entryPoint !== undefined);
  if (output === undefined) throw new Error(`esbuild wrote no entry point for ${name}`);
  const byGroup = new Map<string, number>();
  for (const [path, input] of Object.entries(output.inputs)) {
    const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path)?.[1];
    const group =
      pkg ??
      path
        .split('/')
        .slice(0, path.startsWith('shared/') ? 2 : 1)
        .join('/');
    byGroup.set(group, (byGroup.get(group) ?? 0) + input.bytesInOutput);
  }
  return {
    name,
    file: outfile,
    bytes: statSync(outfile).size,
    mapBytes: statSync(`${outfile}.map`, { throwIfNoEntry: false })?.size ?? 0,
    inputs: [...byGroup].sort((a, b) => b[1] - a[1]),
  };
}

/** The environment Lambda and infra/stage-function.ts give a function; nothing it sends leaves the machine. */
function lambdaEnvironment(
  functionName: string,
  own: Record<string, string>,
  sourceMapStackTraces: boolean,
): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    AWS_REGION: 'us-east-1',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'AKIDCOLDSTART',
    AWS_SECRET_ACCESS_KEY: 'cold-start-bench',
    AWS_SESSION_TOKEN: 'cold-start-bench',
    AWS_LAMBDA_FUNCTION_NAME: functionName,
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '1024',
    AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
    AWS_XRAY_CONTEXT_MISSING: 'LOG_ERROR',
    AWS_XRAY_DAEMON_ADDRESS: '127.0.0.1:2000',
    // A secret load started during init fails at once instead of reaching AWS.
    AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
    ...sourceMapOptions(sourceMapStackTraces),
    ...own,
  };
}

interface Variant {
  readonly name: string;
  readonly bundle: Bundle;
  readonly env: NodeJS.ProcessEnv;
  readonly samples: number[];
}

const LOADER = `const started = performance.now();
await import(process.argv[2]);
process.stdout.write(JSON.stringify({ initMs: performance.now() - started }));
process.exit(0);
`;

function measureOnce(loader: string, variant: Variant): number {
  const child = spawnSync(process.execPath, [loader, variant.bundle.file], {
    env: variant.env,
    encoding: 'utf8',
    timeout: 60_000,
  });
  const line = child.stdout.trim().split('\n').at(-1) ?? '';
  if (child.status !== 0 || !line.startsWith('{')) {
    throw new Error(`${variant.name}: the bundle did not load (exit ${child.status}): ${child.stderr.slice(0, 2000)}`);
  }
  return (JSON.parse(line) as { initMs: number }).initMs;
}

interface FunctionCase {
  readonly pipelineFile: string;
  readonly pipeline: Pipeline;
  readonly kind: 'stage' | 'idleness';
  /** The function's entry point, as infra/eddy-pipeline.ts picks it. */
  readonly entry: string;
  readonly stageId?: string;
  readonly clients: readonly Client[];
  readonly env: Record<string, string>;
}

async function loadPipeline(file: string): Promise<Pipeline> {
  const module = (await import(resolve(PACKAGE_ROOT, file))) as { default: Pipeline };
  return module.default;
}

function casesOf(pipelineFile: string, pipeline: Pipeline): FunctionCase[] {
  const plan = pipeline.plan();
  const cases: FunctionCase[] = plan.stages.map((stage) => {
    // The clients the stage constructs during init. The SSM client (secrets) and the SQS client (dead
    // letters to a queue) are imported dynamically, after the module's evaluation: their load is paid
    // by the first secret read or dead letter, not by init, so the baseline leaves them out too.
    const entry = handlerEntryOf(pipeline.graph, stage);
    const clients: Client[] = ['kinesis'];
    if (entry !== STATELESS_HANDLER_ENTRY) clients.push('dynamodb');
    return {
      pipelineFile,
      pipeline,
      kind: 'stage',
      entry,
      stageId: stage.id,
      clients,
      env: {
        // As infra/stage-function.ts and infra/eddy-pipeline.ts set them.
        ...(stage.stateful && { EDDY_STATE_TABLE: `${plan.stateTable ?? 'state'}` }),
        ...(plan.deadLetter.kind === 'queue' && {
          EDDY_DEAD_LETTER_QUEUE_URL: `https://sqs.us-east-1.amazonaws.com/123456789012/${plan.deadLetter.name}`,
        }),
        EDDY_STAGE_ID: stage.id,
        EDDY_STREAM_PREFIX: '',
        POWERTOOLS_SERVICE_NAME: plan.pipeline,
        POWERTOOLS_METRICS_NAMESPACE: 'Eddy',
        POWERTOOLS_LOG_LEVEL: 'INFO',
      },
    };
  });
  const idle = plan.stages.some((stage) => stage.idleTimeout !== undefined);
  if (idle || processingTimeInputs(pipeline).length > 0) {
    cases.push({
      pipelineFile,
      pipeline,
      kind: 'idleness',
      entry: IDLENESS_HANDLER_ENTRY,
      clients: ['kinesis'],
      // As infra/idleness-function.ts sets them.
      env: { EDDY_STREAM_PREFIX: '', POWERTOOLS_SERVICE_NAME: plan.pipeline, POWERTOOLS_LOG_LEVEL: 'INFO' },
    });
  }
  return cases;
}

export interface ColdStartOptions extends BenchOptions {
  /** Processes per variant. @default 15 (31 at scale full) */
  readonly runs?: number;
  /** Pipeline files, relative to the repository. @default DEFAULT_PIPELINES */
  readonly pipelines?: readonly string[];
  /** Also build and time everything with `awsSdk: 'bundle'` and `'runtime'`. @default true */
  readonly compare?: boolean;
  /** Every function and baseline with `NODE_OPTIONS=--enable-source-maps` (EddyPipelineProps.sourceMapStackTraces). */
  readonly sourceMaps?: boolean;
  /** Print each bundle's biggest inputs. @default true */
  readonly breakdown?: boolean;
  readonly log?: (line: string) => void;
}

export async function run(options: ColdStartOptions = {}): Promise<BenchRow[]> {
  const sourceMaps = options.sourceMaps ?? false;
  const log = options.log ?? ((line: string) => console.log(line));
  const runs = options.runs ?? (options.scale === 'full' ? 31 : 15);
  const pipelineFiles = options.pipelines ?? DEFAULT_PIPELINES;
  const srcDir = join(OUT_DIR, 'src');
  mkdirSync(srcDir, { recursive: true });
  const everyKindEntries = everyKindEntriesIn(srcDir);
  const sdkModes: BuildMode[] = [
    { label: 'as deployed', variant: 'deployed', bundling: (entry) => pipelineBundling(entry) },
    // The lever of EddyPipelineProps.tracing: the same functions without the X-Ray SDK.
    { label: 'tracing off', variant: 'untraced', bundling: (entry) => pipelineBundling(entry, { tracing: false }) },
    // The lever of the entry points per stage kind, on its own: tracing off, and every stage built as
    // before it, with every stateful operator in its bundle.
    {
      label: 'tracing off, every kind bundled',
      variant: 'untraced-every-kind',
      bundling: (entry) => pipelineBundling(entry, { tracing: false }),
      entryOf: everyKindEntries,
    },
    // No AWS SDK in the bundle (the runtime's) and no tracer: beside empty handlers that load the
    // same clients from the runtime too.
    {
      label: 'lean',
      variant: 'lean',
      bundling: (entry) => pipelineBundling(entry, { awsSdk: 'runtime', tracing: false }),
    },
  ];
  if (options.compare ?? true) {
    for (const awsSdk of ['bundle', 'runtime'] as const) {
      sdkModes.push({
        label: `awsSdk '${awsSdk}'`,
        variant: `sdk-${awsSdk}`,
        bundling: (entry) => pipelineBundling(entry, { awsSdk }),
      });
    }
  }
  const deployedExternals = pipelineBundling(DEFAULT_HANDLER_ENTRY).externalModules ?? CDK_DEFAULT_EXTERNALS;
  log(`deployed bundling: externalModules ${JSON.stringify(deployedExternals)}`);

  const cases: FunctionCase[] = [];
  for (const file of pipelineFiles) cases.push(...casesOf(file, await loadPipeline(file)));

  const loader = join(OUT_DIR, 'init.mjs');
  writeFileSync(loader, LOADER);
  const rows: BenchRow[] = [];
  const variants: Variant[] = [];
  const timed = new Map<
    string,
    { fn: Variant; sdkBaseline: Variant; toolsBaseline: Variant; empty: Variant; mode: string }
  >();

  for (const mode of sdkModes) {
    const bundles = new Map<string, Bundle>();
    const bundleOf = async (name: string, entry: string, pipelineEntry: string) => {
      const known = bundles.get(name);
      if (known !== undefined) return known;
      const bundle = await build(name, mode.bundling(pipelineEntry), entry, mode.variant);
      bundles.set(name, bundle);
      return bundle;
    };
    const baselineOf = async (clients: readonly Client[]) => {
      const name = clients.length === 0 ? 'empty' : `empty-${clients.join('-')}`;
      const entry = join(srcDir, `${name}.ts`);
      writeFileSync(
        entry,
        `${clients.map((c) => CLIENT_IMPORTS[c]).join('\n')}\nexport const handler = async () => ({ batchItemFailures: [] });\n`,
      );
      // The alias of the user pipeline is unused here; the rest of the options are the functions'.
      return bundleOf(name, entry, resolve(PACKAGE_ROOT, pipelineFiles[0] ?? DEFAULT_PIPELINES[0] ?? ''));
    };
    const variantOf = (name: string, bundle: Bundle, env: NodeJS.ProcessEnv) => {
      const variant: Variant = { name: `${name} (${mode.label})`, bundle, env, samples: [] };
      variants.push(variant);
      return variant;
    };
    const empty = variantOf('empty handler', await baselineOf([]), lambdaEnvironment('empty', {}, sourceMaps));

    for (const c of cases) {
      const pipelineEntry = resolve(PACKAGE_ROOT, c.pipelineFile);
      const pipelineName = basename(c.pipelineFile, '.ts');
      const entry = mode.entryOf?.(c.entry) ?? c.entry;
      const bundle = await bundleOf(`${pipelineName}-${basename(entry, '.ts')}`, entry, pipelineEntry);
      const label = `${pipelineName}/${c.stageId ?? 'idleness'}`;
      const fn = variantOf(label, bundle, lambdaEnvironment(label.replace(/\W/g, '-'), c.env, sourceMaps));
      const sdkBaseline = variantOf(
        `empty handler with ${c.clients.join('+')}`,
        await baselineOf(c.clients),
        lambdaEnvironment('empty', {}, sourceMaps),
      );
      const toolsBaseline = variantOf(
        `empty handler with ${c.clients.join('+')}+powertools`,
        await baselineOf([...c.clients, 'powertools']),
        lambdaEnvironment('empty', {}, sourceMaps),
      );
      timed.set(`${mode.variant}:${label}`, { fn, sdkBaseline, toolsBaseline, empty, mode: mode.label });
    }

    for (const bundle of bundles.values()) {
      if (bundle.name.startsWith('empty')) continue;
      const kb = bundle.bytes / 1024;
      rows.push({
        name: `cold start: ${bundle.name} bundle, index.mjs (${mode.label})`,
        value: round(kb, 1),
        unit: 'KB',
        ...(TARGETED_VARIANTS.has(mode.variant) && {
          target: `<= ${TARGET_BUNDLE_KB} KB`,
          met: kb <= TARGET_BUNDLE_KB,
        }),
      });
      if (options.breakdown ?? true) {
        const top = bundle.inputs
          .slice(0, 10)
          .map(([group, bytes]) => `${group} ${round(bytes / 1024, 1)}`)
          .join(', ');
        log(
          `${bundle.name} (${mode.label}): ${round(kb, 1)} KB, source map ${round(bundle.mapBytes / 1024, 1)} KB; biggest inputs (KB): ${top}`,
        );
      }
    }
    for (const name of ['empty', ...[...bundles.keys()].filter((n) => n.startsWith('empty-'))]) {
      const bundle = bundles.get(name);
      if (bundle !== undefined) log(`baseline ${name} (${mode.label}): ${round(bundle.bytes / 1024, 1)} KB`);
    }
  }

  // Rounds: every variant once per round, so that a slow moment of a shared machine hits all alike.
  const unique = [...new Map(variants.map((v) => [`${v.bundle.file}|${JSON.stringify(v.env)}`, v])).values()];
  const samplesOf = new Map<string, number[]>();
  const keyOf = (v: Variant) => `${v.bundle.file}|${JSON.stringify(v.env)}`;
  for (const v of unique) measureOnce(loader, v); // warm the file cache
  for (let round = 0; round < runs; round += 1) {
    for (const v of unique) {
      const samples = samplesOf.get(keyOf(v)) ?? [];
      samples.push(measureOnce(loader, v));
      samplesOf.set(keyOf(v), samples);
    }
  }
  const medianOf = (v: Variant) => median(samplesOf.get(keyOf(v)) ?? []);
  const seenEmpty = new Set<string>();
  for (const [, { fn, sdkBaseline, toolsBaseline, empty, mode }] of timed) {
    if (!seenEmpty.has(mode)) {
      seenEmpty.add(mode);
      rows.push({
        name: `cold start: empty handler, no imports: module init (${mode})`,
        value: round(medianOf(empty), 1),
        unit: 'ms',
      });
    }
    const value = medianOf(fn);
    const base = medianOf(sdkBaseline);
    const ratio = value / base;
    rows.push({
      name: `cold start: ${fn.name.replace(` (${mode})`, '')}: module init (${mode})`,
      value: round(value, 1),
      unit: 'ms',
      baseline: sdkBaseline.name.replace(` (${mode})`, ''),
      baselineValue: round(base, 1),
      ratio: round(ratio, 2),
      ...(TARGETED_LABELS.has(mode) && { target: `<= ${TARGET_INIT_RATIO}x`, met: ratio <= TARGET_INIT_RATIO }),
    });
    const tools = medianOf(toolsBaseline);
    rows.push({
      name: `cold start: ${fn.name.replace(` (${mode})`, '')}: module init beside the clients and Powertools (${mode})`,
      value: round(value, 1),
      unit: 'ms',
      baseline: toolsBaseline.name.replace(` (${mode})`, ''),
      baselineValue: round(tools, 1),
      ratio: round(value / tools, 2),
    });
  }
  return rows;
}

/**
 * Runs `cdk synth` for a pipeline into a temporary folder and returns the sizes of its Lambda assets'
 * index.mjs, to check that this benchmark builds what CDK builds.
 */
export function synthAssetSizes(pipelineFile: string): number[] {
  const outdir = join(OUT_DIR, 'synth', basename(pipelineFile, '.ts'));
  rmSync(outdir, { recursive: true, force: true });
  execFileSync(
    'npx',
    ['cdk', 'synth', '--no-notices', '--quiet', '-o', relative(PACKAGE_ROOT, outdir), '-c', `pipeline=${pipelineFile}`],
    { cwd: PACKAGE_ROOT, stdio: ['ignore', 'ignore', 'inherit'] },
  );
  return readdirSync(outdir)
    .filter((entry) => entry.startsWith('asset.'))
    .map((entry) => join(outdir, entry, 'index.mjs'))
    .filter((file) => statSync(file, { throwIfNoEntry: false }) !== undefined)
    .map((file) => readFileSync(file).length)
    .sort((a, b) => a - b);
}

function round(value: number, digits: number): number {
  return Number(value.toFixed(digits));
}

if (isMain(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string' },
      pipeline: { type: 'string', multiple: true },
      'no-compare': { type: 'boolean', default: false },
      'verify-synth': { type: 'boolean', default: false },
      'source-maps': { type: 'boolean', default: false },
    },
  });
  const rows = await run({
    ...(values.runs !== undefined && { runs: Number(values.runs) }),
    ...(values.pipeline !== undefined && { pipelines: values.pipeline }),
    compare: !values['no-compare'],
    sourceMaps: values['source-maps'],
  });
  console.log(`\n${formatTable(rows)}`);
  if (values['verify-synth']) {
    for (const file of values.pipeline ?? DEFAULT_PIPELINES.slice(0, 2)) {
      const synthSizes = synthAssetSizes(file);
      const name = basename(file, '.ts');
      const built = [
        DEFAULT_HANDLER_ENTRY,
        STATELESS_HANDLER_ENTRY,
        TABLE_HANDLER_ENTRY,
        ...Object.values(STATEFUL_HANDLER_ENTRIES),
        IDLENESS_HANDLER_ENTRY,
      ]
        .map((entry) => join(OUT_DIR, 'deployed', `${name}-${basename(entry, '.ts')}`, 'index.mjs'))
        .map((f) => statSync(f, { throwIfNoEntry: false })?.size)
        .filter((size): size is number => size !== undefined)
        .sort((a, b) => a - b);
      const same = JSON.stringify(synthSizes) === JSON.stringify(built);
      console.log(
        `cdk synth ${file}: index.mjs ${synthSizes.join(', ')} bytes; this bench: ${built.join(', ')} bytes${same ? ' (same)' : ' (DIFFERENT)'}`,
      );
      if (!same) process.exitCode = 1;
    }
  }
}
