import { PipelineDefinitionError } from './errors.js';

/** Kinesis stream names: 1-128 characters of `[a-zA-Z0-9_.-]` (Kinesis API reference, StreamName). */
const STREAM_NAME = /^[a-zA-Z0-9_.-]{1,128}$/;

/**
 * Pipeline names end up in stream, function and table names; Lambda function names allow 64
 * characters, and the deployed names add a stage suffix, so the pipeline name is kept short.
 */
const PIPELINE_NAME = /^[a-zA-Z0-9][a-zA-Z0-9-]{0,39}$/;

/** Operator names appear in log lines, metrics dimensions and generated stream names. */
const OPERATOR_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$/;

/**
 * Standard SQS queue names: 1-80 characters of `[a-zA-Z0-9_-]` (SQS API reference, CreateQueue).
 * FIFO queues (`.fifo`) are not accepted: dead letters need no order and FIFO throughput is lower.
 */
const QUEUE_NAME = /^[a-zA-Z0-9_-]{1,80}$/;

export function assertQueueName(name: unknown, option: string): asserts name is string {
  if (typeof name !== 'string' || !QUEUE_NAME.test(name)) {
    const fifo = typeof name === 'string' && name.endsWith('.fifo') ? ' (FIFO queues are not supported)' : '';
    throw new PipelineDefinitionError(
      `${option}: invalid SQS queue name ${JSON.stringify(name)}: use 1-80 characters of letters, digits, '_' and '-'${fifo}`,
    );
  }
}

export function assertStreamName(name: unknown, operator: string): asserts name is string {
  if (typeof name !== 'string' || !STREAM_NAME.test(name)) {
    throw new PipelineDefinitionError(
      `invalid Kinesis stream name ${JSON.stringify(name)}: use 1-128 characters of letters, digits, '_', '.' and '-'`,
      operator,
    );
  }
}

export function assertPipelineName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || !PIPELINE_NAME.test(name)) {
    throw new PipelineDefinitionError(
      `invalid pipeline name ${JSON.stringify(name)}: use 1-40 characters of letters, digits and '-', starting with a letter or digit`,
    );
  }
}

export function assertOperatorName(name: unknown, operator: string): asserts name is string {
  if (typeof name !== 'string' || !OPERATOR_NAME.test(name)) {
    throw new PipelineDefinitionError(
      `invalid operator name ${JSON.stringify(name)}: use 1-64 characters of letters, digits, '_', '.' and '-'`,
      operator,
    );
  }
}

/** DynamoDB table names: 3-255 characters of `[a-zA-Z0-9_.-]` (DynamoDB API reference, CreateTable). */
const DYNAMODB_TABLE_NAME = /^[a-zA-Z0-9_.-]{3,255}$/;

export function assertDynamoTableName(name: unknown, operator: string): asserts name is string {
  if (typeof name !== 'string' || !DYNAMODB_TABLE_NAME.test(name)) {
    throw new PipelineDefinitionError(
      `invalid DynamoDB table name ${JSON.stringify(name)}: use 3-255 characters of letters, digits, '_', '.' and '-'`,
      operator,
    );
  }
}
