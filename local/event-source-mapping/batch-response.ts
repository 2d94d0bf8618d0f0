import type { ShardRecord } from './kinesis-event.js';

/** What the function's answer means for the batch it was given. */
export type BatchVerdict =
  | { readonly kind: 'success' }
  /** Records before `failedIndex` succeeded; it and everything after are sent again. */
  | { readonly kind: 'partial'; readonly failedIndex: number }
  | { readonly kind: 'failure'; readonly reason: string };

/**
 * Reads a partial batch response the way Lambda does (services-kinesis-batchfailurereporting.html):
 * an empty or null `batchItemFailures`, or an empty or null response, is a complete success; an
 * empty or null `itemIdentifier`, a wrong key name, or (as Lambda also treats it) an identifier that
 * is not a sequence number of the batch, is a complete failure. With several failures, the one
 * with the lowest sequence number is the checkpoint.
 */
export function interpretBatchResponse(response: unknown, batch: readonly ShardRecord[]): BatchVerdict {
  if (response === undefined || response === null) return { kind: 'success' };
  if (typeof response !== 'object' || Array.isArray(response)) {
    return { kind: 'failure', reason: `response is not an object: ${describe(response)}` };
  }
  const failures = (response as { batchItemFailures?: unknown }).batchItemFailures;
  if (failures === undefined || failures === null) return { kind: 'success' };
  if (!Array.isArray(failures)) {
    return { kind: 'failure', reason: `batchItemFailures is not an array: ${describe(failures)}` };
  }
  if (failures.length === 0) return { kind: 'success' };
  // Records of a batch are in sequence order, so the lowest sequence number is the lowest index.
  const indexBySequence = new Map(batch.map((record, index) => [record.sequenceNumber, index]));
  let lowest = Number.POSITIVE_INFINITY;
  for (const failure of failures) {
    const identifier =
      typeof failure === 'object' && failure !== null
        ? (failure as { itemIdentifier?: unknown }).itemIdentifier
        : undefined;
    if (typeof identifier !== 'string' || identifier === '') {
      return { kind: 'failure', reason: `invalid batch item failure ${describe(failure)}` };
    }
    const index = indexBySequence.get(identifier);
    if (index === undefined) {
      return { kind: 'failure', reason: `itemIdentifier ${identifier} is not a sequence number of the batch` };
    }
    lowest = Math.min(lowest, index);
  }
  return { kind: 'partial', failedIndex: lowest };
}

function describe(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
