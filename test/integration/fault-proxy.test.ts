import { CreateTableCommand, DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { KinesisClient, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createKinesisClient } from '../../local/aws-clients.js';
import { readWholeStream } from '../../local/runner/stream-reader.js';
import { seededRandom } from '../../shared/util/random.js';
import { createTestStream, useEmulators } from '../helpers/emulators.js';
import { type FaultProxy, type FaultRule, startFaultProxy } from '../helpers/fault-proxy.js';

const PUT_RECORDS = 'Kinesis_20131202.PutRecords';
const PUT_ITEM = 'DynamoDB_20120810.PutItem';

/** Clients that try once: the test sees each fault as the proxy made it, not the SDK's retries. */
const clientConfig = (endpoint: string) => ({
  endpoint,
  region: 'us-east-1',
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  requestHandler: new NodeHttpHandler({ connectionTimeout: 5_000, requestTimeout: 10_000 }),
  maxAttempts: 1,
});

const put = (stream: string, data: string[]) =>
  new PutRecordsCommand({
    StreamName: stream,
    Records: data.map((d, i) => ({ PartitionKey: `key-${i}-${d}`, Data: Buffer.from(d) })),
  });

const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (error: unknown) =>
      error as { name: string; message: string; code?: string; $metadata?: { httpStatusCode?: number } },
  );

describe('fault proxy in front of kinesalite and dynalite', () => {
  const emulators = useEmulators();
  let direct: KinesisClient;
  let proxy: FaultProxy;
  let kinesis: KinesisClient;
  let dynamodb: DynamoDBClient;
  let directDynamo: DynamoDBClient;
  const table = `proxy-test-${process.pid}`;

  beforeAll(async () => {
    direct = createKinesisClient(emulators().kinesisEndpoint);
    directDynamo = new DynamoDBClient(clientConfig(emulators().dynamodbEndpoint ?? ''));
    await directDynamo.send(
      new CreateTableCommand({
        TableName: table,
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
  });
  afterAll(() => {
    direct.destroy();
    directDynamo.destroy();
  });

  /** One proxy fronting both emulators (routed on X-Amz-Target), and clients through it. */
  async function withProxy(rules: FaultRule[], seed = 7): Promise<void> {
    proxy = await startFaultProxy({
      upstream: { kinesis: emulators().kinesisEndpoint, dynamodb: emulators().dynamodbEndpoint ?? '' },
      rules,
      seed,
    });
    kinesis = new KinesisClient(clientConfig(proxy.endpoint));
    dynamodb = new DynamoDBClient(clientConfig(proxy.endpoint));
  }
  afterEach(async () => {
    kinesis?.destroy();
    dynamodb?.destroy();
    await proxy?.stop();
  });

  const stored = async (stream: string) =>
    (await readWholeStream(direct, stream)).map((r) => Buffer.from(r.data).toString('utf8'));
  const item = async (pk: string) =>
    (await directDynamo.send(new GetItemCommand({ TableName: table, Key: { pk: { S: pk } }, ConsistentRead: true })))
      .Item;
  const putItem = (pk: string) => new PutItemCommand({ TableName: table, Item: { pk: { S: pk } } });

  it('throttles with the services’ own ProvisionedThroughputExceededException, writing nothing', async () => {
    // Prepare
    await withProxy([{ kind: 'throttle', targets: [PUT_RECORDS, PUT_ITEM], rate: 1 }]);
    const stream = await createTestStream(direct, 1, 'throttle');

    // Act
    const kinesisError = await failure(kinesis.send(put(stream, ['a', 'b'])));
    const dynamoError = await failure(dynamodb.send(putItem('throttled')));

    // Assess
    expect(kinesisError).toMatchObject({
      name: 'ProvisionedThroughputExceededException',
      message: `Rate exceeded for stream ${stream} under account 000000000000.`,
      $metadata: { httpStatusCode: 400 },
    });
    expect(dynamoError).toMatchObject({
      name: 'ProvisionedThroughputExceededException',
      $metadata: { httpStatusCode: 400 },
    });
    expect(dynamoError.message).toContain('provisioned throughput for the table was exceeded');
    expect(await stored(stream)).toEqual([]);
    expect(await item('throttled')).toBeUndefined();
    expect(proxy.counts().faults).toEqual({ [PUT_RECORDS]: { throttle: 1 }, [PUT_ITEM]: { throttle: 1 } });
  });

  it('answers 500 InternalFailure / InternalServerError and 503 ServiceUnavailable without forwarding', async () => {
    await withProxy([
      { kind: 'internalError', targets: ['Kinesis_20131202.*', PUT_ITEM], rate: 1, limit: 2 },
      { kind: 'unavailable', targets: [PUT_RECORDS, PUT_ITEM], rate: 1 },
    ]);
    const stream = await createTestStream(direct, 1, 'errors');

    const kinesis500 = await failure(kinesis.send(put(stream, ['a'])));
    const dynamo500 = await failure(dynamodb.send(putItem('e500')));
    const kinesis503 = await failure(kinesis.send(put(stream, ['b'])));
    const dynamo503 = await failure(dynamodb.send(putItem('e503')));

    expect(kinesis500).toMatchObject({ name: 'InternalFailure', $metadata: { httpStatusCode: 500 } });
    expect(dynamo500).toMatchObject({ name: 'InternalServerError', $metadata: { httpStatusCode: 500 } });
    expect(kinesis503).toMatchObject({ name: 'ServiceUnavailable', $metadata: { httpStatusCode: 503 } });
    expect(dynamo503).toMatchObject({ name: 'ServiceUnavailable', $metadata: { httpStatusCode: 503 } });
    expect(await stored(stream)).toEqual([]);
    expect(await item('e500')).toBeUndefined();
    expect(await item('e503')).toBeUndefined();
    expect(proxy.injected('internalError')).toBe(2);
    expect(proxy.injected('unavailable')).toBe(2);
  });

  it('delays a call, then forwards it', async () => {
    await withProxy([{ kind: 'delay', targets: [PUT_RECORDS], rate: 1, delayMs: 300 }]);
    const stream = await createTestStream(direct, 1, 'delay');

    const started = performance.now();
    const response = await kinesis.send(put(stream, ['slow']));

    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
    expect(response.FailedRecordCount).toBe(0);
    expect(await stored(stream)).toEqual(['slow']);
    expect(proxy.injected('delay', PUT_RECORDS)).toBe(1);
  });

  it('cuts the connection before forwarding: the client sees a network error, nothing happened', async () => {
    await withProxy([{ kind: 'cutBeforeForward', targets: [PUT_RECORDS, PUT_ITEM], rate: 1 }]);
    const stream = await createTestStream(direct, 1, 'cut-before');

    const kinesisError = await failure(kinesis.send(put(stream, ['lost'])));
    const dynamoError = await failure(dynamodb.send(putItem('cut-before')));

    for (const error of [kinesisError, dynamoError]) {
      expect(error.code ?? error.name).toMatch(/ECONNRESET|socket hang up|EPIPE/);
    }
    expect(await stored(stream)).toEqual([]);
    expect(await item('cut-before')).toBeUndefined();
    expect(proxy.injected('cutBeforeForward')).toBe(2);
  });

  it('cuts the connection after forwarding: the client sees a network error, yet the call took effect', async () => {
    await withProxy([{ kind: 'cutAfterForward', targets: [PUT_RECORDS, PUT_ITEM], rate: 1 }]);
    const stream = await createTestStream(direct, 1, 'cut-after');

    const kinesisError = await failure(kinesis.send(put(stream, ['written', 'anyway'])));
    const dynamoError = await failure(dynamodb.send(putItem('cut-after')));

    for (const error of [kinesisError, dynamoError]) {
      expect(error.code ?? error.name).toMatch(/ECONNRESET|socket hang up|EPIPE/);
    }
    expect(await stored(stream)).toEqual(['written', 'anyway']);
    expect(await item('cut-after')).toEqual({ pk: { S: 'cut-after' } });
    expect(proxy.counts().faults).toEqual({
      [PUT_RECORDS]: { cutAfterForward: 1 },
      [PUT_ITEM]: { cutAfterForward: 1 },
    });
  });

  it('fails part of a PutRecords as Kinesis does, and writes exactly the records it reports written', async () => {
    // Prepare: 3 shards, so the failed records' messages name different shards.
    await withProxy([{ kind: 'partialPutRecords', targets: [PUT_RECORDS], rate: 1, recordFailureRate: 0.4 }]);
    const stream = await createTestStream(direct, 3, 'partial');
    const data = Array.from({ length: 200 }, (_, i) => `record-${i}`);

    // Act
    const response = await kinesis.send(put(stream, data));

    // Assess: results in request order; failed ones carry the error, the others a sequence number.
    const results = response.Records ?? [];
    const failed = data.filter((_, i) => results[i]?.ErrorCode !== undefined);
    const written = data.filter((_, i) => results[i]?.SequenceNumber !== undefined);
    expect(results).toHaveLength(200);
    expect(response.FailedRecordCount).toBe(failed.length);
    expect(failed.length).toBeGreaterThan(40);
    expect(written.length).toBeGreaterThan(60);
    expect(failed.length + written.length).toBe(200);
    for (const result of results.filter((r) => r.ErrorCode !== undefined)) {
      expect(result).toEqual({
        ErrorCode: 'ProvisionedThroughputExceededException',
        ErrorMessage: expect.stringMatching(
          new RegExp(
            `^Rate exceeded for shard shardId-00000000000[0-2] in stream ${stream} under account 000000000000\\.$`,
          ),
        ),
      });
    }
    const storedRecords = await readWholeStream(direct, stream);
    expect(storedRecords.map((r) => Buffer.from(r.data).toString('utf8')).sort()).toEqual([...written].sort());
    // The sequence numbers and shards reported are those of the stored records.
    const reported = new Set(
      results.filter((r) => r.SequenceNumber !== undefined).map((r) => `${r.ShardId}/${r.SequenceNumber}`),
    );
    expect(new Set(storedRecords.map((r) => `${r.shardId}/${r.sequenceNumber}`))).toEqual(reported);
    expect(proxy.counts().partialRecords).toEqual({ failed: failed.length, forwarded: written.length });

    // The shard a failed record's message names is the one it lands in when written (hash-key routing).
    const retried = await direct.send(
      new PutRecordsCommand({
        StreamName: stream,
        Records: data.flatMap((d, i) =>
          results[i]?.ErrorCode === undefined ? [] : [{ PartitionKey: `key-${i}-${d}`, Data: Buffer.from(d) }],
        ),
      }),
    );
    const named = results.filter((r) => r.ErrorCode !== undefined).map((r) => r.ErrorMessage?.split(' ')[4]);
    expect(retried.Records?.map((r) => r.ShardId)).toEqual(named);
  });

  it('hits the configured share of calls, decided by the seed, and counts per API and kind', async () => {
    // Prepare: two rules on PutRecords; a throttle on GetItem never called.
    const rules: FaultRule[] = [
      { kind: 'throttle', targets: [PUT_RECORDS], rate: 0.3 },
      { kind: 'internalError', targets: [PUT_RECORDS], rate: 0.5 },
      { kind: 'throttle', targets: ['DynamoDB_20120810.GetItem'], rate: 1 },
    ];
    await withProxy(rules, 42);
    const stream = await createTestStream(direct, 1, 'share');

    // Act: 200 calls one after another.
    let ok = 0;
    for (let i = 0; i < 200; i += 1) {
      await kinesis.send(put(stream, [`r${i}`])).then(
        () => {
          ok += 1;
        },
        () => undefined,
      );
    }

    // Assess: the same draws, replayed: one per matching rule, in order, until one hits.
    const random = seededRandom(42);
    const expected = { throttle: 0, internalError: 0 };
    for (let i = 0; i < 200; i += 1) {
      if (random() < 0.3) expected.throttle += 1;
      else if (random() < 0.5) expected.internalError += 1;
    }
    expect(proxy.counts().faults[PUT_RECORDS]).toEqual(expected);
    expect(expected.throttle).toBeGreaterThan(35);
    expect(expected.throttle).toBeLessThan(85);
    expect(proxy.counts().calls[PUT_RECORDS]).toBe(200);
    expect(ok).toBe(200 - expected.throttle - expected.internalError);
    expect((await stored(stream)).length).toBe(ok);
  });
});
