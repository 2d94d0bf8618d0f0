import { resolve } from 'node:path';
import type { App } from 'aws-cdk-lib';
import { importUserModule } from '../cli/import-user-module.js';
import { Pipeline } from '../shared/index.js';
import { deploymentName, physicalNamePrefix } from './names.js';
import { EddyPipelineStack } from './pipeline-stack.js';

/**
 * What `infra/app.ts` builds, from the app's context: `-c pipeline=<file> [-c stage=<dev, prod, ...>]
 * [-c prefix=<name prefix>]` gives one stack that deploys the pipeline the file default-exports (a
 * TypeScript file is loaded through tsx). Physical names start with `<pipeline>-`, or
 * `<stage>_<pipeline>-` (infra/names.ts), unless a prefix is given; the stack is `Eddy-<pipeline>` or
 * `Eddy-<stage or prefix>-<pipeline>`.
 *
 * A replay into a new state generation (docs/reliability.md, "Replay"):
 * `-c stateGeneration=<n> -c replayFrom=<trim-horizon | ISO time> -c replayStartedAt=<ISO time>`.
 *
 * Apart from the entry so that tests build many apps in one process (each App its own context and
 * output folder) rather than start the CDK app's process, and load aws-cdk-lib, once per app.
 */
const DEFAULT_PIPELINE_FILE = 'examples/page-views.ts';

export async function addPipelineStack(app: App): Promise<EddyPipelineStack> {
  const pipelineFile = contextString(app, 'pipeline') ?? DEFAULT_PIPELINE_FILE;
  const stage = contextString(app, 'stage');
  const explicitPrefix = contextString(app, 'prefix');
  const pipeline = await loadPipeline(pipelineFile);

  return new EddyPipelineStack(app, deploymentName(pipeline.name, stage ?? explicitPrefix), {
    pipeline,
    pipelineEntry: resolve(pipelineFile),
    streamNamePrefix: explicitPrefix ?? physicalNamePrefix(pipeline.name, stage),
    ...replayContext(app),
  });
}

/** The replay context values as EddyPipelineProps; none when absent. */
function replayContext(app: App) {
  const generation = contextString(app, 'stateGeneration');
  const from = contextString(app, 'replayFrom');
  const startedAt = contextString(app, 'replayStartedAt');
  const time = (name: string, value: string) => {
    const date = new Date(value);
    if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(date.getTime())) {
      throw new Error(`context '${name}' must be an ISO time, got ${JSON.stringify(value)}`);
    }
    return date;
  };
  return {
    ...(generation !== undefined && { stateGeneration: Number(generation) }),
    ...(from !== undefined &&
      (/^trim[-_]horizon$/i.test(from)
        ? { startingPosition: 'TRIM_HORIZON' as const }
        : { startingPosition: 'AT_TIMESTAMP' as const, startingPositionTimestamp: time('replayFrom', from) })),
    ...(startedAt !== undefined && { replayStartedAt: time('replayStartedAt', startedAt) }),
  };
}

function contextString(app: App, key: string): string | undefined {
  const value: unknown = app.node.tryGetContext(key);
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string') throw new Error(`context '${key}' must be a string, got ${JSON.stringify(value)}`);
  return value;
}

async function loadPipeline(file: string): Promise<Pipeline> {
  const module = await importUserModule(file);
  const exported = module.default;
  if (!isPipeline(exported)) {
    throw new Error(
      `${file} must default-export a pipeline (export default pipeline('name')...sink('stream')), ` +
        `but its default export is ${exported === undefined ? 'missing' : typeof exported}`,
    );
  }
  return exported;
}

/** instanceof fails when the file imports another copy of Eddy, so the shape is accepted too. */
function isPipeline(value: unknown): value is Pipeline {
  if (value instanceof Pipeline) return true;
  const candidate = value as Partial<Pipeline> | null | undefined;
  return typeof candidate?.name === 'string' && typeof candidate.plan === 'function';
}
