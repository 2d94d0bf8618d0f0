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

  it('gives each stateful operator after one keyBy a stage of its own, and the stateless branches beside them one more', () => {
    const byKey = pipeline('p')
      .source('events', { schema: Event, eventTime: (e) => e.t })
      .keyBy((e) => e.key, { name: 'by-key' });
    byKey.dedupe((e) => e.t, { within: '1h', name: 'first' }).sink('firsts');
    byKey.map((e) => e.key, { name: 'keys' }).sink('keys-out');
    byKey.process(noop, { name: 'ticking', processingTimers: true }).sink('ticks');
    byKey.process(noop, { name: 'ticking-too', processingTimers: true }).sink('more-ticks');
    const p = byKey.dedupe((e) => e.key, { within: '1h', name: 'second' }).sink('seconds');

    const stages = p.plan().stages.filter((s) => s.input === 'p-by-key');

    // Fused in one stage, only `first` ran: the others wrote nothing. The clock ticks the stream once.
    expect(stages.map((s) => [s.id, s.nodes, s.stateful])).toEqual([
      ['from-p-by-key', ['by-key', 'first', 'sink-1'], true],
      ['from-p-by-key-keys', ['by-key', 'keys', 'sink-2'], false],
      ['from-p-by-key-ticking', ['by-key', 'ticking', 'sink-3'], true],
      ['from-p-by-key-ticking-too', ['by-key', 'ticking-too', 'sink-4'], true],
      ['from-p-by-key-second', ['by-key', 'second', 'sink-5'], true],
    ]);
    expect(p.plan().streams.find((s) => s.name === 'p-by-key')?.consumers).toEqual(stages.map((s) => s.id));
    expect(processingTimeInputs(p)).toEqual(['p-by-key']);
  });

  it('refuses two stages that would have one id', () => {
    const events = pipeline('p').source('events', { schema: Event, eventTime: (e) => e.t });
    const byKey = events.keyBy((e) => e.key, { name: 'by-key', stream: 'k' });
    byKey.dedupe((e) => e.t, { within: '1h', name: 'a' }).sink('as');
    byKey.dedupe((e) => e.t, { within: '1h', name: 'b' }).sink('bs');
    const p = events
      .keyBy((e) => e.key, { name: 'again', stream: 'k-b' })
      .dedupe((e) => e.t, { within: '1h' })
      .sink('cs');

    expect(() => p.plan()).toThrow(/two stages would be named 'from-k-b'/);
  });
});
