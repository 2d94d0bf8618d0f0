import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { KinesisClient, ListStreamsCommand } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDynamoDbClient, createKinesisClient } from '../../local/aws-clients.js';
import { nameCallsInErrors } from '../../local/call-context-errors.js';
import { type FaultProxy, startFaultProxy } from '../helpers/fault-proxy.js';

/** A client as the local stack builds one, but with a request timeout a test can wait for. */
const impatientClient = (endpoint: string, maxAttempts: number) =>
  nameCallsInErrors(
    new KinesisClient({
      endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      requestHandler: new NodeHttpHandler({ requestTimeout: 200, throwOnRequestTimeout: true }),
      maxAttempts,
    }),
    endpoint,
  );

const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (error: unknown) => error as Error & { $metadata?: { httpStatusCode?: number } },
  );

describe('errors of local clients name the call and the endpoint', () => {
  let proxy: FaultProxy;

  beforeAll(async () => {
    // Nothing listens upstream: every call the proxy holds times out in the client first.
    proxy = await startFaultProxy({ upstream: 'http://127.0.0.1:9' });
  });

  afterAll(async () => {
    await proxy.stop();
  });

  it('a request timeout names the operation, the endpoint and the attempts', async () => {
    // Prepare
    proxy.setRules([{ kind: 'delay', targets: ['Kinesis_20131202.ListStreams'], rate: 1, delayMs: 2_000 }]);
    const client = impatientClient(proxy.endpoint, 2);

    // Act
    const error = await failure(client.send(new ListStreamsCommand({})));
    client.destroy();

    // Assess
    expect(error.name).toBe('TimeoutError');
    expect(error.message.startsWith(`Kinesis ListStreams at ${proxy.endpoint}, 2 attempt(s): `)).toBe(true);
    expect(error.message).toMatch(/exceeded the configured 200 ms requestTimeout/);
  });

  it("a service's own answer keeps its message", async () => {
    // Prepare
    proxy.setRules([{ kind: 'throttle', targets: ['Kinesis_20131202.ListStreams'], rate: 1 }]);
    const client = impatientClient(proxy.endpoint, 1);

    // Act
    const error = await failure(client.send(new ListStreamsCommand({})));
    client.destroy();

    // Assess
    expect(error.name).toBe('ProvisionedThroughputExceededException');
    expect(error.$metadata?.httpStatusCode).toBe(400);
    expect(error.message).not.toContain(proxy.endpoint);
  });

  it('the local stack builds its Kinesis and DynamoDB clients with it', async () => {
    // Prepare
    proxy.setRules([{ kind: 'cutBeforeForward', targets: ['DynamoDB_20120810.DescribeTable'], rate: 1 }]);
    const kinesis = createKinesisClient(proxy.endpoint);
    const dynamodb = createDynamoDbClient(proxy.endpoint);

    // Act
    const error = await failure(dynamodb.send(new DescribeTableCommand({ TableName: 'any' })));
    const installed = kinesis.middlewareStack.identify().some((entry) => entry.startsWith('eddyNameCallsInErrors'));
    kinesis.destroy();
    dynamodb.destroy();

    // Assess
    expect(error.message).toMatch(new RegExp(`^DynamoDB DescribeTable at ${proxy.endpoint}, 3 attempt\\(s\\): `));
    expect(installed).toBe(true);
  });
});
