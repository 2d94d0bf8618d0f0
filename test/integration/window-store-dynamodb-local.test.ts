import { DescribeTimeToLiveCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDynamoDbClient } from '../../local/aws-clients.js';
import { DynamoDbWindowStore } from '../../shared/runtime/io/dynamodb-window-store.js';
import { createStateTable } from '../../shared/runtime/io/state-table-schema.js';
import { useEmulators } from '../helpers/emulators.js';
import { describeWindowStoreContract } from '../helpers/window-store-contract.js';

/**
 * The window store's contract on AWS's own DynamoDB Local, the second engine pair: unlike dynalite
 * it returns the live item with a failed condition (ReturnValuesOnConditionCheckFailure ALL_OLD)
 * and implements UpdateTimeToLive, as DynamoDB does, so the paths the cloud takes run here for real.
 */
const emulators = useEmulators({ engines: 'kinesis-mock+dynamodb-local', kinesis: false });
const tableName = `eddy-state-${process.pid}`;
let client: DynamoDBClient;

beforeAll(async () => {
  client = createDynamoDbClient(emulators().dynamodbEndpoint);
  await createStateTable(client, tableName, { pollIntervalMs: 10 });
});

afterAll(() => client.destroy());

describeWindowStoreContract('DynamoDbWindowStore on DynamoDB Local', () => ({
  create: (options) => new DynamoDbWindowStore({ client, tableName, backoff: { baseMs: 1, capMs: 2 }, ...options }),
  reportsCurrent: true,
}));

describe('createStateTable on DynamoDB Local', () => {
  it('turns TTL on for expiresAt (dynalite cannot: UpdateTimeToLive is unknown there)', async () => {
    const { TimeToLiveDescription } = await client.send(new DescribeTimeToLiveCommand({ TableName: tableName }));

    expect(TimeToLiveDescription).toMatchObject({ TimeToLiveStatus: 'ENABLED', AttributeName: 'expiresAt' });
  });
});
