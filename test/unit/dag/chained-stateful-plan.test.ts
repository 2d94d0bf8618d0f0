import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { PipelineDefinitionError } from '../../../shared/dag/errors.js';
import { pipeline } from '../../../shared/index.js';
import { joinWatermarkHoldBack } from '../../../shared/joins/join-operator.js';
import { count, hopping, tumbling, tumblingProcessingTime } from '../../../shared/windows/index.js';

const Click = z.object({ page: z.string(), ts: z.number() });
const noop = { processElement: () => {} };

/** Two event-time sources, `a` and `b`, of one pipeline. */
function twoSources(name: string) {
  const p = pipeline(name);
  const a = p.source('a', { schema: Click, eventTime: (c) => c.ts });
  const b = p.source('b', { schema: Click, eventTime: (c) => c.ts });
  return { p, a, b };
}

const statefulStages = (p: ReturnType<typeof pipeline>) => p.plan().stages.map((s) => [s.id, s.stateful] as const);

describe('planning a stateful operator after another', () => {
  it('plans a window after a join: the join stage, then the window stage', () => {
    const { p, a, b } = twoSources('window-after-join');
    a.join(b, { left: (x) => x.page, right: (x) => x.page, within: { after: '1m' } })
      .keyBy(([x]) => x.page)
      .window(tumbling('1m'))
      .aggregate(count())
      .sink('out');
    expect(statefulStages(p)).toEqual([
      ['from-a', false],
      ['from-b', false],
      ['from-window-after-join-join-1', true],
      ['from-window-after-join-keyBy-1', true],
    ]);
  });

  it('plans a process function after a join, and after a process function', () => {
    const { p, a, b } = twoSources('process-after-join');
    a.join(b, { left: (x) => x.page, right: (x) => x.page, within: { after: '1m' } })
      .keyBy(([x]) => x.page)
      .process(noop)
      .keyBy(() => 'all')
      .process(noop)
      .sink('out');
    expect(statefulStages(p).filter(([, stateful]) => stateful)).toHaveLength(3);
  });

  it('plans a join after a window, and a window after a process function', () => {
    const { p, a, b } = twoSources('join-after-window');
    const perMinute = a
      .keyBy((x) => x.page)
      .window(tumbling('1m'))
      .aggregate(count())
      .map((r) => ({ page: r.key, ts: r.windowEnd - 1 }));
    perMinute
      .join(b.keyBy((x) => x.page).process<z.infer<typeof Click>>(noop), {
        left: (x) => x.page,
        right: (x) => x.page,
        within: { before: '1m', after: '1m' },
      })
      .keyBy(([x]) => x.page)
      .window(hopping('2m', '1m'))
      .aggregate(count())
      .sink('out');
    expect(statefulStages(p).filter(([, stateful]) => stateful)).toHaveLength(4);
  });

  it('refuses an event-time operator after a processing-time window, naming it', () => {
    const p = pipeline('after-clock');
    p.source('a', { schema: Click, eventTime: (c) => c.ts })
      .keyBy((x) => x.page)
      .window(tumblingProcessingTime('1m'))
      .aggregate(count())
      .keyBy((r) => r.key)
      .window(tumbling('5m'))
      .aggregate(count())
      .sink('out');
    expect(() => p.plan()).toThrow(PipelineDefinitionError);
    expect(() => p.plan()).toThrow(/fed by window 'window-1', which has no event time/);
  });
});

describe("a join's watermark hold-back (what its stage forwards trails its input by this)", () => {
  const interval = { kind: 'interval', before: 30, after: 70 } as const;
  it('is the allowed lateness plus 1 for inner interval joins, whatever the bounds', () => {
    expect(joinWatermarkHoldBack({ condition: interval, type: 'inner', allowedLateness: 5 })).toBe(6);
  });
  it('adds the reach of each outer side: after for left records, before for right ones', () => {
    expect(joinWatermarkHoldBack({ condition: interval, type: 'left', allowedLateness: 5 })).toBe(76);
    expect(joinWatermarkHoldBack({ condition: interval, type: 'right', allowedLateness: 5 })).toBe(36);
    expect(joinWatermarkHoldBack({ condition: interval, type: 'full', allowedLateness: 5 })).toBe(76);
  });
  it('is the allowed lateness plus the window size less 1 for window joins', () => {
    const condition = { kind: 'window', assigner: hopping(100, 40) } as const;
    expect(joinWatermarkHoldBack({ condition, type: 'inner', allowedLateness: 5 })).toBe(104);
  });
});
