import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type BatchAttempt,
  type BatchVerdict,
  decideAfterAttempt,
  type FailurePolicy,
  firstAttempt,
  type ShardRecord,
  splitExpired,
} from '../../../../local/event-source-mapping/index.js';
import { indexes, shardRecord, shardRecords } from './records.js';

const failure: BatchVerdict = { kind: 'failure', reason: 'boom' };

/** An attempt right after its invocation, as the poller passes it. */
function invoked(attempt: BatchAttempt): BatchAttempt {
  return { ...attempt, invokeCount: attempt.invokeCount + 1 };
}

describe('decideAfterAttempt', () => {
  it('marks the whole batch done on success', () => {
    const decision = decideAfterAttempt(
      invoked(firstAttempt(shardRecords(3))),
      { kind: 'success' },
      {
        bisectBatchOnFunctionError: false,
        maximumRetryAttempts: 0,
      },
    );
    expect(indexes(decision.succeeded)).toEqual([0, 1, 2]);
    expect(decision.next).toEqual([]);
    expect(decision.exhausted).toBeUndefined();
    expect(decision.bisected).toBe(false);
  });

  it('retries the same records until maximumRetryAttempts retries have failed, then gives up', () => {
    // Prepare
    const policy = { bisectBatchOnFunctionError: false, maximumRetryAttempts: 2 };
    let attempt = invoked(firstAttempt(shardRecords(3)));

    // Act
    const first = decideAfterAttempt(attempt, failure, policy);
    attempt = invoked(first.next[0] as BatchAttempt);
    const second = decideAfterAttempt(attempt, failure, policy);
    attempt = invoked(second.next[0] as BatchAttempt);
    const third = decideAfterAttempt(attempt, failure, policy);

    // Assess
    expect(first.next.map((next) => [indexes(next.records), next.retries])).toEqual([[[0, 1, 2], 1]]);
    expect(second.next.map((next) => [indexes(next.records), next.retries])).toEqual([[[0, 1, 2], 2]]);
    expect(third.next).toEqual([]);
    expect(third.exhausted && [indexes(third.exhausted.records), third.exhausted.invokeCount]).toEqual([[0, 1, 2], 3]);
    expect([first, second, third].map((decision) => decision.bisected)).toEqual([false, false, false]);
  });

  it('retries for ever with -1', () => {
    const attempt: BatchAttempt = { records: shardRecords(1), invokeCount: 10_001, retries: 10_000 };
    const decision = decideAfterAttempt(attempt, failure, {
      bisectBatchOnFunctionError: false,
      maximumRetryAttempts: -1,
    });
    expect(decision.next.map((next) => next.retries)).toEqual([10_001]);
  });

  it('bisects a failed batch into halves with fresh counts, even with no retries allowed', () => {
    const attempt: BatchAttempt = { records: shardRecords(5), invokeCount: 3, retries: 2 };
    const decision = decideAfterAttempt(attempt, failure, {
      bisectBatchOnFunctionError: true,
      maximumRetryAttempts: 0,
    });
    expect(decision.next.map((next) => [indexes(next.records), next.invokeCount, next.retries])).toEqual([
      [[0, 1, 2], 0, 0],
      [[3, 4], 0, 0],
    ]);
    expect(decision.bisected).toBe(true);
  });

  it('retries a single failing record when bisect is on, since it cannot be split', () => {
    const decision = decideAfterAttempt(invoked(firstAttempt([shardRecord(7)])), failure, {
      bisectBatchOnFunctionError: true,
      maximumRetryAttempts: 0,
    });
    expect(decision.exhausted && indexes(decision.exhausted.records)).toEqual([7]);
    expect(decision.bisected).toBe(false);
  });

  it('on a partial response, keeps the records before the failed one and retries the rest, counting a retry', () => {
    const decision = decideAfterAttempt(
      invoked(firstAttempt(shardRecords(5))),
      { kind: 'partial', failedIndex: 2 },
      {
        bisectBatchOnFunctionError: false,
        maximumRetryAttempts: 3,
      },
    );
    expect(indexes(decision.succeeded)).toEqual([0, 1]);
    expect(decision.next.map((next) => [indexes(next.records), next.invokeCount, next.retries])).toEqual([
      [[2, 3, 4], 1, 1],
    ]);
    expect(decision.bisected).toBe(false);
  });

  it('on a partial response with bisect on, splits at the failed record without using a retry', () => {
    const decision = decideAfterAttempt(
      invoked(firstAttempt(shardRecords(5))),
      { kind: 'partial', failedIndex: 2 },
      {
        bisectBatchOnFunctionError: true,
        maximumRetryAttempts: 0,
      },
    );
    expect(indexes(decision.succeeded)).toEqual([0, 1]);
    expect(decision.next.map((next) => [indexes(next.records), next.retries])).toEqual([[[2, 3, 4], 0]]);
    expect(decision.bisected).toBe(true);
  });

  it('on a partial response naming the first record with bisect on, uses a retry: there is nothing to split off', () => {
    const decision = decideAfterAttempt(
      invoked(firstAttempt(shardRecords(3))),
      { kind: 'partial', failedIndex: 0 },
      {
        bisectBatchOnFunctionError: true,
        maximumRetryAttempts: 0,
      },
    );
    expect(decision.succeeded).toEqual([]);
    expect(decision.exhausted && indexes(decision.exhausted.records)).toEqual([0, 1, 2]);
    expect(decision.bisected).toBe(false);
  });

  it('with bisect on, delivers every good record once, in order, and discards each bad record alone', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }).chain((count) =>
          fc.record({
            count: fc.constant(count),
            poison: fc.uniqueArray(fc.integer({ min: 0, max: count - 1 }), { maxLength: 4 }),
            maximumRetryAttempts: fc.integer({ min: 0, max: 3 }),
          }),
        ),
        ({ count, poison, maximumRetryAttempts }) => {
          // Prepare
          const policy: FailurePolicy = { bisectBatchOnFunctionError: true, maximumRetryAttempts };
          const isPoison = (record: ShardRecord): boolean => poison.includes(indexes([record])[0] ?? -1);
          let work = [firstAttempt(shardRecords(count))];
          const succeeded: number[] = [];
          const discarded: number[][] = [];
          let invocations = 0;

          // Act: the poller's loop, with a function failing any batch holding a poison record.
          while (work.length > 0) {
            const attempt = invoked(work.shift() as BatchAttempt);
            invocations += 1;
            const verdict: BatchVerdict = attempt.records.some(isPoison) ? failure : { kind: 'success' };
            const decision = decideAfterAttempt(attempt, verdict, policy);
            succeeded.push(...indexes(decision.succeeded));
            if (decision.exhausted) discarded.push(indexes(decision.exhausted.records));
            expect(decision.bisected).toBe(decision.next.length === 2);
            work = [...decision.next, ...work];
          }

          // Assess
          const good = [...Array(count).keys()].filter((index) => !poison.includes(index));
          expect(succeeded).toEqual(good);
          expect(discarded).toEqual([...poison].sort((a, b) => a - b).map((index) => [index]));
          expect(invocations).toBeLessThanOrEqual(2 * count + poison.length * (maximumRetryAttempts + Math.log2(64)));
        },
      ),
    );
  });
});

describe('splitExpired', () => {
  it('splits off the records older than the maximum age', () => {
    // Prepare
    const records = [0, 1, 2].map((index) => shardRecord(index, { arrivalMs: 1_000 * index }));

    // Act
    const { expired, fresh } = splitExpired(records, 61_500, 60_000);

    // Assess
    expect(indexes(expired)).toEqual([0, 1]);
    expect(indexes(fresh)).toEqual([2]);
  });

  it('keeps everything with -1', () => {
    const { expired, fresh } = splitExpired(shardRecords(2), Number.MAX_SAFE_INTEGER, -1);
    expect(expired).toEqual([]);
    expect(fresh).toHaveLength(2);
  });
});
