import { KinesisClient, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { DevSession } from '../../local/observability/dev-session.js';
import type { StatusReport } from '../../local/observability/prometheus.js';
import { pipeline } from '../../shared/index.js';
import { waitUntil } from '../helpers/emulators.js';

const Click = z.object({ user: z.string(), page: z.string() });

/**
 * docs/lag.md, "Producing into eddy dev": a producer of your own, with the AWS SDK v3 and the
 * settings that page gives, puts records into a running `eddy dev` and the pipeline takes them in.
 */
describe('producing into eddy dev with the AWS SDK v3', () => {
  it('works with an HTTP/1 request handler, the endpoint eddy dev prints, and any credentials', async () => {
    // Arrange
    const session = await DevSession.start({
      pipeline: pipeline('produced').source('clicks', { schema: Click }).sink('produced-out'),
      metricsPort: 0,
    });
    try {
      const status = (await (await fetch(`${session.server.url}/status`)).json()) as StatusReport;
      const endpoint = status.kinesisEndpoint as string;
      const streamName = session.local.physicalName('clicks');
      // The settings docs/lag.md gives, as a user writes them.
      const kinesis = new KinesisClient({
        endpoint,
        region: 'us-east-1',
        credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
        requestHandler: new NodeHttpHandler(),
      });

      // Act
      const output = await kinesis.send(
        new PutRecordsCommand({
          StreamName: streamName,
          Records: Array.from({ length: 20 }, (_, i) => ({
            PartitionKey: `u${i}`,
            Data: Buffer.from(JSON.stringify({ user: `u${i}`, page: `/p/${i % 3}` })),
          })),
        }),
      );
      kinesis.destroy();

      // Assess
      expect(output.FailedRecordCount).toBe(0);
      await waitUntil(
        () => session.local.status().some((s) => s.stats.recordsIn === 20 && s.stats.recordsOut === 20),
        'the pipeline took in the 20 records',
        { timeoutMs: 30_000, intervalMs: 50 },
      );
    } finally {
      await session.stop();
    }
  });
});
