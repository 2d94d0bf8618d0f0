import type { KinesisStreamBatchResponse, KinesisStreamEvent } from 'aws-lambda';
import type { DeadLetterEnvelope } from '../../shared/runtime/dead-letter.js';
import type { BatchReport } from '../../shared/runtime/stage-runner.js';
import type { LocalLogLevel } from './local-pipeline.js';

/** What a worker sandbox is started with (as its one argument, JSON). */
export interface WorkerConfig {
  /** Absolute path of the module that default-exports the pipeline. */
  readonly modulePath: string;
  /** The pipeline the parent runs: the module must export this one. */
  readonly pipelineName: string;
  readonly stageId: string;
  readonly kinesisEndpoint: string;
  readonly dynamodbEndpoint: string | undefined;
  readonly streamPrefix: string;
  /** The physical name of the state table, for stateful stages. */
  readonly stateTable: string | undefined;
  /** The physical names of the pipeline's tables, by table name, when it has any. */
  readonly tables?: Readonly<Record<string, string>>;
  /** The local stand-in of the message sinks' services (local/destinations/) and each destination's target. */
  readonly destinations?: { readonly endpoint: string; readonly targets: Readonly<Record<string, string>> };
  /**
   * DynamoDB Local and each `dynamoDbStream` source's stream ARN, for the stage that reads one: its
   * channels are the stream's shards (DescribeStream), as in Lambda.
   */
  readonly dynamoDbStreams?: { readonly endpoint: string; readonly streamArns: Readonly<Record<string, string>> };
  readonly logLevel: LocalLogLevel;
  /**
   * The pipeline sends dead letters to a queue: the worker collects each invocation's and returns
   * them with its answer, for the parent's LocalDeadLetterQueue.
   */
  readonly deadLetterQueue?: boolean;
}

/** An invocation, parent to worker. */
export interface InvokeMessage {
  readonly type: 'invoke';
  readonly id: number;
  readonly event: KinesisStreamEvent;
  /** Epoch ms at which the function times out. */
  readonly deadline: number;
  readonly functionName: string;
  readonly invokedFunctionArn: string;
  readonly awsRequestId: string;
  /**
   * Fault injection: the worker SIGKILLs itself once this invocation has completed this many AWS
   * requests (or just before answering, when it makes fewer).
   */
  readonly killAfterRequests?: number;
}

export interface SerializedError {
  readonly name: string;
  readonly message: string;
  readonly stack?: string;
}

/** Worker to parent. */
export type WorkerMessage =
  | { readonly type: 'ready' }
  | { readonly type: 'init-error'; readonly error: SerializedError }
  | {
      readonly type: 'result';
      readonly id: number;
      readonly response: KinesisStreamBatchResponse;
      readonly report: BatchReport | undefined;
      /** AWS requests (HTTP attempts) the invocation made. */
      readonly requests: number;
      /** Dead letters the invocation sent to the (local) dead-letter queue. */
      readonly deadLetters?: readonly DeadLetterEnvelope[];
    }
  | {
      readonly type: 'error';
      readonly id: number;
      readonly error: SerializedError;
      readonly requests: number;
      readonly deadLetters?: readonly DeadLetterEnvelope[];
    };

export function serializeError(error: unknown): SerializedError {
  if (error instanceof Error) {
    return { name: error.name, message: error.message, ...(error.stack !== undefined && { stack: error.stack }) };
  }
  return { name: 'Error', message: String(error) };
}

export function deserializeError(serialized: SerializedError): Error {
  const error = new Error(serialized.message);
  error.name = serialized.name;
  if (serialized.stack !== undefined) error.stack = serialized.stack;
  return error;
}
