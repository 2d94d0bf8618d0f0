/**
 * Partial failures of the message sinks' batch calls, as the services answer them (for the fault
 * proxy, test/helpers/fault-proxy.ts): the request cut down to the entries that go through, and the
 * answer to the whole request rebuilt from the upstream's answer to that subset, the other entries
 * reported failed the way each API reports them:
 *
 * - SQS SendMessageBatch: `Failed` entries `{ Id, Code, SenderFault: false }` beside `Successful`
 *   (entries are matched by their `Id`, so the subset's answer is kept as it is);
 * - EventBridge PutEvents: `Entries` in request order, a failed one with `ErrorCode`, and `FailedEntryCount`;
 * - Firehose PutRecordBatch: `RequestResponses` in request order, a failed one with `ErrorCode`, and `FailedPutCount`.
 *
 * Pure: the proxy forwards, this module only shapes.
 */

type Json = Record<string, unknown>;

/** The batch calls of the message sinks, by `X-Amz-Target`. */
export const BATCH_TARGETS = {
  sqs: 'AmazonSQS.SendMessageBatch',
  eventbridge: 'AWSEvents.PutEvents',
  firehose: 'Firehose_20150804.PutRecordBatch',
} as const;

type BatchTarget = (typeof BATCH_TARGETS)[keyof typeof BATCH_TARGETS];

export function isBatchTarget(target: string): target is BatchTarget {
  return (Object.values(BATCH_TARGETS) as string[]).includes(target);
}

/** The field holding a request's entries. */
function entriesField(target: BatchTarget): 'Entries' | 'Records' {
  return target === BATCH_TARGETS.firehose ? 'Records' : 'Entries';
}

export function entriesOf(target: BatchTarget, request: Json): Json[] {
  return (request[entriesField(target)] as Json[] | undefined) ?? [];
}

/** The request with only the entries that are not failed. */
export function keptRequest(target: BatchTarget, request: Json, failed: readonly boolean[]): Json {
  return { ...request, [entriesField(target)]: entriesOf(target, request).filter((_, i) => !failed[i]) };
}

/**
 * The answer to the whole request: the upstream's answer to the kept entries (`forwarded`, undefined
 * when none was kept), with the failed entries reported as the API reports a throttled or failed entry.
 */
export function mergedAnswer(
  target: BatchTarget,
  request: Json,
  failed: readonly boolean[],
  forwarded: Json | undefined,
): Json {
  const entries = entriesOf(target, request);
  if (target === BATCH_TARGETS.sqs) {
    const injected = entries
      .filter((_, i) => failed[i])
      .map((entry) => ({ Id: entry.Id, Code: 'InternalError', Message: 'injected', SenderFault: false }));
    return {
      Successful: (forwarded?.Successful as Json[] | undefined) ?? [],
      Failed: [...((forwarded?.Failed as Json[] | undefined) ?? []), ...injected],
    };
  }
  const [resultsField, countField, code] =
    target === BATCH_TARGETS.eventbridge
      ? (['Entries', 'FailedEntryCount', 'ThrottlingException'] as const)
      : (['RequestResponses', 'FailedPutCount', 'ServiceUnavailableException'] as const);
  const results = (forwarded?.[resultsField] as Json[] | undefined) ?? [];
  let next = 0;
  const merged = entries.map((_, i) =>
    failed[i] ? { ErrorCode: code, ErrorMessage: 'injected' } : (results[next++] ?? {}),
  );
  return {
    ...forwarded,
    [countField]: merged.filter((result) => result.ErrorCode !== undefined).length,
    [resultsField]: merged,
  };
}
