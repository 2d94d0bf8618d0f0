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
