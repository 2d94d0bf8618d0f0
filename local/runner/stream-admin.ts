import {
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  type KinesisClient,
  ResourceInUseException,
} from '@aws-sdk/client-kinesis';
import { sleep } from '../../shared/util/backoff.js';

/** Creates a stream if it does not exist and waits until it is ACTIVE. */
export async function ensureStream(client: KinesisClient, name: string, shardCount: number): Promise<void> {
  try {
    await client.send(new CreateStreamCommand({ StreamName: name, ShardCount: shardCount }));
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
  }
  for (let attempt = 0; ; attempt += 1) {
    const summary = await client.send(new DescribeStreamSummaryCommand({ StreamName: name }));
    if (summary.StreamDescriptionSummary?.StreamStatus === 'ACTIVE') return;
    if (attempt > 600) throw new Error(`stream ${name} did not become ACTIVE`);
    await sleep(100);
  }
}
