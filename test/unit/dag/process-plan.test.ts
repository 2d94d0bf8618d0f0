import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { PipelineDefinitionError, pipeline, state } from '../../../shared/index.js';
import { processingTimeInputs } from '../../../shared/runtime/idleness.js';

const Event = z.object({ key: z.string(), t: z.number() });
const noop = { processElement: () => {} };

describe('planning process functions', () => {
  it('runs a process function in a stateful stage after its keyBy, with its side outputs as streams', () => {
    const p = pipeline('p')
      .source('events', { schema: Event, eventTime: (e) => e.t })
      .keyBy((e) => e.key, { name: 'by-key' })
      .process(noop, { name: 'fn', state: { seen: state.value<number>() }, sideOutputs: ['alerts'] })
      .sink('out');

    const plan = p.plan();

    expect(plan.stages.find((s) => s.id === 'from-p-by-key')).toMatchObject({
      stateful: true,
      outputs: ['p-fn-alerts', 'out', expect.any(String)],
    });
    expect(plan.stateTable).toBe('p-state');
    expect(plan.streams.find((s) => s.name === 'p-fn-alerts')).toMatchObject({ role: 'side-output' });
    expect(processingTimeInputs(p)).toEqual([]);
  });

  it('gives clock ticks to the stage of a process function with processing-time timers', () => {
    const p = pipeline('p')
      .source('events', { schema: Event, eventTime: (e) => e.t })
      .keyBy((e) => e.key, { name: 'by-key' })
      .process(noop, { processingTimers: true })
      .sink('out');

    expect(processingTimeInputs(p)).toEqual(['p-by-key']);
  });

  it('refuses a process function with no event time upstream', () => {
    const p = pipeline('p')
      .source('events', { schema: Event })
      .keyBy((e) => e.key)
      .process(noop)
      .sink('out');

    expect(() => p.plan()).toThrow(PipelineDefinitionError);
    expect(() => p.plan()).toThrow(/a process function needs watermarks/);
  });
});
