import type { ConsumedCapacity, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, type TranslateConfig } from '@aws-sdk/lib-dynamodb';
import { type BackoffOptions, backoffDelay, sleep } from '../../util/backoff.js';
import type { RequestCounter, StoreOperation } from './request-counter.js';
import { StateStoreUnavailableError } from './state-errors.js';
import { isTransientAwsError } from './transient-errors.js';

/**
 * What the DynamoDB stores share: how a request is sent and retried and counted, and how items are
 * (un)marshalled.
 */

const translateConfig: TranslateConfig = {
  // Accumulators are JSON: drop undefined members as JSON.stringify does, rather than fail.
  marshallOptions: { removeUndefinedValues: true, allowImpreciseNumbers: true },
  // Numbers beyond 2^53 would come back as BigInt, which JSON accumulators cannot hold.
  unmarshallOptions: { wrapNumbers: (value: string) => Number(value) },
};

/**
 * A document client of its own over `client`. DynamoDBDocumentClient.from() stores its translate
 * config on the client's config object, shared with every other document client made from the same
 * client: a copy keeps this one's marshalling from changing, or being changed by, theirs. Middleware
 * stays the client's.
 */
export function isolatedDocumentClient(client: DynamoDBClient): DynamoDBDocumentClient {
  const isolated = { config: { ...client.config }, middlewareStack: client.middlewareStack } as DynamoDBClient;
  return DynamoDBDocumentClient.from(isolated, translateConfig);
}

export type Output = { $metadata: { attempts?: number }; ConsumedCapacity?: ConsumedCapacity | ConsumedCapacity[] };

export interface RetryOptions {
  readonly counter: RequestCounter;
  /** Attempts of a request that keeps being throttled or failing with a 5xx, the first included. */
  readonly maxAttempts: number;
  readonly backoff: BackoffOptions;
}

/**
 * Sends a request, retrying throttling, 5xx and network errors with capped exponential backoff and
 * full jitter on top of the SDK client's own retries, and counts every attempt and the capacity used.
 */
export async function sendWithRetries<T extends Output>(
  operation: StoreOperation,
  send: () => Promise<T>,
  { counter, maxAttempts, backoff }: RetryOptions,
): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      const output = await send();
      const attempts = output.$metadata.attempts ?? 1;
      // The SDK retries only retryable errors: its extra attempts were throttled or failed.
      for (let i = 1; i < attempts; i += 1) counter.throttle();
      counter.request(operation, attempts, capacityUnits(output.ConsumedCapacity));
      return output;
    } catch (error) {
      const attempts = (error as { $metadata?: { attempts?: number } }).$metadata?.attempts ?? 1;
      counter.request(operation, attempts);
      if (!isRetryable(error)) {
        for (let i = 1; i < attempts; i += 1) counter.throttle();
        throw error;
      }
      for (let i = 0; i < attempts; i += 1) counter.throttle();
      if (attempt >= maxAttempts) throw new StateStoreUnavailableError(operation, attempt, { cause: error });
      await sleep(backoffDelay(attempt - 1, backoff));
    }
  }
}

export function capacityUnits(consumed: ConsumedCapacity | ConsumedCapacity[] | undefined): number {
  if (consumed === undefined) return 0;
  const list = Array.isArray(consumed) ? consumed : [consumed];
  return list.reduce((sum, entry) => sum + (entry.CapacityUnits ?? 0), 0);
}

export function isConditionalCheckFailure(error: unknown): boolean {
  return (error as { name?: string }).name === 'ConditionalCheckFailedException';
}

/** DynamoDB's own throttling and server errors; a conditional check failure is an answer, not a fault. */
const DYNAMODB_TRANSIENT = [
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'InternalServerError',
  'ServiceUnavailable',
  // A write to an item that a transaction is changing.
  'TransactionConflictException',
];

export function isRetryable(error: unknown): boolean {
  return !isConditionalCheckFailure(error) && isTransientAwsError(error, DYNAMODB_TRANSIENT);
}

export function chunk<T>(list: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < list.length; i += size) chunks.push(list.slice(i, i + size));
  return chunks;
}

/**
 * Runs `work` on every element with at most `limit` running at once. After a failure no new work
 * starts; it rejects with the first error once the work in flight has settled, so that no request
 * outlives the call.
 */
export async function forEachConcurrently<T>(
  list: readonly T[],
  limit: number,
  work: (element: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (failure === undefined && next < list.length) {
      const element = list[next] as T;
      next += 1;
      try {
        await work(element);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, list.length) }, worker));
  if (failure !== undefined) throw failure.error;
}
