import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { type DestinationClients, destinationClients } from '../shared/runtime/io/destination-writer.js';
import { nameCallsInErrors } from './call-context-errors.js';

/** Region used against an emulator when the environment names none. */
export const defaultLocalRegion = 'us-east-1';

/**
 * kinesalite and dynalite answer in milliseconds: a request still open after 30 s is stuck, not
 * slow. kinesis-mock is slow instead (its PutRecords costs grow with the records a shard holds:
 * docs/local-engines.md), so its stack raises this through the environment, which worker processes
 * inherit: cutting a slow call short would only retry it, writing its records twice.
 */
export const localRequestTimeoutVariable = 'EDDY_LOCAL_REQUEST_TIMEOUT_MS';
const defaultLocalRequestTimeoutMs = 30_000;

function localRequestTimeoutMs(env: NodeJS.ProcessEnv): number {
  const value = env[localRequestTimeoutVariable];
  if (value === undefined || value === '') return defaultLocalRequestTimeoutMs;
  const ms = Number(value);
  if (!Number.isInteger(ms) || ms <= 0) {
    throw new Error(`${localRequestTimeoutVariable}: expected a whole number of milliseconds above 0, got '${value}'`);
  }
  return ms;
}
// A few attempts absorb a busy emulator without hiding a real failure behind minutes of back-off.
const localMaxAttempts = 3;

interface LocalClientConfig {
  readonly endpoint: string;
  readonly region: string;
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
  readonly requestHandler: NodeHttpHandler;
  readonly maxAttempts: number;
}

function localClientConfig(endpoint: string, maxAttempts = localMaxAttempts): LocalClientConfig {
  const env = process.env;
  const hasEnvCredentials = Boolean(env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY);
  return {
    endpoint,
    region: env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? defaultLocalRegion,
    // Emulators accept any signature, but the SDK refuses to sign without credentials.
    ...(hasEnvCredentials ? {} : { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }),
    // The SDK's default handler negotiates HTTP/2, which both emulators reject with a protocol error.
    requestHandler: new NodeHttpHandler({
      connectionTimeout: 5_000,
      requestTimeout: localRequestTimeoutMs(env),
      // Otherwise a timeout only logs a warning and the call stays pending for ever.
      throwOnRequestTimeout: true,
    }),
    maxAttempts,
  };
}

/**
 * A Kinesis client. With an endpoint (an emulator), it is set up to work there without an AWS
 * account; without one it is the SDK's default client (which honours `AWS_ENDPOINT_URL` itself).
 */
export function createKinesisClient(endpoint?: string, options: { maxAttempts?: number } = {}): KinesisClient {
  return endpoint === undefined
    ? new KinesisClient(options)
    : nameCallsInErrors(new KinesisClient(localClientConfig(endpoint, options.maxAttempts)), endpoint);
}

/** A DynamoDB client; see {@link createKinesisClient} for what the endpoint changes. */
export function createDynamoDbClient(endpoint?: string): DynamoDBClient {
  return endpoint === undefined
    ? new DynamoDBClient({})
    : nameCallsInErrors(new DynamoDBClient(localClientConfig(endpoint)), endpoint);
}

/** A DynamoDB Streams client, against DynamoDB Local (the tables of `dynamoDbStream` sources). */
export function createDynamoDbStreamsClient(endpoint: string): DynamoDBStreamsClient {
  return nameCallsInErrors(new DynamoDBStreamsClient(localClientConfig(endpoint)), endpoint);
}

/**
 * The clients of the message sinks (`toSqs`, `toEventBridge`, `toFirehose`), against the local
 * stand-in's endpoint (local/destinations/).
 */
export function createDestinationClients(endpoint: string, wrap?: <C>(client: C) => C): DestinationClients {
  return destinationClients({ config: () => localClientConfig(endpoint), ...(wrap !== undefined && { wrap }) });
}
