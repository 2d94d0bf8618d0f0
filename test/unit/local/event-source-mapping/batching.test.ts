import { describe, expect, it } from 'vitest';
import { decideBatch, maxInvokePayloadBytes, nextBatchLength } from '../../../../local/event-source-mapping/index.js';
import { shardRecord, shardRecords } from './records.js';

const settings = { batchSize: 3, maxBatchingWindowMs: 1_000 };

describe('nextBatchLength', () => {
  it('takes at most the batch size', () => {
    expect(nextBatchLength(shardRecords(5), 3)).toBe(3);
    expect(nextBatchLength(shardRecords(2), 3)).toBe(2);
  });

  it('stops before the event would exceed 6 MB, but always takes one record', () => {
    // Prepare: each record is about 1.33 MB of base64.
    const big = Array.from({ length: 6 }, (_, index) => shardRecord(index, { data: Buffer.alloc(1_000_000) }));
    const huge = [shardRecord(0, { data: Buffer.alloc(maxInvokePayloadBytes) })];

    // Act / Assess
    expect(nextBatchLength(big, 100)).toBe(4);
    expect(nextBatchLength(huge, 100)).toBe(1);
  });
});

describe('decideBatch', () => {
  it('waits until the window closes for a batch that is not full', () => {
    const decision = decideBatch(shardRecords(2), settings, { openedAtMs: 10_000, nowMs: 10_400, moreMayCome: true });
    expect(decision).toEqual({ ready: false, waitMs: 600 });
  });

  it('sends when the window has closed', () => {
    const decision = decideBatch(shardRecords(2), settings, { openedAtMs: 10_000, nowMs: 11_000, moreMayCome: true });
    expect(decision).toEqual({ ready: true, length: 2 });
  });

  it('sends a full batch at once', () => {
    const decision = decideBatch(shardRecords(4), settings, { openedAtMs: 10_000, nowMs: 10_000, moreMayCome: true });
    expect(decision).toEqual({ ready: true, length: 3 });
  });

  it('sends at once with a window of 0', () => {
    const decision = decideBatch(
      shardRecords(1),
      { batchSize: 3, maxBatchingWindowMs: 0 },
      { openedAtMs: 10_000, nowMs: 10_000, moreMayCome: true },
    );
    expect(decision).toEqual({ ready: true, length: 1 });
  });

  it('sends at once at the end of a closed shard', () => {
    const decision = decideBatch(shardRecords(1), settings, { openedAtMs: 10_000, nowMs: 10_000, moreMayCome: false });
    expect(decision).toEqual({ ready: true, length: 1 });
  });

  it('has nothing to send from an empty queue', () => {
    expect(decideBatch([], settings, { openedAtMs: 0, nowMs: 0, moreMayCome: true }).ready).toBe(false);
  });
});
