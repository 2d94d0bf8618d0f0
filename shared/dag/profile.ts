import { PipelineDefinitionError } from './errors.js';
import type { PipelineOptions } from './pipeline-graph.js';

/**
 * What a pipeline is tuned for when its options do not say: `'default'` keeps every default (a late
 * stream per window and join, dead letters in a stream, per-operator metrics, 1 s batches, traces);
 * `'cost'` picks each cheapest setting (docs/cost.md, "Latency or cost").
 */
export const PipelineProfiles = { default: 'default', cost: 'cost' } as const;
export type PipelineProfile = (typeof PipelineProfiles)[keyof typeof PipelineProfiles];

/**
 * Where the late records of a window or join that names no `lateOutput` go: `'stream'` to a stream
 * of its own, `<pipeline>-<name>-late`; `'dead-letter'` to the pipeline's dead-letter destination,
 * with the reason `late` (no stream is created for them).
 */
export const LateRecordsDestinations = { stream: 'stream', deadLetter: 'dead-letter' } as const;
export type LateRecordsDestination = (typeof LateRecordsDestinations)[keyof typeof LateRecordsDestinations];

/**
 * The options `profile: 'cost'` implies, each one only where the user's options do not set it:
 * 60 s-class batches for windowed stages, dead letters in an SQS queue (nothing paid while empty),
 * late records of unnamed late outputs among the dead letters, no per-operator metrics.
 * (EddyPipeline also turns X-Ray tracing off for it, unless `tracing` is given.)
 */
export function applyProfile(options: PipelineOptions, where: string): PipelineOptions {
  const profile = options.profile ?? 'default';
  if (!Object.values(PipelineProfiles).includes(profile)) {
    throw new PipelineDefinitionError(`profile must be 'default' or 'cost', got ${JSON.stringify(profile)}`, where);
  }
  if (options.lateRecords !== undefined && !Object.values(LateRecordsDestinations).includes(options.lateRecords)) {
    throw new PipelineDefinitionError(
      `lateRecords must be 'stream' or 'dead-letter', got ${JSON.stringify(options.lateRecords)}`,
      where,
    );
  }
  if (options.operatorMetrics !== undefined && typeof options.operatorMetrics !== 'boolean') {
    throw new PipelineDefinitionError(
      `operatorMetrics must be true or false, got ${JSON.stringify(options.operatorMetrics)}`,
      where,
    );
  }
  if (profile === 'default') return options;
  // A named dead-letter stream is the user's choice: the queue is the profile's default only (and
  // an invalid deadLetter is left for its own check to name).
  const deadLetter =
    options.deadLetterStream !== undefined ||
    (options.deadLetter !== undefined && (typeof options.deadLetter !== 'object' || options.deadLetter === null))
      ? {}
      : { deadLetter: { queue: true, ...options.deadLetter } };
  return {
    batching: 'cost',
    lateRecords: 'dead-letter',
    operatorMetrics: false,
    ...options,
    ...deadLetter,
  };
}

/**
 * Whether EddyPipeline turns on X-Ray tracing when its `tracing` prop is not given: not for
 * `profile: 'cost'` (its first trace each second of each function is a small pipeline's largest
 * fixed cost: docs/cost.md).
 */
export function tracesByDefault(plan: { readonly profile?: PipelineProfile }): boolean {
  return plan.profile !== 'cost';
}
