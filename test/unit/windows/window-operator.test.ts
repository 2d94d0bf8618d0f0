import { describe, expect, it } from 'vitest';
import { aggregate, count, sum } from '../../../shared/windows/aggregations.js';
import { hopping, session, tumbling } from '../../../shared/windows/assigners.js';
import type { Aggregation, EmitMode, WindowAssigner, WindowState } from '../../../shared/windows/types.js';
import {
  addToWindows,
  fireWindows,
  isWindowClosed,
  processKeyBatch,
  type TimedValue,
  type WindowSpec,
  WindowStateError,
  windowFireAt,
} from '../../../shared/windows/window-operator.js';

const at = (...times: number[]): TimedValue<number>[] => times.map((time, i) => ({ value: 1, time, id: `r${i}` }));
const spec = <A, R>(
  assigner: WindowAssigner,
  aggregation: Aggregation<number, A, R>,
  allowedLateness = 0,
  emit: EmitMode = 'final',
): WindowSpec<number, A, R> => ({ assigner, aggregation, allowedLateness, emit });
const state = (start: number, end: number, accumulator: number, emitted = 0): WindowState<number> => ({
  key: 'k',
  start,
  end,
  accumulator,
  count: accumulator,
  emitted,
});
const bounds = (windows: readonly { start: number; end: number }[]) => windows.map((w) => [w.start, w.end]);

describe('windowFireAt', () => {
  it('is end - 1 + allowed lateness: the watermark that says the window is complete', () => {
    // Act / Assess
    expect(windowFireAt({ end: 10 }, 0)).toBe(9);
    expect(windowFireAt({ end: 10 }, 5)).toBe(14);
    expect(isWindowClosed({ end: 10 }, 5, 13)).toBe(false);
    expect(isWindowClosed({ end: 10 }, 5, 14)).toBe(true);
    expect(isWindowClosed({ end: 10 }, 0, Number.POSITIVE_INFINITY)).toBe(true);
    expect(isWindowClosed({ end: 10 }, 0, Number.NEGATIVE_INFINITY)).toBe(false);
  });
});

describe('addToWindows', () => {
  it('adds tumbling records to their window and reports which windows changed', () => {
    // Prepare
    const given = [state(0, 10, 2), state(10, 20, 1)];

    // Act
    const out = addToWindows(spec(tumbling(10), count()), given, 'k', at(3, 25, 9.9), Number.NEGATIVE_INFINITY);

    // Assess: 9.9 is floored to 9, still in [0, 10).
    expect(out.windows).toEqual([state(0, 10, 4), state(10, 20, 1), state(20, 30, 1)]);
    expect(out.windows[1]).toBe(given[1]);
    expect(bounds(out.changed)).toEqual([
      [0, 10],
      [20, 30],
    ]);
    expect(out.removed).toEqual([]);
    expect(out.late).toEqual([]);
  });

  it('takes a record while its window is open and reports it late from the watermark end - 1 + lateness on', () => {
    // Prepare
    const windowSpec = spec(tumbling(10), count(), 5);

    // Act
    const open = addToWindows(windowSpec, [], 'k', at(3), 13);
    const late = addToWindows(windowSpec, [], 'k', at(3), 14);

    // Assess
    expect(bounds(open.windows)).toEqual([[0, 10]]);
    expect(open.late).toEqual([]);
    expect(late.windows).toEqual([]);
    expect(late.late).toEqual([
      {
        record: { value: 1, time: 3, id: 'r0' },
        watermark: 14,
        windows: [{ start: 0, end: 10 }],
        reason:
          'time 3 is too late: its window closed when the watermark reached 14 (end of [0, 10) - 1 + allowed ' +
          'lateness 5 ms), and the watermark is 14',
      },
    ]);
  });

  it('uses the watermark in force when each record arrived', () => {
    // Prepare: the watermark passes 9 between the two records of the batch.
    const watermarks = [5, 9];

    // Act
    const out = addToWindows(spec(tumbling(10), count()), [], 'k', at(4, 4), (i) => watermarks[i] as number);

    // Assess
    expect(out.windows).toEqual([state(0, 10, 1)]);
    expect(out.late.map((l) => l.record.id)).toEqual(['r1']);
  });

  it('adds a hopping record to its windows still open, and reports it late only when none is', () => {
    // Prepare: windows of 10 every 5; 7 is in [0, 10) and [5, 15).
    const windowSpec = spec(hopping(10, 5), count());

    // Act
    const partly = addToWindows(windowSpec, [], 'k', at(7), 9);
    const late = addToWindows(windowSpec, [], 'k', at(7), 14);

    // Assess
    expect(bounds(partly.windows)).toEqual([[5, 15]]);
    expect(partly.late).toEqual([]);
    expect(late.late[0]?.windows).toEqual([
      { start: 0, end: 10 },
      { start: 5, end: 15 },
    ]);
  });

  it('merges sessions a record bridges, merging their accumulators, and reports the windows merged away', () => {
    // Prepare: sessions of gap 5: [0, 7) from records at 0 and 2, [10, 15) from one at 10.
    const given = [state(0, 7, 2, 1), state(10, 15, 1, 1)];

    // Act: 6 overlaps both (its window is [6, 11)).
    const out = addToWindows(
      spec(
        session(5),
        sum((x: number) => x),
      ),
      given,
      'k',
      at(6),
      0,
    );

    // Assess: a new window, so its revisions start again.
    expect(out.windows).toEqual([{ key: 'k', start: 0, end: 15, accumulator: 4, count: 4, emitted: 0 }]);
    expect(out.changed).toEqual(out.windows);
    expect(out.removed).toEqual(given);
  });

  it('keeps a session that a record falls inside, and splits records exactly gap apart', () => {
    // Prepare
    const given = [state(0, 10, 1, 3)];

    // Act
    const inside = addToWindows(spec(session(5), count()), given, 'k', at(4), 0);
    const apart = addToWindows(spec(session(5), count()), given, 'k', at(10), 0);

    // Assess
    expect(inside.windows).toEqual([state(0, 10, 2, 3)]);
    expect(inside.removed).toEqual([]);
    expect(bounds(apart.windows)).toEqual([
      [0, 10],
      [10, 15],
    ]);
  });

  it('reports a session record late when time + lateness <= watermark, even if [t, t + gap) is still open', () => {
    // Prepare: a session [0, 10) may have been emitted at watermark 9; a record at 5 would have joined it.
    const windowSpec = spec(session(5), count(), 2);

    // Act
    const late = addToWindows(windowSpec, [], 'k', at(5), 7);
    const open = addToWindows(windowSpec, [], 'k', at(5), 6);

    // Assess
    expect(late.late.map((l) => l.reason)).toEqual([
      'time 5 is too late: the watermark 7 is past it by at least the allowed lateness 2 ms, so it could belong to a ' +
        'session already emitted',
    ]);
    expect(bounds(open.windows)).toEqual([[5, 10]]);
  });

  it('reports records with invalid times, or whose aggregation throws, as failed and adds nothing of them', () => {
    // Prepare
    const records: TimedValue<unknown>[] = [
      { value: 1, time: Number.NaN, id: 'nan' },
      { value: 1, time: 2 ** 52, id: 'far' },
      { value: 'x', time: 1, id: 'text' },
      { value: 2, time: 1, id: 'ok' },
    ];
    const total = sum((x: unknown) => x as number);

    // Act
    const out = addToWindows(spec(hopping(10, 5), total) as WindowSpec<unknown, number, number>, [], 'k', records, 0);

    // Assess
    expect(out.failed.map((f) => [f.record.id, f.message])).toEqual([
      ['nan', expect.stringMatching(/^time NaN is not finite: an event time is epoch milliseconds within ±2\^51/)],
      ['far', expect.stringMatching(/^time 4503599627370496 is out of range/)],
      ['text', "sum: the value function returned 'x', not a finite number"],
    ]);
    expect(out.windows.map((w) => [w.start, w.accumulator, w.count])).toEqual([
      [-5, 2, 1],
      [0, 2, 1],
    ]);
  });

  it('leaves the windows it was given as they were, even with an aggregation that mutates its accumulator', () => {
    // Prepare
    const collect = aggregate({
      init: (): number[] => [],
      add: (acc, x: number) => {
        acc.push(x);
        return acc;
      },
      merge: (a, b) => [...a, ...b],
      result: (acc) => acc,
    });
    const given = Object.freeze([
      Object.freeze({ key: 'k', start: 0, end: 10, accumulator: Object.freeze([1]), count: 1, emitted: 0 }),
    ]);

    // Act
    const out = addToWindows(spec(tumbling(10), collect), given as WindowState<number[]>[], 'k', at(2), 0);

    // Assess
    expect(out.failed).toEqual([]);
    expect(out.windows[0]?.accumulator).toEqual([1, 1]);
    expect(given[0]?.accumulator).toEqual([1]);
  });

  it('skips windows a retried batch already applied a record to, without calling the record late', () => {
    // Prepare: hopping windows [0, 10) and [5, 15) hold 7; the first attempt added record 0 to [0, 10) only.
    const applied = (index: number, w: { start: number }) => index === 0 && w.start === 0;

    // Act
    const out = addToWindows(spec(hopping(10, 5), count()), [state(0, 10, 1)], 'k', at(7, 7), 0, applied);

    // Assess
    expect(out.windows.map((w) => [w.start, w.count])).toEqual([
      [0, 2],
      [5, 2],
    ]);
    expect(out.late).toEqual([]);
  });

  it('treats a window marked closed (a tombstone) as fired: it takes no record, and a session joins none', () => {
    // Prepare
    const tombstone = { ...state(0, 10, 2, 1), closed: true };

    // Act
    const fixed = addToWindows(spec(tumbling(10), count()), [tombstone], 'k', at(3), 0);
    const sessions = addToWindows(spec(session(5), count()), [tombstone], 'k', at(8), 0);
    const fired = fireWindows(spec(tumbling(10), count()), [tombstone], [tombstone], Number.POSITIVE_INFINITY);

    // Assess
    expect(fixed.windows).toEqual([tombstone]);
    expect(fixed.late.map((l) => l.reason)).toEqual(['time 3 is too late: [0, 10) already fired']);
    expect(sessions.windows).toEqual([tombstone]);
    expect(sessions.late.map((l) => l.reason)).toEqual(['time 8 is too late: session [0, 10) already fired']);
    expect(fired.results).toEqual([]);
    expect(fired.windows).toEqual([tombstone]);
  });

  it("refuses another key's windows and a bad lateness: a caller's bug", () => {
    // Act / Assess
    expect(() => addToWindows(spec(tumbling(10), count()), [state(0, 10, 1)], 'other', [], 0)).toThrow(
      WindowStateError,
    );
    expect(() => addToWindows(spec(tumbling(10), count(), Number.NaN), [], 'k', [], 0)).toThrow(
      'allowedLateness must be a finite number of ms >= 0, got NaN',
    );
  });
});

describe('fireWindows', () => {
  it('fires a window once the watermark reaches end - 1 + lateness, and removes it', () => {
    // Prepare
    const windows = [state(0, 10, 3), state(10, 20, 1)];

    // Act
    const before = fireWindows(spec(tumbling(10), count(), 5), windows, [], 13);
    const after = fireWindows(spec(tumbling(10), count(), 5), windows, [], 14);

    // Assess
    expect(before.results).toEqual([]);
    expect(before.windows).toEqual(windows);
    expect(after.results).toEqual([{ key: 'k', windowStart: 0, windowEnd: 10, value: 3, kind: 'final', revision: 0 }]);
    expect(after.windows).toEqual([state(10, 20, 1)]);
    expect(after.removed).toEqual([state(0, 10, 3)]);
    expect(after.updated).toEqual([]);
  });

  it('fires nothing at -Infinity and everything at +Infinity, in order of end, start and key', () => {
    // Prepare
    const windows = [state(10, 20, 1), { ...state(0, 10, 2), key: 'b' }, { ...state(0, 10, 3), key: 'a' }];

    // Act
    const none = fireWindows(spec(tumbling(10), count()), windows, [], Number.NEGATIVE_INFINITY);
    const all = fireWindows(spec(tumbling(10), count()), windows, [], Number.POSITIVE_INFINITY);

    // Assess
    expect(none.results).toEqual([]);
    expect(all.results.map((r) => [r.key, r.windowStart])).toEqual([
      ['a', 0],
      ['b', 0],
      ['k', 10],
    ]);
    expect(all.windows).toEqual([]);
  });

  it('in early mode, emits an update per changed open window, numbered by revision, and the final when it closes', () => {
    // Prepare: [10, 20) emitted twice already and changed; [0, 10) changed but closed now; [20, 30) not changed.
    const windows = [state(0, 10, 1, 1), state(10, 20, 3, 2), state(20, 30, 1, 1)];
    const changed = [state(0, 10, 0), state(10, 20, 0)];

    // Act
    const out = fireWindows(spec(tumbling(10), count(), 5, 'early'), windows, changed, 14);

    // Assess
    expect(out.results).toEqual([
      { key: 'k', windowStart: 0, windowEnd: 10, value: 1, kind: 'final', revision: 1 },
      { key: 'k', windowStart: 10, windowEnd: 20, value: 3, kind: 'update', revision: 2 },
    ]);
    expect(out.updated).toEqual([state(10, 20, 3, 3)]);
    expect(out.windows).toEqual([state(10, 20, 3, 3), state(20, 30, 1, 1)]);
    expect(out.removed).toEqual([state(0, 10, 1, 1)]);
  });

  it('reports a window whose result throws, and still removes it when it closes', () => {
    // Prepare
    const broken = aggregate({
      name: 'broken',
      init: () => 0,
      add: (a: number) => a + 1,
      merge: (a, b) => a + b,
      result: (): number => {
        throw new Error('no');
      },
    });

    // Act
    const out = fireWindows(spec(tumbling(10), broken), [state(0, 10, 1)], [], 9);

    // Assess
    expect(out.results).toEqual([]);
    expect(out.failed.map((f) => f.message)).toEqual(['broken threw: no']);
    expect(out.removed).toEqual([state(0, 10, 1)]);
  });
});

describe('processKeyBatch', () => {
  it('writes each changed window once, deletes what existed and is gone, and forgets windows born and fired in the batch', () => {
    // Prepare: [0, 10) is stored; the batch adds to it and to [30, 40), starts [20, 30), and the watermark closes
    // [0, 10) and [20, 30).
    const given = [state(0, 10, 1, 1), state(30, 40, 1, 1)];

    // Act
    const out = processKeyBatch(spec(tumbling(10), count(), 0, 'early'), given, 'k', at(5, 25, 35), 0, 29);

    // Assess
    expect(out.results.map((r) => [r.windowStart, r.kind, r.revision])).toEqual([
      [0, 'final', 1],
      [20, 'final', 0],
      [30, 'update', 1],
    ]);
    expect(out.put).toEqual([state(30, 40, 2, 2)]);
    expect(out.deleted).toEqual([state(0, 10, 2, 1)]);
    expect(out.windows).toEqual([state(30, 40, 2, 2)]);
  });

  it('deletes sessions merged away', () => {
    // Prepare
    const given = [state(0, 5, 1), state(8, 13, 1)];

    // Act
    const out = processKeyBatch(spec(session(5), count()), given, 'k', at(4), 0, 0);

    // Assess
    expect(out.put).toEqual([state(0, 13, 3)]);
    expect(out.deleted).toEqual(given);
  });
});
