import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import windowed from '../../../examples/page-view-counts.js';
import { pipeline } from '../../../shared/index.js';
import { count, hopping, session, tumbling, tumblingProcessingTime } from '../../../shared/windows/index.js';

const Click = z.object({ page: z.string(), ts: z.number() });

describe('planning windowed pipelines', () => {
  it('makes the stage after the keyBy stateful, with a state table and a late-output stream', () => {
    const plan = windowed.plan();

    expect(plan.stages.map((s) => [s.id, s.stateful])).toEqual([
      ['from-clicks', false],
      ['from-page-view-counts-keyBy-1', true],
    ]);
    expect(plan.stateTable).toBe('page-view-counts-state');
    expect(plan.streams.find((s) => s.name === 'late-clicks')).toMatchObject({
      role: 'side-output',
      producers: ['from-page-view-counts-keyBy-1'],
    });
  });

  it('chains an event-time window after another (two phases)', () => {
    const p = pipeline('two-phase');
    const clicks = p.source('clicks', { schema: Click, eventTime: (c) => c.ts });
    clicks
      .keyBy((c) => c.page)
      .window(tumbling('1m'))
      .aggregate(count())
      .keyBy(() => 'all')
      .window(tumbling('5m'))
      .aggregate(count())
      .sink('out');
    expect(p.plan().stages.map((s) => [s.id, s.stateful])).toEqual([
      ['from-clicks', false],
      ['from-two-phase-keyBy-1', true],
      ['from-two-phase-keyBy-2', true],
    ]);
  });

  it('has no state table when every stage is stateless', () => {
    const p = pipeline('plain');
    p.source('in', { schema: Click }).sink('out');
    expect(p.plan().stateTable).toBeUndefined();
  });

  it('refuses an event-time window whose source has no eventTime, and accepts a processing-time one', () => {
    const eventTime = pipeline('no-time');
    eventTime
      .source('in', { schema: Click })
      .keyBy((c) => c.page)
      .window(tumbling('1m'))
      .aggregate(count())
      .sink('out');
    expect(() => eventTime.plan()).toThrow(
      /window 'window-1': an event-time window needs watermarks .* source 'in' has no eventTime/,
    );

    const processing = pipeline('clock');
    processing
      .source('in', { schema: Click })
      .keyBy((c) => c.page)
      .window(tumblingProcessingTime('1m'))
      .aggregate(count())
      .sink('out');
    expect(processing.plan().stages[1]?.stateful).toBe(true);
  });

  it('refuses durations it cannot read, naming the operator and the option', () => {
    const p = pipeline('bad');
    const keyed = p.source('in', { schema: Click, eventTime: (c) => c.ts }).keyBy((c) => c.page);
    expect(() => keyed.window(tumbling('1m'), { allowedLateness: '5x' as never }).aggregate(count())).toThrow(
      /window 'window-1': allowedLateness '5x' is not a duration/,
    );
  });
});

describe("batching: 'cost'", () => {
  function planned(options: Parameters<typeof pipeline>[1], keyByEventSource?: { maxBatchingWindowSeconds: number }) {
    const p = pipeline('batched', options);
    p.source('clicks', { schema: Click, eventTime: (c) => c.ts })
      .keyBy((c) => c.page, keyByEventSource && { eventSource: keyByEventSource })
      .window(tumbling('1m'))
      .aggregate(count())
      .keyBy(() => 'all')
      .window(hopping('10s', '2s'))
      .aggregate(count())
      .keyBy(() => 'all', { name: 'by-all' })
      .window(session('10m'))
      .aggregate(count())
      .sink('out');
    return p.plan().stages.map((s) => [s.id, s.eventSource.batchSize, s.eventSource.maxBatchingWindowSeconds]);
  }

  it('batches each windowed stage one window period at a time (size, slide, gap; at most 300 s), and no other', () => {
    expect(planned({ batching: 'cost' })).toEqual([
      ['from-clicks', 500, 1],
      ['from-batched-keyBy-1', 10_000, 60],
      ['from-batched-keyBy-2', 10_000, 2],
      ['from-batched-by-all', 10_000, 300],
    ]);
  });

  it("leaves the defaults with 'latency' or none, and yields to eventSource given", () => {
    const defaults = [
      ['from-clicks', 500, 1],
      ['from-batched-keyBy-1', 500, 1],
      ['from-batched-keyBy-2', 500, 1],
      ['from-batched-by-all', 500, 1],
    ];
    expect(planned({ batching: 'latency' })).toEqual(defaults);
    expect(planned({})).toEqual(defaults);
    expect(planned({ batching: 'cost' }, { maxBatchingWindowSeconds: 5 })[1]).toEqual([
      'from-batched-keyBy-1',
      10_000,
      5,
    ]);
    expect(planned({ batching: 'cost', eventSource: { batchSize: 100 } })[1]).toEqual([
      'from-batched-keyBy-1',
      100,
      60,
    ]);
  });

  it('refuses any other preference, naming the pipeline', () => {
    expect(() => pipeline('batched', { batching: 'cheap' as 'cost' })).toThrow(
      /pipeline 'batched': batching must be 'latency' or 'cost', got "cheap"/,
    );
  });
});
