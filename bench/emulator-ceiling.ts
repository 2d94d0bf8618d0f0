import { GetRecordsCommand, GetShardIteratorCommand, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { createKinesisClient } from '../local/aws-clients.js';
import { startEmulators } from '../local/emulators/index.js';
import { ensureStream } from '../local/runner/stream-admin.js';

/**
 * The embedded Kinesis emulator's own ceiling, the baseline of every end-to-end bench: each record
 * put once (PutRecords, 500 a call, Kinesis' maximum) into a one-shard stream of a fresh kinesalite,
 * then read back once (GetRecords, 10,000 a call, its maximum), no Eddy in between. Every hop of an
 * `eddy run` pays at least that much. Returns the time it took, ms.
 */
export async function emulatorCeilingMs(lines: readonly string[]): Promise<number> {
  const emulators = await startEmulators({ dynamodb: false });
  const client = createKinesisClient(emulators.kinesisEndpoint);
  try {
    await ensureStream(client, 'ceiling', 1);
    const started = performance.now();
    for (let i = 0; i < lines.length; i += 500) {
      const batch = lines
        .slice(i, i + 500)
        .map((line, j) => ({ PartitionKey: String(i + j), Data: Buffer.from(line) }));
      await client.send(new PutRecordsCommand({ StreamName: 'ceiling', Records: batch }));
    }
    const shard = {
      StreamName: 'ceiling',
      ShardId: 'shardId-000000000000',
      ShardIteratorType: 'TRIM_HORIZON',
    } as const;
    let iterator = (await client.send(new GetShardIteratorCommand(shard))).ShardIterator;
    let read = 0;
    while (iterator !== undefined && read < lines.length) {
      const page = await client.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 10_000 }));
      read += page.Records?.length ?? 0;
      iterator = page.NextShardIterator;
    }
    return performance.now() - started;
  } finally {
    client.destroy();
    await emulators.stop();
  }
}
