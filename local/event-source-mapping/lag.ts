/** What a shard's poller knows, at a given moment, about how far it is behind the shard's tip. */
export interface LagInputs {
  /** MillisBehindLatest of the last GetRecords: newest arrival in the shard minus the last record read's. */
  readonly millisBehindLatest: number | undefined;
  /** Arrival of the last record read, ms since the epoch. */
  readonly lastReadArrivalMs: number | undefined;
  /** Arrival of the oldest record read and not yet done (buffered, in flight, to be retried). */
  readonly oldestPendingArrivalMs: number | undefined;
  readonly pendingRecords: number;
  /** The last read returned fewer records than asked and MillisBehindLatest 0 (or the shard is finished). */
  readonly lastReadAtTip: boolean;
}

/**
 * A consumer's lag as time behind the newest record of the shard: MillisBehindLatest measured from
 * the oldest record the consumer has not finished rather than from the last one it read (the two
 * differ by the records read ahead). 0 only when the consumer is caught up: nothing pending and the
 * last read found the tip. While any record waits it is at least 1 ms, even if every waiting record
 * arrived in the same millisecond as the newest, so that a gauge of it never says "caught up" early.
 */
export function lagBehindNewest(inputs: LagInputs): number {
  const behindRead = Math.max(0, inputs.millisBehindLatest ?? 0);
  const heldBack =
    inputs.oldestPendingArrivalMs !== undefined && inputs.lastReadArrivalMs !== undefined
      ? Math.max(0, inputs.lastReadArrivalMs - inputs.oldestPendingArrivalMs)
      : 0;
  const lag = behindRead + heldBack;
  const waiting = inputs.pendingRecords > 0 || !inputs.lastReadAtTip;
  return waiting ? Math.max(1, lag) : lag;
}
