import { createHmac } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { pipeline, secret, tokenize } from '../../../shared/index.js';
import { clearLoadedSecrets } from '../../../shared/operators/secrets.js';
import { MemoryRecordWriter } from '../../../shared/runtime/io/memory-record-writer.js';
import { createLambdaStageHandler } from '../../../shared/runtime/lambda-handler.js';
import { kinesisEvent, lambdaContext } from '../../helpers/kinesis-events.js';

process.env.POWERTOOLS_METRICS_DISABLED = 'true';
const quiet = () => ({ logger: new Logger({ logLevel: 'SILENT' }), metrics: new Metrics({ namespace: 'test' }) });

const KEY = 'a-token-key-of-more-than-thirty-two-bytes';
const hmac = (text: string) => createHmac('sha256', KEY).update(text).digest('hex');
const Click = z.object({ user: z.string(), page: z.string() });

/**
 * SSM's JSON API as far as GetParameter goes, on a loopback port: what the stage handler's
 * Powertools SSMProvider and the AWS SDK send, recorded, and parameters answered from a map.
 */
class FakeSsm {
  readonly requests: { target: string; body: { Name: string; WithDecryption?: boolean } }[] = [];
  readonly parameters = new Map<string, string>();
  readonly #server: Server = createServer((request, response) => {
    let text = '';
    request.on('data', (chunk: Buffer) => {
      text += chunk.toString();
    });
    request.on('end', () => {
      const body = JSON.parse(text) as { Name: string; WithDecryption?: boolean };
      this.requests.push({ target: String(request.headers['x-amz-target']), body });
      const value = this.parameters.get(body.Name);
      const json = { 'content-type': 'application/x-amz-json-1.1' };
      if (value === undefined) {
        response.writeHead(400, { ...json, 'x-amzn-errortype': 'ParameterNotFound' });
        response.end(JSON.stringify({ __type: 'ParameterNotFound', message: `${body.Name} not found` }));
        return;
      }
      response.writeHead(200, json);
      response.end(JSON.stringify({ Parameter: { Name: body.Name, Type: 'SecureString', Value: value, Version: 1 } }));
    });
  });
  url = '';

  async start(): Promise<void> {
    this.#server.listen(0, '127.0.0.1');
    await once(this.#server, 'listening');
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}

function tokenizing(name: string, options: { version?: number } = {}) {
  return pipeline('tokens')
    .source('clicks', { schema: Click })
    .map(tokenize(['user'], { key: secret(name, options) }))
    .sink('tokenized');
}

describe('stage handler with secrets', () => {
  const ssm = new FakeSsm();
  const saved = { ...process.env };

  beforeAll(async () => {
    await ssm.start();
    // The SDK's own configuration: a service-specific endpoint, and credentials to sign with.
    process.env.AWS_ENDPOINT_URL_SSM = ssm.url;
    process.env.AWS_REGION = 'eu-west-1';
    process.env.AWS_ACCESS_KEY_ID = 'AKIDTEST';
    process.env.AWS_SECRET_ACCESS_KEY = 'test-secret';
    delete process.env.AWS_ENDPOINT_URL;
    delete process.env.EDDY_SECRETS_SOURCE;
  });
  afterAll(async () => {
    process.env = saved;
    await ssm.stop();
  });
  afterEach(() => {
    clearLoadedSecrets();
    ssm.requests.length = 0;
    ssm.parameters.clear();
  });

  it('reads the key from SSM Parameter Store, decrypted, once per execution environment, before the first batch', async () => {
    // Prepare
    ssm.parameters.set('/eddy/token-key', KEY);
    const writer = new MemoryRecordWriter();
    const handler = createLambdaStageHandler(tokenizing('/eddy/token-key'), {
      stageId: 'from-clicks',
      writer,
      ...quiet(),
    });

    // Act
    await handler(kinesisEvent([{ data: { user: 'alice', page: '/a' } }]), lambdaContext());
    await handler(kinesisEvent([{ data: { user: 'bob', page: '/b' } }]), lambdaContext());

    // Assess
    expect(ssm.requests).toEqual([
      { target: 'AmazonSSM.GetParameter', body: { Name: '/eddy/token-key', WithDecryption: true } },
    ]);
    expect(writer.values('tokenized')).toEqual([
      { user: hmac('alice'), page: '/a' },
      { user: hmac('bob'), page: '/b' },
    ]);
  });

  it('fails the invocation with a clear error when the parameter is missing, writes nothing, and reads it again next time', async () => {
    // Prepare
    const writer = new MemoryRecordWriter();
    const handler = createLambdaStageHandler(tokenizing('/eddy/missing-key'), {
      stageId: 'from-clicks',
      writer,
      ...quiet(),
    });
    const event = kinesisEvent([{ data: { user: 'alice', page: '/a' } }]);

    // Act
    const failed = handler(event, lambdaContext());

    // Assess
    await expect(failed).rejects.toThrow(
      "secret ssm:/eddy/missing-key: SSM parameter '/eddy/missing-key' was not found; create it as a SecureString " +
        "in the function's account and region (used by tokenize (user))",
    );
    expect(writer.streams.size).toBe(0);

    // Act: the parameter is created; Lambda retries the batch in the same environment.
    ssm.parameters.set('/eddy/missing-key', KEY);
    await handler(event, lambdaContext());

    // Assess
    expect(ssm.requests.map((request) => request.body.Name)).toEqual(['/eddy/missing-key', '/eddy/missing-key']);
    expect(writer.values('tokenized')).toEqual([{ user: hmac('alice'), page: '/a' }]);
  });

  it('reads a pinned version, and refuses a key too short for HMAC-SHA256', async () => {
    // Prepare
    ssm.parameters.set('/eddy/pinned:2', KEY);
    ssm.parameters.set('/eddy/short', 'short');
    const pinned = createLambdaStageHandler(tokenizing('/eddy/pinned', { version: 2 }), {
      stageId: 'from-clicks',
      writer: new MemoryRecordWriter(),
      ...quiet(),
    });
    const short = createLambdaStageHandler(tokenizing('/eddy/short'), {
      stageId: 'from-clicks',
      writer: new MemoryRecordWriter(),
      ...quiet(),
    });
    const event = kinesisEvent([{ data: { user: 'alice', page: '/a' } }]);

    // Act & Assess
    await expect(pinned(event, lambdaContext())).resolves.toEqual({ batchItemFailures: [] });
    await expect(short(event, lambdaContext())).rejects.toThrow(
      'secret ssm:/eddy/short (used by tokenize (user)) is 5 bytes; it needs at least 32',
    );
    expect(ssm.requests.map((request) => request.body.Name).sort()).toEqual(['/eddy/pinned:2', '/eddy/short']);
  });

  it('asks SSM nothing for a stage whose operators use no secret', async () => {
    // Prepare
    const p = pipeline('two-stages');
    p.source('clicks', { schema: Click })
      .keyBy((c) => c.user)
      .map(tokenize(['user'], { key: secret('/eddy/token-key') }))
      .sink('tokenized');
    const handler = createLambdaStageHandler(p, {
      stageId: 'from-clicks',
      writer: new MemoryRecordWriter(),
      ...quiet(),
    });

    // Act
    await handler(kinesisEvent([{ data: { user: 'alice', page: '/a' } }]), lambdaContext());

    // Assess
    expect(ssm.requests).toEqual([]);
  });

  it('reads the environment instead when EDDY_SECRETS_SOURCE is env (the local stack)', async () => {
    // Prepare
    process.env.EDDY_SECRETS_SOURCE = 'env';
    process.env.EDDY_SECRET_EDDY_LOCAL_KEY = KEY;
    const writer = new MemoryRecordWriter();
    const handler = createLambdaStageHandler(tokenizing('/eddy/local-key'), {
      stageId: 'from-clicks',
      writer,
      ...quiet(),
    });

    // Act
    try {
      await handler(kinesisEvent([{ data: { user: 'alice', page: '/a' } }]), lambdaContext());
    } finally {
      delete process.env.EDDY_SECRETS_SOURCE;
      delete process.env.EDDY_SECRET_EDDY_LOCAL_KEY;
    }

    // Assess
    expect(ssm.requests).toEqual([]);
    expect(writer.values('tokenized')).toEqual([{ user: hmac('alice'), page: '/a' }]);
  });
});
