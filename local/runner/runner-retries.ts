import { isTransientAwsError } from '../../shared/runtime/io/transient-errors.js';
import { backoffDelay, sleep } from '../../shared/util/backoff.js';
import { stallLimitFromEnvironment } from './stall-watch.js';

const kinesisAndDynamoDbThrottles = [
  'ProvisionedThroughputExceededException',
  'LimitExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
];

/** Whether a failed call of the runner's own (feeder, reader, end of input) may be tried again. */
export function isRetryableRunnerError(error: unknown): boolean {
  return isTransientAwsError(error, kinesisAndDynamoDbThrottles);
}

export interface RetryOptions {
  /**
   * Give up once calls kept failing for this long without one success: the run's stall limit, since
   * nothing moves meanwhile. @default EDDY_STALL_LIMIT_SECONDS, else 300 s
   */
  readonly giveUpAfterMs?: number;
  /** Runs before each new attempt (after the back-off): where an unknown outcome is looked into. */
  readonly beforeRetry?: (error: unknown) => Promise<void>;
}

/**
 * Calls `call` until it succeeds, backing off (up to 5 s) after each transient failure (a request
 * timeout, a 5xx, a throttle, a cut connection), as the SDK does but without its limit of a few
 * attempts: on a loaded machine an emulator call can time out many times in a row, and the run must
 * not abort for it. A non-transient error (no such stream, a bad request) is thrown at once. After
 * `giveUpAfterMs` of failures the last error is thrown, naming `what`.
 */
export async function retryTransient<T>(what: string, call: () => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const giveUpAfterMs = options.giveUpAfterMs ?? stallLimitFromEnvironment();
  const firstFailure = Date.now();
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await call();
    } catch (error) {
      if (!isRetryableRunnerError(error)) throw error;
      if (Date.now() - firstFailure >= giveUpAfterMs) {
        throw new Error(
          `${what}: still failing after ${Math.round((Date.now() - firstFailure) / 1000)} s of retries: ${(error as Error).message}`,
          { cause: error },
        );
      }
      await sleep(backoffDelay(attempt, { baseMs: 100, capMs: 5_000 }));
      await options.beforeRetry?.(error);
    }
  }
}
