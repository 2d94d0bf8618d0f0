import type { OnFailureRecord } from '../event-source-mapping/index.js';

/**
 * A batch an event source mapping gave up on (its on-failure destination's document), with what
 * the local stack knows beside it: the stage, and the last error its shard saw. Lambda's own
 * document carries metadata only; locally the error is at hand, and a discarded batch without its
 * reason cannot be diagnosed.
 */
export interface DiscardedBatch extends OnFailureRecord {
  /** The stage whose mapping discarded the batch. */
  readonly stage: string;
  /** The shard's last error before the discard (the function's, or a partial batch failure). */
  readonly lastError: string | undefined;
}

/** One line for a discarded batch: stage, shard, first and last sequence numbers, count, last error. */
export function describeDiscardedBatch(batch: DiscardedBatch): string {
  const info = batch.KinesisBatchInfo;
  return (
    `stage ${batch.stage}, ${info.shardId}, sequence numbers ${info.startingSequenceNumber}..${info.endingSequenceNumber} ` +
    `(${info.batchSize} records): ${batch.requestContext.condition} after ${batch.requestContext.approximateInvokeCount} invocation(s); ` +
    `last error: ${batch.lastError ?? 'none recorded'}`
  );
}

/** How many batches and records were discarded: records lost, unlike dead letters, which are kept. */
export function discardedTotals(batches: readonly OnFailureRecord[]): { batches: number; records: number } {
  return {
    batches: batches.length,
    records: batches.reduce((sum, batch) => sum + batch.KinesisBatchInfo.batchSize, 0),
  };
}
