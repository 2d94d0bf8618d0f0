import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  motionMark,
  parseStallLimitSeconds,
  type ShardMotion,
  StallWatch,
  stallLimitFromEnvironment,
  stallMessage,
} from '../../../local/runner/stall-watch.js';

const shard = (overrides: Partial<ShardMotion> = {}): ShardMotion => ({
  shardId: 'shardId-000000000000',
  checkpoint: '49000',
  recordsDelivered: 10,
  invocations: 2,
  failedInvocations: 0,
  recordsSentToOnFailure: 0,
  caughtUp: false,
  millisBehindLatest: 1200,
  lastError: undefined,
  lag: { pendingRecords: 5, iteratorAgeMs: 3000 },
  ...overrides,
});

describe('StallWatch', () => {
  it('never reports a stall while the mark keeps changing, however long the run', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 10_000 }), { maxLength: 200 }), (steps) => {
        const watch = new StallWatch(10_000, 0);
        let now = 0;
        return steps.every((step, index) => {
          now += Math.min(step, 9_999);
          return !watch.stalled(`mark ${index}`, now);
        });
      }),
    );
  });

  it('reports a stall once the same mark has lasted the limit, and not before', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 100_000 }), fc.integer({ min: 0, max: 100_000 }), (limit, start) => {
        const watch = new StallWatch(limit, start);
        expect(watch.stalled('a', start)).toBe(false);
        expect(watch.stalled('a', start + limit - 1)).toBe(false);
        expect(watch.stalled('a', start + limit)).toBe(true);
        // Any movement restarts the clock.
        expect(watch.stalled('b', start + limit + 1)).toBe(false);
      }),
    );
  });
});

describe('motionMark', () => {
  const stage = (shards: ShardMotion[], invocations = 3) => ({ stageId: 'counts', invocations, shards });
  it.each([
    ['a checkpoint', { checkpoint: '49001' }],
    ['a delivered record', { recordsDelivered: 11 }],
    ['a finished invocation', { invocations: 3 }],
    ['a failed invocation', { failedInvocations: 1 }],
    ['a read position', { millisBehindLatest: 900 }],
    ['records read', { lag: { pendingRecords: 6, iteratorAgeMs: 3000 } }],
  ])('changes with %s', (_, change) => {
    expect(motionMark([stage([shard(change)])])).not.toBe(motionMark([stage([shard()])]));
  });

  it('changes with records fed and invocations started; not with time alone', () => {
    expect(motionMark([stage([shard()])], 1)).not.toBe(motionMark([stage([shard()])], 0));
    expect(motionMark([stage([shard()], 4)])).not.toBe(motionMark([stage([shard()], 3)]));
    expect(motionMark([stage([shard({ lag: { pendingRecords: 5, iteratorAgeMs: 9000 } })])])).toBe(
      motionMark([stage([shard()])]),
    );
  });
});

describe('stallMessage', () => {
  it('names each stage and shard left with work, how far behind, and the last error', () => {
    const message = stallMessage(
      'page-view-counts',
      [
        { stageId: 'source', invocations: 9, shards: [shard({ caughtUp: true, shardId: 'shardId-000000000001' })] },
        { stageId: 'counts', invocations: 3, shards: [shard({ lastError: 'TimeoutError: GetRecords' })] },
      ],
      300_000,
    );
    expect(message).toContain("pipeline 'page-view-counts' stalled: no record moved for 300 s");
    expect(message).toContain(
      'stage counts, shard shardId-000000000000: 5 records read and not done, behind the tip by 1200 ms',
    );
    expect(message).toContain('last error: TimeoutError: GetRecords');
    expect(message).not.toContain('shardId-000000000001');
    expect(message).toContain('--stall-limit');
  });
});

describe('stall limit settings', () => {
  it('reads seconds from EDDY_STALL_LIMIT_SECONDS, else five minutes', () => {
    expect(stallLimitFromEnvironment({})).toBe(300_000);
    expect(stallLimitFromEnvironment({ EDDY_STALL_LIMIT_SECONDS: '2.5' })).toBe(2_500);
  });

  it('refuses a limit that is not a positive number, naming where it came from', () => {
    expect(() => parseStallLimitSeconds('0', '--stall-limit')).toThrow(
      "--stall-limit: expected a number of seconds above 0, got '0'",
    );
    expect(() => stallLimitFromEnvironment({ EDDY_STALL_LIMIT_SECONDS: 'soon' })).toThrow('EDDY_STALL_LIMIT_SECONDS');
  });
});
