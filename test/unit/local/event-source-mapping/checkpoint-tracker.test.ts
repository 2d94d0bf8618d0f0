import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CheckpointTracker } from '../../../../local/event-source-mapping/index.js';
import { sequenceNumber } from './records.js';

describe('CheckpointTracker', () => {
  it('starts at the stored checkpoint', () => {
    expect(new CheckpointTracker('42').checkpoint).toBe('42');
    expect(new CheckpointTracker().checkpoint).toBeUndefined();
  });

  it('advances only past a done prefix when records finish out of order', () => {
    // Prepare
    const tracker = new CheckpointTracker();
    for (let index = 0; index < 4; index += 1) tracker.track(sequenceNumber(index));

    // Act
    const afterSecond = tracker.complete([sequenceNumber(1), sequenceNumber(3)]);
    const afterFirst = tracker.complete([sequenceNumber(0)]);
    const afterLast = tracker.complete([sequenceNumber(2)]);

    // Assess
    expect(afterSecond).toBeUndefined();
    expect(afterFirst).toBe(sequenceNumber(1));
    expect(afterLast).toBe(sequenceNumber(3));
    expect(tracker.outstanding).toBe(0);
  });

  it('rejects a record it never tracked', () => {
    expect(() => new CheckpointTracker().complete(['1'])).toThrow('never tracked');
  });

  it('always sits on the last record of the longest done prefix, whatever the completion order', () => {
    fc.assert(
      fc.property(
        fc
          .integer({ min: 1, max: 60 })
          .chain((count) =>
            fc.tuple(
              fc.constant(count),
              fc.shuffledSubarray([...Array(count).keys()], { minLength: 0, maxLength: count }),
            ),
          ),
        ([count, order]) => {
          // Prepare
          const tracker = new CheckpointTracker();
          for (let index = 0; index < count; index += 1) tracker.track(sequenceNumber(index));
          const done = new Set<number>();

          for (const index of order) {
            // Act
            tracker.complete([sequenceNumber(index)]);
            done.add(index);

            // Assess
            let prefix = 0;
            while (done.has(prefix)) prefix += 1;
            expect(tracker.checkpoint).toBe(prefix === 0 ? undefined : sequenceNumber(prefix - 1));
            expect(tracker.outstanding).toBe(count - prefix);
          }
        },
      ),
    );
  });
});
