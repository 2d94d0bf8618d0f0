import { eventPayloadBytes, fitsInPayload, type ShardRecord } from './kinesis-event.js';

/** A lane's decision about the records waiting in it. */
export type BatchDecision =
  | { readonly ready: true; readonly length: number }
  | { readonly ready: false; readonly waitMs: number };

/** How many records from the head of `queue` make the next batch: at most `batchSize`, and within 6 MB. */
export function nextBatchLength(queue: readonly ShardRecord[], batchSize: number): number {
  let bytes = eventPayloadBytes([]);
  let length = 0;
  for (const record of queue) {
    if (length >= batchSize) break;
    // A record too big on its own still goes alone: Lambda would fail that invocation, not skip the record.
    if (length > 0 && !fitsInPayload(bytes, record)) break;
    bytes += record.payloadBytes;
    length += 1;
  }
  return length;
}

/**
 * Lambda invokes when the batch is full (batch size or 6 MB), or when the batching window has passed
 * since the window opened; with a window of 0 it invokes as soon as records are there
 * (services-kinesis-parameters.html, with-kinesis.html "Polling and batching streams").
 * `moreMayCome` false (end of a closed shard) invokes at once: waiting cannot fill the batch.
 */
export function decideBatch(
  queue: readonly ShardRecord[],
  settings: { readonly batchSize: number; readonly maxBatchingWindowMs: number },
  window: { readonly openedAtMs: number; readonly nowMs: number; readonly moreMayCome: boolean },
): BatchDecision {
  if (queue.length === 0) return { ready: false, waitMs: Number.POSITIVE_INFINITY };
  const length = nextBatchLength(queue, settings.batchSize);
  const full = length === settings.batchSize || length < queue.length;
  const closesAtMs = window.openedAtMs + settings.maxBatchingWindowMs;
  if (full || !window.moreMayCome || window.nowMs >= closesAtMs) return { ready: true, length };
  return { ready: false, waitMs: closesAtMs - window.nowMs };
}
