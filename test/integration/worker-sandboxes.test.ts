import { PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { LocalPipeline } from '../../local/runner/local-pipeline.js';
import { pipeline } from '../../shared/index.js';
import { useEmulators, waitUntil } from '../helpers/emulators.js';

const Click = z.object({ user: z.string(), page: z.string(), kind: z.string(), ts: z.number() });

/** A pipeline the parent runs; `examples/page-views.ts` exports another one. */
function mismatch() {
  const p = pipeline('mismatch', {
    eventSource: { maxBatchingWindowSeconds: 0, retryAttempts: 0, bisectBatchOnFunctionError: false },
  });
  p.source('clicks', { schema: Click }).sink('out');
  return p;
}

describe('worker sandboxes', () => {
  const emulators = useEmulators({ dynamodb: false });

  it('need the module that exports the pipeline', async () => {
    await expect(LocalPipeline.start({ pipeline: mismatch(), sandboxes: 'worker' })).rejects.toThrow(/pipelineModule/);
  });

  it('fail an invocation as Runtime.InitError when the module does not export the pipeline run', async () => {
    // Prepare
    const local = await LocalPipeline.start({
      pipeline: mismatch(),
      endpoint: emulators().kinesisEndpoint,
      streamPrefix: `worker-init-${process.pid}-`,
      sandboxes: 'worker',
      pipelineModule: new URL('../../examples/page-views.ts', import.meta.url).pathname,
    });
    try {
      // Act
      await local.kinesis.send(
        new PutRecordsCommand({
          StreamName: local.physicalName('clicks'),
          Records: [{ PartitionKey: 'a', Data: Buffer.from('{"user":"u","page":"/","kind":"view","ts":1}') }],
        }),
      );
      await waitUntil(() => local.failedBatches.length > 0, 'the batch went to the on-failure destination', {
        timeoutMs: 30_000,
      });

      // Assess
      const [stage] = local.status();
      expect(stage?.stats.functionErrors).toBe(1);
      expect(stage?.stats.lastError).toMatch(
        /^Runtime\.InitError: Error: .*page-views\.ts exports pipeline 'page-views', but the local stack runs 'mismatch'/,
      );
      expect(local.failedBatches[0]?.requestContext.condition).toBe('RetryAttemptsExhausted');
      expect(await local.readStream('out')).toEqual([]);
    } finally {
      await local.stop();
    }
  });
});
