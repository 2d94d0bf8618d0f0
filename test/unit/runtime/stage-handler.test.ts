import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { pipeline } from '../../../shared/index.js';
import type { DeadLetterEnvelope } from '../../../shared/runtime/dead-letter.js';
import { MemoryRecordWriter } from '../../../shared/runtime/io/memory-record-writer.js';
import { MemoryWindowStore } from '../../../shared/runtime/io/memory-window-store.js';
import type { RecordWriter } from '../../../shared/runtime/io/record-writer.js';
import { createLambdaStageHandler, createStageHandler } from '../../../shared/runtime/lambda-handler.js';
import type { OutputRecord } from '../../../shared/runtime/records.js';
import { joinOperatorOf } from '../../../shared/runtime/stateful-join.js';
import { statefulRunnerOf } from '../../../shared/runtime/stateful-runner.js';
import { windowOperatorOf } from '../../../shared/runtime/stateful-window.js';
import { count, tumbling } from '../../../shared/windows/index.js';
import { kinesisEvent, lambdaContext } from '../../helpers/kinesis-events.js';

process.env.POWERTOOLS_METRICS_DISABLED = 'true';
const quiet = () => ({ logger: new Logger({ logLevel: 'SILENT' }), metrics: new Metrics({ namespace: 'test' }) });

const Click = z.object({ user: z.string(), page: z.string(), kind: z.string(), ts: z.number() });
const click = (over: Partial<z.infer<typeof Click>> = {}) => ({
  user: 'u1',
  page: '/a',
  kind: 'view',
  ts: 1000,
  ...over,
});

function examplePipeline() {
  return pipeline('page-views')
    .source('clicks', { schema: Click, eventTime: (c) => c.ts })
    .filter((c) => c.kind === 'view')
    .map((c) => ({ page: c.page, user: c.user, ts: c.ts }))
    .keyBy((v) => v.page)
    .sink('page-views-by-page');
}

describe('stage handler', () => {
  it('applies the fused operators and packs the shuffle envelopes per destination shard', async () => {
    // Prepare
    const writer = new MemoryRecordWriter();
    const handler = createLambdaStageHandler(examplePipeline(), { stageId: 'from-clicks', writer, ...quiet() });
    const event = kinesisEvent([
      { data: click() },
      { data: click({ kind: 'click' }) },
      { data: click({ page: '/b', ts: 7 }) },
    ]);

    // Act
    const response = await handler(event, lambdaContext());

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    // One pack for the stream's one shard: the envelopes in input order, each with its position.
    const written = writer.streams.get('page-views-keyBy-1') ?? [];
    expect(written).toHaveLength(1);
    expect(written[0]).toMatchObject({ partitionKey: 'from-clicks/shardId-000000000000', explicitHashKey: '0' });
    const pack = JSON.parse(written[0]?.data ?? '{}');
    expect(pack.ch).toBe('from-clicks/shardId-000000000000');
    expect(pack.e).toEqual([
      {
        q: expect.stringMatching(/^\d+$/),
        id: expect.stringMatching(/^clicks\/shardId-000000000000\/\d+$/),
        k: '/a',
        t: 1000,
        v: { page: '/a', user: 'u1', ts: 1000 },
      },
      {
        q: expect.stringMatching(/^\d+$/),
        id: expect.any(String),
        k: '/b',
        t: 7,
        v: { page: '/b', user: 'u1', ts: 7 },
      },
    ]);
    expect(BigInt(pack.e[0].q)).toBeLessThan(BigInt(pack.e[1].q));
  });

  it('writes plain values to the sink with the key as partition key', async () => {
    // Prepare
    const writer = new MemoryRecordWriter();
    const handler = createLambdaStageHandler(examplePipeline(), {
      stageId: 'from-page-views-keyBy-1',
      writer,
      ...quiet(),
    });
    const envelope = { id: 'clicks/s/1', k: '/a', t: 5, v: { page: '/a', user: 'u', ts: 5 } };

    // Act
    await handler(
      kinesisEvent([{ stream: 'page-views-keyBy-1', partitionKey: '/a', data: envelope }]),
      lambdaContext(),
    );

    // Assess
    expect(writer.values('page-views-by-page')).toEqual([{ page: '/a', user: 'u', ts: 5 }]);
    expect(writer.streams.get('page-views-by-page')?.[0]?.partitionKey).toBe('/a');
  });

  it('dead-letters malformed JSON, schema violations and throwing operators, naming record, field and operator', async () => {
    // Prepare
    const writer = new MemoryRecordWriter();
    const p = pipeline('bad-input')
      .source('in', { schema: Click })
      .map((c) => {
        if (c.user === 'boom') throw new Error('kaboom');
        return c;
      })
      .sink('out');
    const handler = createLambdaStageHandler(p, { stageId: 'from-in', writer, ...quiet() });
    const event = kinesisEvent([
      { stream: 'in', data: '{"user": "u1", ', sequenceNumber: '101' },
      { stream: 'in', data: { ...click(), ts: 'yesterday' }, sequenceNumber: '102' },
      { stream: 'in', data: click({ user: 'boom' }), sequenceNumber: '103' },
      { stream: 'in', data: click(), sequenceNumber: '104' },
    ]);

    // Act
    const response = await handler(event, lambdaContext());

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect(writer.values('out')).toEqual([click()]);
    const dead = writer.values('bad-input-dead-letters') as DeadLetterEnvelope[];
    expect(dead.map((d) => [d.source.sequenceNumber, d.error.reason, d.error.operator])).toEqual([
      ['101', 'malformed-json', 'in'],
      ['102', 'schema-violation', 'in'],
      ['103', 'operator-error', 'map-1'],
    ]);
    expect(dead[1]?.error.issues?.map((i) => i.field)).toEqual(['ts']);
    expect(dead[2]?.error.message).toContain('kaboom');
    expect(Buffer.from(dead[0]?.payload ?? '', 'base64').toString()).toBe('{"user": "u1", ');
    expect(dead[0]?.source).toMatchObject({ stream: 'in', shardId: 'shardId-000000000000', partitionKey: 'pk' });
  });

  it('fans out to two branches and numbers flatMap outputs', async () => {
    // Prepare
    const writer = new MemoryRecordWriter();
    const p = pipeline('fan');
    const words = p.source('lines', { schema: z.string() });
    words.flatMap((line) => line.split(' ')).sink('words');
    words.map((line) => line.length).sink('lengths');
    const handler = createLambdaStageHandler(p, { stageId: 'from-lines', writer, ...quiet() });

    // Act
    await handler(kinesisEvent([{ stream: 'lines', data: '"a bb c"' }]), lambdaContext());

    // Assess
    expect(writer.values('words')).toEqual(['a', 'bb', 'c']);
    expect(writer.values('lengths')).toEqual([6]);
    const ids = (writer.streams.get('words') ?? []).map((r) => r.partitionKey);
    expect(ids.map((id) => id.slice(-2))).toEqual(['/0', '/1', '/2']);
  });

  it('reports records whose outputs could not be written as batch item failures', async () => {
    // Prepare
    const failing: RecordWriter = {
      async write(records: readonly OutputRecord[]) {
        return { failed: records.filter((r) => r.data.includes('"u2"')), requests: 1 };
      },
    };
    const p = pipeline('w').source('in', { schema: Click }).sink('out');
    const handler = createLambdaStageHandler(p, { stageId: 'from-in', writer: failing, ...quiet() });
    const event = kinesisEvent([
      { stream: 'in', data: click(), sequenceNumber: '11' },
      { stream: 'in', data: click({ user: 'u2' }), sequenceNumber: '12' },
      { stream: 'in', data: click(), sequenceNumber: '13' },
    ]);

    // Act
    const response = await handler(event, lambdaContext());

    // Assess
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: '12' }]);
  });

  it('refuses, at init, a stage that keeps state when the function was built without DynamoDB', () => {
    const counts = pipeline('counts')
      .source('clicks', { schema: Click, eventTime: (c) => c.ts })
      .keyBy((c) => c.page)
      .window(tumbling('1m'))
      .aggregate(count())
      .sink('counts');
    const stateful = counts.plan().stages.find((stage) => stage.stateful)?.id ?? '';
    process.env.EDDY_STATE_TABLE = 'counts-state';
    try {
      expect(() => createLambdaStageHandler(counts, { stageId: stateful, ...quiet() })).toThrow(
        `stage ${stateful} keeps state or uses tables, and this function was built without DynamoDB ` +
          '(functions/stateless-stage-handler.ts): deploy it with functions/stage-handler.ts',
      );
      // Its stateless stage runs without it.
      expect(() => createLambdaStageHandler(counts, { stageId: 'from-clicks', ...quiet() })).not.toThrow();
    } finally {
      delete process.env.EDDY_STATE_TABLE;
    }
  });

  it('refuses, at init, a stateful stage of a kind the entry point does not bundle, and runs its own kind', () => {
    // Prepare
    const counts = pipeline('counts')
      .source('clicks', { schema: Click, eventTime: (c) => c.ts })
      .keyBy((c) => c.page)
      .window(tumbling('1m'))
      .aggregate(count())
      .sink('counts');
    const windowStage = counts.plan().stages.find((stage) => stage.stateful)?.id ?? '';
    const store = new MemoryWindowStore();
    const writer = new MemoryRecordWriter();

    // Act / Assess: the stateless entry point's handler, then a join's, then a window's
    expect(() => createStageHandler(counts, { stageId: windowStage, store, writer, ...quiet() })).toThrow(
      `stage ${windowStage} keeps state for its window 'window-1', and this function was built for stages ` +
        'that keep none (functions/stateless-stage-handler.ts)',
    );
    const joinOnly = statefulRunnerOf({ join: joinOperatorOf });
    expect(() =>
      createStageHandler(counts, { stageId: windowStage, store, writer, stateful: joinOnly, ...quiet() }),
    ).toThrow(
      `stage ${windowStage} runs a window ('window-1'), and this function was built without it (its entry point ` +
        'bundles join)',
    );
    const windowOnly = statefulRunnerOf({ window: windowOperatorOf });
    expect(() =>
      createStageHandler(counts, { stageId: windowStage, store, writer, stateful: windowOnly, ...quiet() }),
    ).not.toThrow();
    expect(() => createStageHandler(counts, { stageId: 'from-clicks', writer, ...quiet() })).not.toThrow();
  });

  it('refuses a stage id that is not in the pipeline', () => {
    expect(() => createLambdaStageHandler(examplePipeline(), { stageId: 'nope', ...quiet() })).toThrow(
      /no stage 'nope' \(stages: from-clicks, from-page-views-keyBy-1\)/,
    );
  });
});
