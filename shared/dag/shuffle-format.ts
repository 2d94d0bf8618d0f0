import { PipelineDefinitionError } from './errors.js';

/**
 * The shuffle's wire formats (docs/shuffle.md, "Formats"). Every consumer reads both; a producer
 * writes the one its pipeline's `shuffleFormat` names.
 *
 * - 1: each envelope carries its correlation id in full (`"id"`, about 90 bytes). A v1 pack has no
 *   format field: producers before formats existed write it so.
 * - 2: the pack carries the ids' common prefix once (`"ip"`, the producer's input stream and shard)
 *   and an envelope only what its position does not say: nothing, a suffix (`"i"`, a flatMap's `/i`)
 *   or, when its id is not of that form, the id in full. A consumer that only reads 1 dead-letters
 *   v2 envelopes, so a pipeline moves to 2 in a deployment of its own (docs/operations.md).
 */
export const ShuffleFormats = { full: 1, lean: 2 } as const;
export type ShuffleFormat = (typeof ShuffleFormats)[keyof typeof ShuffleFormats];

/** The format producers write when the pipeline does not say: what every deployed consumer reads. */
export const DEFAULT_SHUFFLE_FORMAT: ShuffleFormat = ShuffleFormats.full;

/** Checks a `shuffleFormat` option: one of {@link ShuffleFormats}. */
export function assertShuffleFormat(value: unknown, where: string): asserts value is ShuffleFormat {
  if (!Object.values(ShuffleFormats).includes(value as ShuffleFormat)) {
    throw new PipelineDefinitionError(`shuffleFormat must be 1 or 2, got ${JSON.stringify(value)}`, where);
  }
}
