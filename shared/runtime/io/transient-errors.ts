/**
 * Whether an AWS SDK error is transient: throttling, a 5xx, a timeout or a dropped connection, that a
 * later attempt can cure. Anything else (no such stream or table, access denied, a bad request) is a
 * bug to surface, not to retry. `serviceThrottles` names the service's own throttling errors.
 */
export function isTransientAwsError(error: unknown, serviceThrottles: readonly string[]): boolean {
  const e = error as { name?: string; $retryable?: unknown; $metadata?: { httpStatusCode?: number }; code?: string };
  const status = e.$metadata?.httpStatusCode;
  return (
    e.$retryable !== undefined ||
    (e.name !== undefined && (serviceThrottles.includes(e.name) || e.name === 'TimeoutError')) ||
    (status !== undefined && status >= 500) ||
    ['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT'].includes(e.code ?? '')
  );
}
