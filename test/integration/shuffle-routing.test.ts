import { PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { describe, expect, it } from 'vitest';
import { createKinesisClient } from '../../local/aws-clients.js';
import { KinesisShardDirectory } from '../../shared/runtime/io/shard-directory.js';
import { shardOf } from '../../shared/runtime/shuffle-pack.js';
import { createTestStream, useEmulators } from '../helpers/emulators.js';

const emulators = useEmulators({ dynamodb: false });

describe('shuffle routing', () => {
  it('sends a key to the shard Kinesis itself routes its partition key to', async () => {
    // Prepare
    const kinesis = createKinesisClient(emulators().kinesisEndpoint);
    const stream = await createTestStream(kinesis, 5, 'routing');
    const keys = Array.from({ length: 300 }, (_, i) => `key-${i}-${'é'.repeat(i % 3)}`);

    // Act
    const response = await kinesis.send(
      new PutRecordsCommand({
        StreamName: stream,
        Records: keys.map((key) => ({ PartitionKey: key, Data: Buffer.from('x') })),
      }),
    );
    const shards = await new KinesisShardDirectory({ client: kinesis }).openShards(stream);

    // Assess
    expect(keys.map((key) => shardOf(shards, key).shardId)).toEqual(response.Records?.map((r) => r.ShardId));
  });
});
