import type { EnginePair } from './emulators/index.js';

/** Where a local run finds Kinesis and DynamoDB: running endpoints, or the embedded engines. */
export interface EndpointOptions {
  /**
   * One running endpoint that serves both Kinesis and DynamoDB (LocalStack, `http://localhost:4566`).
   * @default process.env.AWS_ENDPOINT_URL, else the embedded engines
   */
  readonly endpoint?: string;
  /** A running Kinesis endpoint, when it is not `endpoint`. @default AWS_ENDPOINT_URL_KINESIS, else `endpoint` */
  readonly kinesisEndpoint?: string;
  /**
   * A running DynamoDB endpoint (state and tables), when it is not `endpoint` (DynamoDB Local, or a
   * fault-injecting proxy in front of an engine). @default AWS_ENDPOINT_URL_DYNAMODB, else `endpoint`
   */
  readonly dynamodbEndpoint?: string;
  /**
   * The embedded engines started for whatever has no running endpoint.
   * @default process.env.EDDY_ENGINES, else 'kinesalite+dynalite'
   */
  readonly engines?: EnginePair;
}

/**
 * The running endpoints a local run uses; what is undefined is started embedded. An empty value
 * counts as none, as it does for the AWS CLI. The service-specific variables are the SDK's own.
 */
export function externalEndpoints(
  options: EndpointOptions,
  env: NodeJS.ProcessEnv = process.env,
): { readonly kinesis: string | undefined; readonly dynamodb: string | undefined } {
  const shared = options.endpoint || env.AWS_ENDPOINT_URL || undefined;
  return {
    kinesis: options.kinesisEndpoint || env.AWS_ENDPOINT_URL_KINESIS || shared,
    dynamodb: options.dynamodbEndpoint || env.AWS_ENDPOINT_URL_DYNAMODB || shared,
  };
}

/** The endpoint options that are set, to pass on (without undefined values, which strict optional types refuse). */
export function endpointOptions(options: EndpointOptions): EndpointOptions {
  return {
    ...(options.endpoint !== undefined && { endpoint: options.endpoint }),
    ...(options.kinesisEndpoint !== undefined && { kinesisEndpoint: options.kinesisEndpoint }),
    ...(options.dynamodbEndpoint !== undefined && { dynamodbEndpoint: options.dynamodbEndpoint }),
    ...(options.engines !== undefined && { engines: options.engines }),
  };
}
