import type { BatchVerdict } from './batch-response.js';
import type { ShardRecord } from './kinesis-event.js';

/**
 * How Lambda handles a batch it invoked the function with, as documented:
 *
 * - kinesis-on-failure-destination.html: on a function error "Lambda retries until the records
 *   expire, exceed the maximum age (MaximumRecordAgeInSeconds), or reach the configured retry quota
 *   (MaximumRetryAttempts)". BisectBatchOnFunctionError "splits a failed batch into two smaller
 *   batches, isolating bad records [...]. Splitting batches doesn't consume the retry quota."
 * - services-kinesis-batchfailurereporting.html, "Bisecting a batch": "If your invocation fails and
 *   BisectBatchOnFunctionError is turned on, the batch is bisected regardless of your
 *   ReportBatchItemFailures setting. When a partial batch success response is received and both
 *   BisectBatchOnFunctionError and ReportBatchItemFailures are turned on, the batch is bisected at
 *   the returned sequence number and Lambda retries only the remaining records." Without bisect, a
 *   partial response checkpoints before the lowest failed record and "Lambda retries failures
 *   based on your retry strategy": it counts as a retry.
 *
 * So: a failed batch of two or more records is split in halves while bisect is on, and each half
 * starts with a fresh retry count (a split is not a retry); only a batch that cannot be split (one
 * record, or bisect off) uses up retries, and once `maximumRetryAttempts` retries have failed too
 * it is discarded. A partial response with bisect on splits at the failed record: the remainder is
 * a new batch, again with a fresh count. A partial response naming the first record makes no
 * progress and cannot be split there, so it is a retry.
 */
export interface BatchAttempt {
  readonly records: readonly ShardRecord[];
  /** Invocations of exactly these records so far (Lambda's `approximateInvokeCount`). */
  readonly invokeCount: number;
  /** Retries used so far by exactly these records. */
  readonly retries: number;
}

export interface FailurePolicy {
  readonly bisectBatchOnFunctionError: boolean;
  /** -1: retry until the records expire. */
  readonly maximumRetryAttempts: number;
}

/** What to do after one invocation of `attempt`. */
export interface PolicyDecision {
  /** Records now processed successfully. */
  readonly succeeded: readonly ShardRecord[];
  /** Records given up on because the retries ran out, with the invocations they had. */
  readonly exhausted: { readonly records: readonly ShardRecord[]; readonly invokeCount: number } | undefined;
  /** Batches to invoke next, in order, before any later record of the lane. */
  readonly next: readonly BatchAttempt[];
  /**
   * The failed batch was split (BisectBatchOnFunctionError): in halves after a function error, or at
   * the failed record after a partial response. What the mapping counts as a bisect.
   */
  readonly bisected: boolean;
}

/** Starts a batch's life: never invoked, no retries used. */
export function firstAttempt(records: readonly ShardRecord[]): BatchAttempt {
  return { records, invokeCount: 0, retries: 0 };
}

/** Decides, after invoking `attempt` (its `invokeCount` already counting that invocation), what comes next. */
export function decideAfterAttempt(
  attempt: BatchAttempt,
  verdict: BatchVerdict,
  policy: FailurePolicy,
): PolicyDecision {
  const { records } = attempt;
  if (verdict.kind === 'success') return { succeeded: records, exhausted: undefined, next: [], bisected: false };

  if (verdict.kind === 'partial') {
    const succeeded = records.slice(0, verdict.failedIndex);
    const remaining = records.slice(verdict.failedIndex);
    if (policy.bisectBatchOnFunctionError && verdict.failedIndex > 0) {
      return { succeeded, exhausted: undefined, next: [firstAttempt(remaining)], bisected: true };
    }
    return { succeeded, bisected: false, ...retryOrGiveUp({ ...attempt, records: remaining }, policy) };
  }

  if (policy.bisectBatchOnFunctionError && records.length > 1) {
    const middle = Math.ceil(records.length / 2);
    return {
      succeeded: [],
      exhausted: undefined,
      next: [firstAttempt(records.slice(0, middle)), firstAttempt(records.slice(middle))],
      bisected: true,
    };
  }
  return { succeeded: [], bisected: false, ...retryOrGiveUp(attempt, policy) };
}

function retryOrGiveUp(attempt: BatchAttempt, policy: FailurePolicy): Pick<PolicyDecision, 'exhausted' | 'next'> {
  const limit = policy.maximumRetryAttempts;
  if (limit !== -1 && attempt.retries >= limit) {
    return { exhausted: { records: attempt.records, invokeCount: attempt.invokeCount }, next: [] };
  }
  return { exhausted: undefined, next: [{ ...attempt, retries: attempt.retries + 1 }] };
}

/**
 * Splits off the records older than the maximum record age, which Lambda discards instead of
 * sending. Arrival times grow along a shard, so the expired records are a prefix of the batch.
 */
export function splitExpired(
  records: readonly ShardRecord[],
  nowMs: number,
  maximumRecordAgeMs: number,
): { readonly expired: readonly ShardRecord[]; readonly fresh: readonly ShardRecord[] } {
  if (maximumRecordAgeMs === -1) return { expired: [], fresh: records };
  let cut = 0;
  while (cut < records.length && nowMs - (records[cut]?.arrivalMs ?? nowMs) > maximumRecordAgeMs) cut += 1;
  return { expired: records.slice(0, cut), fresh: records.slice(cut) };
}
