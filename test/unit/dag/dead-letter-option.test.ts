import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { PipelineDefinitionError, type PipelineOptions, pipeline, toMermaid } from '../../../shared/index.js';

const Click = z.object({ page: z.string() });

function build(options: PipelineOptions, name = 'clicks') {
  const p = pipeline(name, options);
  p.source('in', { schema: Click })
    .keyBy((c) => c.page, { name: 'by-page' })
    .sink('out');
  return p;
}

describe('the deadLetter pipeline option', () => {
  it('sends dead letters to a queue: the plan names it, and no dead-letter stream exists or is written', () => {
    const plan = build({ deadLetter: { queue: true } }).plan();

    expect(plan.deadLetter).toEqual({ kind: 'queue', name: 'clicks-dead-letters' });
    expect(plan.deadLetterStream).toBeUndefined();
    expect(plan.streams.map((s) => s.name)).toEqual(['in', 'clicks-by-page', 'out']);
    expect(plan.streams.some((s) => s.role === 'dead-letter')).toBe(false);
    for (const stage of plan.stages) expect(stage.outputs).not.toContain('clicks-dead-letters');
    expect(plan.stages.map((s) => s.outputs)).toEqual([['clicks-by-page'], ['out']]);
  });

  it('takes a queue name, and then a stream may have the name the default queue would have had', () => {
    const p = pipeline('clicks', { deadLetter: { queue: true, name: 'clicks_failures-1' } });
    p.source('in', { schema: Click }).sink('clicks-dead-letters');

    expect(p.plan().deadLetter).toEqual({ kind: 'queue', name: 'clicks_failures-1' });
  });

  it('keeps the dead-letter stream by default and with deadLetterStream, as before', () => {
    const byDefault = build({}).plan();
    const named = build({ deadLetterStream: 'failures' }).plan();
    const viaOption = build({ deadLetter: { name: 'failures' } }).plan();

    expect(byDefault.deadLetter).toEqual({ kind: 'stream', name: 'clicks-dead-letters' });
    expect(byDefault.deadLetterStream).toBe('clicks-dead-letters');
    expect(byDefault.stages.every((s) => s.outputs.includes('clicks-dead-letters'))).toBe(true);
    expect(named.deadLetter).toEqual({ kind: 'stream', name: 'failures' });
    expect(named.streams.find((s) => s.role === 'dead-letter')?.name).toBe('failures');
    expect(viaOption).toEqual(named);
  });

  it('refuses deadLetterStream with deadLetter, naming both options', () => {
    expect(() => build({ deadLetterStream: 'x', deadLetter: { queue: true } })).toThrow(
      /deadLetterStream and deadLetter exclude each other/,
    );
  });

  it.each([
    ['a name with a dot', 'clicks.failures', /deadLetter\.name: invalid SQS queue name "clicks.failures"/],
    ['a FIFO queue', 'failures.fifo', /FIFO queues are not supported/],
    ['a name over 80 characters', 'q'.repeat(81), /1-80 characters/],
    ['an empty name', '', /invalid SQS queue name ""/],
  ])('refuses %s for a queue', (_, name, message) => {
    expect(() => build({ deadLetter: { queue: true, name } })).toThrow(PipelineDefinitionError);
    expect(() => build({ deadLetter: { queue: true, name } })).toThrow(message);
  });

  it('refuses a queue option that is not a boolean, and an invalid stream name, naming the option', () => {
    expect(() => build({ deadLetter: { queue: 'yes' as unknown as boolean } })).toThrow(
      /deadLetter\.queue must be true or false/,
    );
    expect(() => build({ deadLetterStream: 'bad name' })).toThrow(/deadLetterStream: invalid Kinesis stream name/);
    expect(() => build({ deadLetter: { name: 'bad name' } })).toThrow(/deadLetter\.name: invalid Kinesis stream name/);
  });

  it('draws the queue in the Mermaid graph', () => {
    const p = build({ deadLetter: { queue: true } });
    const mermaid = toMermaid(p.graph, p.plan());

    expect(mermaid).toContain('queue_clicks_dead_letters[/"clicks-dead-letters<br/>dead-letter SQS queue"/]');
    expect(mermaid).toContain('-.->|"dead letters"| queue_clicks_dead_letters');
    expect(mermaid).not.toContain('stream_clicks_dead_letters');
  });
});
