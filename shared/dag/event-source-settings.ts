import type { WindowAssigner } from '../windows/types.js';
import { PipelineDefinitionError } from './errors.js';
import type { EventSourceSettings } from './plan-types.js';

/**
 * Eddy's defaults differ from Lambda's where Lambda's would hurt a pipeline: larger batches (state is
 * written once per key and window per batch, so bigger batches mean fewer writes), bisect on, and a
 * bounded number of retries so that one poison batch cannot block a shard until it expires.
 */
export const DEFAULT_EVENT_SOURCE_SETTINGS: EventSourceSettings = {
  batchSize: 500,
  maxBatchingWindowSeconds: 1,
  parallelizationFactor: 1,
  bisectBatchOnFunctionError: true,
  retryAttempts: 10,
  maxRecordAgeSeconds: -1,
  startingPosition: 'TRIM_HORIZON',
};

/**
 * How windowed stages batch their input: `latency` reads with the defaults above (batches of at most
 * a second: a window's result leaves about a second after the watermark passes its end); `cost`
 * reads about one window period (a tumbling window's size, a hopping window's slide, a session's gap)
 * per batch, up to Lambda's 300 s, so that each key's window is written about once per period instead
 * of once a second, for up to that period more latency (docs/cost.md, "Latency or cost").
 */
export const BatchingPreferences = { latency: 'latency', cost: 'cost' } as const;
export type BatchingPreference = (typeof BatchingPreferences)[keyof typeof BatchingPreferences];

/** Lambda's largest batch and batching window (CreateEventSourceMapping). */
const MAX_BATCH_SIZE = 10_000;
const MAX_BATCHING_WINDOW_SECONDS = 300;

/** The settings `batching: 'cost'` gives a stage whose window is `assigner` (see {@link BatchingPreferences}). */
export function costAwareBatching(assigner: WindowAssigner): Partial<EventSourceSettings> {
  const periodMs =
    assigner.kind === 'tumbling' ? assigner.size : assigner.kind === 'hopping' ? assigner.slide : assigner.gap;
  const seconds = Math.min(MAX_BATCHING_WINDOW_SECONDS, Math.max(1, Math.floor(periodMs / 1000)));
  return { batchSize: MAX_BATCH_SIZE, maxBatchingWindowSeconds: seconds };
}

/** Checks a `batching` option: one of {@link BatchingPreferences}. */
export function assertBatchingPreference(value: unknown, where: string): asserts value is BatchingPreference {
  if (!Object.values(BatchingPreferences).includes(value as BatchingPreference)) {
    throw new PipelineDefinitionError(`batching must be 'latency' or 'cost', got ${JSON.stringify(value)}`, where);
  }
}

/** Ranges from the Lambda API reference (CreateEventSourceMapping). */
const RANGES: Record<
  keyof Omit<EventSourceSettings, 'bisectBatchOnFunctionError' | 'startingPosition'>,
  { min: number; max: number; alsoAllowed?: number }
> = {
  batchSize: { min: 1, max: 10_000 },
  maxBatchingWindowSeconds: { min: 0, max: 300 },
  parallelizationFactor: { min: 1, max: 10 },
  retryAttempts: { min: 0, max: 10_000, alsoAllowed: -1 },
  maxRecordAgeSeconds: { min: 60, max: 604_800, alsoAllowed: -1 },
};

/** Merges layers of settings (later wins) over the defaults and checks every value against AWS's ranges. */
export function resolveEventSourceSettings(
  label: string,
  ...layers: (Partial<EventSourceSettings> | undefined)[]
): EventSourceSettings {
  const merged: EventSourceSettings = Object.assign({}, DEFAULT_EVENT_SOURCE_SETTINGS, ...layers.filter(Boolean));
  for (const [field, range] of Object.entries(RANGES)) {
    const value = merged[field as keyof typeof RANGES];
    const inRange = Number.isInteger(value) && value >= range.min && value <= range.max;
    if (!inRange && value !== range.alsoAllowed) {
      const also = range.alsoAllowed === undefined ? '' : ` or ${range.alsoAllowed}`;
      throw new PipelineDefinitionError(
        `eventSource.${field} must be an integer from ${range.min} to ${range.max}${also}, got ${value}`,
        label,
      );
    }
  }
  if (merged.startingPosition !== 'TRIM_HORIZON' && merged.startingPosition !== 'LATEST') {
    throw new PipelineDefinitionError(
      `eventSource.startingPosition must be 'TRIM_HORIZON' or 'LATEST', got ${JSON.stringify(merged.startingPosition)}`,
      label,
    );
  }
  return merged;
}
