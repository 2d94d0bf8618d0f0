import { describe, expect, expectTypeOf, it } from 'vitest';
import * as z from 'zod';
import examplePipeline from '../../../examples/page-views.js';
import { PipelineDefinitionError, pipeline, toMermaid } from '../../../shared/index.js';

const Click = z.object({ user: z.string(), page: z.string(), kind: z.string(), ts: z.number() });

describe('pipeline builder', () => {
  it('plans the example as two stages: source chain fused up to keyBy, then the keyed stage', () => {
    // Act
    const plan = examplePipeline.plan();

    // Assess
    expect(plan.stages.map((s) => [s.id, s.input, s.nodes, s.outputs])).toEqual([
      [
        'from-clicks',
        'clicks',
        ['clicks', 'filter-1', 'map-1', 'keyBy-1'],
        ['page-views-keyBy-1', 'page-views-dead-letters'],
      ],
      [
        'from-page-views-keyBy-1',
        'page-views-keyBy-1',
        ['keyBy-1', 'sink-1'],
        ['page-views-by-page', 'page-views-dead-letters'],
      ],
    ]);
    expect(plan.streams.map((s) => [s.name, s.role, s.shardCount])).toEqual([
      ['clicks', 'source', 1],
      ['page-views-keyBy-1', 'shuffle', 1],
      ['page-views-by-page', 'sink', 1],
      ['page-views-dead-letters', 'dead-letter', 1],
    ]);
  });

  it('lets types flow through the chain', () => {
    const p = pipeline('typed');
    const s = p.source('in', { schema: Click, eventTime: (c) => c.ts });
    const times = s.map((c) => c.ts);
    expectTypeOf(times).toEqualTypeOf<import('../../../shared/index.js').DataStream<number>>();
    times.sink('times');
    const pages = s.flatMap((c) => [c.page, c.user]);
    expectTypeOf(pages).toEqualTypeOf<import('../../../shared/index.js').DataStream<string>>();
    pages.sink('out');
    expect(p.plan().stages).toHaveLength(1);
  });

  it('supports several sources, fan-out and several keyBys, one stream per edge and one stage per stream read', () => {
    // Prepare
    const p = pipeline('multi', { defaultShards: 2 });
    const a = p.source('a', { schema: Click, shards: 4 });
    const b = p.source('b', { schema: Click });
    a.keyBy((c) => c.user, { name: 'by-user' }).sink('users');
    a.keyBy((c) => c.page, { name: 'by-page', shards: 3 })
      .map((c) => c.page)
      .sink('pages');
    b.filter((c) => c.ts > 0).sink('b-out');

    // Act
    const plan = p.plan();

    // Assess
    expect(plan.stages.map((s) => s.id)).toEqual(['from-a', 'from-b', 'from-multi-by-user', 'from-multi-by-page']);
    expect(plan.stages[0]?.outputs).toEqual(['multi-by-user', 'multi-by-page', 'multi-dead-letters']);
    expect(Object.fromEntries(plan.streams.map((s) => [s.name, s.shardCount]))).toEqual({
      a: 4,
      b: 2,
      'multi-by-user': 2,
      'multi-by-page': 3,
      users: 2,
      pages: 2,
      'b-out': 2,
      'multi-dead-letters': 2,
    });
  });

  it.each([
    [
      'a duplicate stream name',
      () => {
        const p = pipeline('dup');
        p.source('in', { schema: Click }).sink('in');
      },
      /sink 'sink-1': stream 'in' is already used by source 'in'/,
    ],
    [
      'a sink named like the dead-letter stream',
      () => {
        pipeline('dup').source('in', { schema: Click }).sink('dup-dead-letters');
      },
      /already used by the dead-letter stream/,
    ],
    [
      'an invalid stream name',
      () => {
        pipeline('bad').source('in', { schema: Click }).sink('no spaces allowed');
      },
      /sink 'sink-1': invalid Kinesis stream name "no spaces allowed"/,
    ],
    ['an invalid pipeline name', () => pipeline('has space'), /invalid pipeline name "has space"/],
    [
      'a duplicate operator name',
      () => {
        pipeline('names')
          .source('in', { schema: Click })
          .map((c) => c, { name: 'x' })
          .map((c) => c, { name: 'x' });
      },
      /map 'x': an operator named 'x' already exists/,
    ],
    [
      'a function that is not a function',
      () => {
        pipeline('f')
          .source('in', { schema: Click })
          .map(42 as never);
      },
      /map 'map-1': expects a function, got number/,
    ],
    [
      'a bad shard count',
      () => {
        pipeline('s').source('in', { schema: Click, shards: 0 });
      },
      /source 'in': shards must be an integer from 1 to 500, got 0/,
    ],
  ])('rejects %s when it is added', (_, build, message) => {
    expect(build).toThrow(PipelineDefinitionError);
    expect(build).toThrow(message);
  });

  it.each([
    [
      'a branch with no sink',
      () => {
        const p = pipeline('open');
        p.source('in', { schema: Click }).map((c) => c.page);
        return p;
      },
      /map 'map-1': ends a branch with no sink/,
    ],
    [
      'a keyBy followed by nothing',
      () => {
        const p = pipeline('open');
        p.source('in', { schema: Click }).keyBy((c) => c.page);
        return p;
      },
      /keyBy 'keyBy-1': is followed by no operator/,
    ],
    [
      'a source that feeds nothing',
      () => {
        const p = pipeline('open');
        p.source('in', { schema: Click });
        return p;
      },
      /source 'in': ends a branch with no sink/,
    ],
    ['no source at all', () => pipeline('empty'), /has no source/],
    [
      'an event source setting out of range',
      () => {
        return pipeline('esm', { eventSource: { batchSize: 20_000 } })
          .source('in', { schema: Click })
          .sink('out');
      },
      /source 'in': eventSource.batchSize must be an integer from 1 to 10000, got 20000/,
    ],
    [
      'a record age AWS does not accept',
      () => {
        return pipeline('esm')
          .source('in', { schema: Click, eventSource: { maxRecordAgeSeconds: 10 } })
          .sink('out');
      },
      /maxRecordAgeSeconds must be an integer from 60 to 604800 or -1, got 10/,
    ],
  ])('rejects %s when planned', (_, build, message) => {
    const p = build();
    expect(() => p.plan()).toThrow(message);
  });

  it('renders the DAG as Mermaid, a subgraph per stage', () => {
    const text = toMermaid(examplePipeline.graph, examplePipeline.plan());
    expect(text.split('\n')[0]).toBe('flowchart LR');
    expect(text).toContain('subgraph from_clicks["λ from-clicks"]');
    expect(text).toContain('stream_clicks --> op_clicks');
    expect(text).toContain('op_clicks --> op_filter_1');
    expect(text).toContain('-->|"keyBy"| stream_page_views_keyBy_1');
  });
});
