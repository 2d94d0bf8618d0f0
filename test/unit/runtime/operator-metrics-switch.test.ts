import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import * as z from 'zod';
import { type PipelineOptions, pipeline } from '../../../shared/index.js';
import { MemoryRecordWriter } from '../../../shared/runtime/io/memory-record-writer.js';
import { createLambdaStageHandler } from '../../../shared/runtime/lambda-handler.js';
import { kinesisEvent, lambdaContext } from '../../helpers/kinesis-events.js';

const Click = z.object({ page: z.string(), kind: z.string() });

function views(options: PipelineOptions) {
  return pipeline('views', options)
    .source('clicks', { schema: Click })
    .filter((c) => c.kind === 'view')
    .sink('views');
}

/** Runs one batch of the source stage; returns the EMF documents and the stage metrics' names. */
async function oneBatch(options: PipelineOptions) {
  const documents: string[] = [];
  const metrics = new Metrics({ namespace: 'test' });
  const added = vi.spyOn(metrics, 'addMetric');
  // Nothing to flush to: the stage metrics are read off addMetric.
  vi.spyOn(metrics, 'publishStoredMetrics').mockImplementation(() => metrics);
  const handler = createLambdaStageHandler(views(options), {
    stageId: 'from-clicks',
    writer: new MemoryRecordWriter(),
    // `profile: 'cost'` sends dead letters to a queue: none are made here.
    deadLetters: { send: async () => ({ failed: [], requests: 0 }) },
    logger: new Logger({ logLevel: 'SILENT' }),
    metrics,
    emfOutput: (document) => documents.push(document),
  });
  await handler(
    kinesisEvent([{ data: { page: '/a', kind: 'view' } }, { data: { page: '/b', kind: 'click' } }]),
    lambdaContext(),
  );
  return { documents, stageMetrics: new Set(added.mock.calls.map(([name]) => name)) };
}

describe('operatorMetrics', () => {
  const saved = { disabled: process.env.POWERTOOLS_METRICS_DISABLED, dev: process.env.POWERTOOLS_DEV };
  beforeEach(() => {
    delete process.env.POWERTOOLS_METRICS_DISABLED;
    delete process.env.POWERTOOLS_DEV;
  });
  afterEach(() => {
    if (saved.disabled !== undefined) process.env.POWERTOOLS_METRICS_DISABLED = saved.disabled;
    if (saved.dev !== undefined) process.env.POWERTOOLS_DEV = saved.dev;
    vi.restoreAllMocks();
  });

  it('publishes one EMF document per operator by default', async () => {
    const { documents, stageMetrics } = await oneBatch({});
    expect(documents.map((d) => JSON.parse(d).operator)).toEqual(['clicks', 'filter-1', 'sink-1']);
    expect(stageMetrics).toContain('RecordsFiltered');
  });

  it("publishes none with operatorMetrics: false or profile: 'cost', and keeps the stage metrics", async () => {
    for (const options of [{ operatorMetrics: false }, { profile: 'cost' }] as const) {
      const { documents, stageMetrics } = await oneBatch(options);
      expect(documents).toEqual([]);
      expect([...stageMetrics]).toEqual(expect.arrayContaining(['RecordsIn', 'RecordsOut', 'RecordsFiltered']));
    }
  });
});
