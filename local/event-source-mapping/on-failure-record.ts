import { randomUUID } from 'node:crypto';
import type { ShardRecord } from './kinesis-event.js';
import type { OnFailureCondition, OnFailureRecord } from './types.js';

export interface DiscardedBatch {
  readonly shardId: string;
  /** In shard order; at least one. */
  readonly records: readonly ShardRecord[];
  readonly condition: OnFailureCondition;
  /** Invocations that included exactly these records. */
  readonly invokeCount: number;
  readonly nowMs: number;
}

/**
 * The document Lambda sends to an SQS or SNS on-failure destination for a discarded batch
 * (kinesis-on-failure-destination.html, "Example invocation record"): metadata only.
 */
export function buildOnFailureRecord(
  batch: DiscardedBatch,
  mapping: { readonly functionArn: string; readonly streamArn: string },
): OnFailureRecord {
  const first = batch.records[0];
  const last = batch.records.at(-1);
  if (!first || !last) throw new RangeError('a discarded batch has at least one record');
  return {
    requestContext: {
      requestId: randomUUID(),
      functionArn: mapping.functionArn,
      condition: batch.condition,
      approximateInvokeCount: batch.invokeCount,
    },
    responseContext: {
      // Lambda's synchronous invoke answers 200 even when the function failed; the error is in functionError.
      statusCode: 200,
      executedVersion: '$LATEST',
      functionError: 'Unhandled',
    },
    version: '1.0',
    timestamp: new Date(batch.nowMs).toISOString(),
    KinesisBatchInfo: {
      shardId: batch.shardId,
      startingSequenceNumber: first.sequenceNumber,
      endingSequenceNumber: last.sequenceNumber,
      approximateArrivalOfFirstRecord: new Date(first.arrivalMs).toISOString(),
      approximateArrivalOfLastRecord: new Date(last.arrivalMs).toISOString(),
      batchSize: batch.records.length,
      streamArn: mapping.streamArn,
    },
  };
}
