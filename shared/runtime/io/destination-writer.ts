import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { FirehoseClient } from '@aws-sdk/client-firehose';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { DestinationSpec } from '../../dag/plan-types.js';
import {
  batchesWithin,
  DESTINATION_ID_FIELD,
  DestinationLimits,
  entryBytes,
  refusalError,
} from '../../sinks/destinations.js';
import { type BackoffOptions, backoffDelay, sleep } from '../../util/backoff.js';
import type { OutputRecord } from '../records.js';
import type { RecordWriter, RefusedOutput, WriteOutcome } from './record-writer.js';
import { isTransientAwsError } from './transient-errors.js';

/**
 * Sends a stage's message-sink outputs (`toSqs`, `toEventBridge`, `toFirehose`; docs/sinks.md) with
 * each service's batch API, and the rest to Kinesis. Each call is within the service's limits
 * (sinks/destinations.ts); the entries a call reports failed (SQS `Failed`, EventBridge and Firehose
 * entries with an ErrorCode), and those of a call that failed as a whole with a transient error
 * (throttling, 5xx, a cut connection), are sent again with capped exponential backoff and full
 * jitter until the deadline; what is still unsent then is reported failed, and Lambda delivers its
 * input records again. Delivery is at least once, each message with its deterministic id.
 *
 * A message the service refuses for good is not retried (it never could succeed; docs/sinks.md):
 * an SQS entry failed with `SenderFault` (over an existing queue's `MaximumMessageSize`, say), an
 * EventBridge entry failed `MalformedDetail` or `InvalidArgument` (its documented non-retryable
 * codes about the entry itself; access and authorization errors are the deployment's, and are
 * retried), or a call refused as a whole with a validation error, once its entries are sent one by
 * one and one is refused alone. It is reported `refused`: the stage dead-letters it and goes on.
 */

/** The clients of the services a stage sends to: only those it uses are asked for. */
export interface DestinationClients {
  sqs(): SQSClient | Promise<SQSClient>;
  eventbridge(): EventBridgeClient | Promise<EventBridgeClient>;
  firehose(): FirehoseClient | Promise<FirehoseClient>;
}

/**
 * The services' SDK modules, imported when a stage first sends to one (dynamic imports): the Lambda
 * bundle leaves them out (ON_DEMAND_SDK_MODULES) and a stage without message sinks never loads them.
 */
const once = <T>(load: () => Promise<T>) => {
  let loaded: Promise<T> | undefined;
  return () => {
    loaded ??= load();
    return loaded;
  };
};
const sqsModule = once(() => import('@aws-sdk/client-sqs'));
const eventBridgeModule = once(() => import('@aws-sdk/client-eventbridge'));
const firehoseModule = once(() => import('@aws-sdk/client-firehose'));

/**
 * The three clients, made when first asked for: with `config` (an emulator's endpoint, say) or the
 * SDK's defaults; `wrap` instruments each (X-Ray in Lambda).
 */
export function destinationClients(
  options: { readonly config?: () => object; readonly wrap?: <C>(client: C) => C } = {},
): DestinationClients {
  const config = options.config ?? (() => ({}));
  const wrap = options.wrap ?? ((client) => client);
  return {
    sqs: once(async () => wrap(new (await sqsModule()).SQSClient(config()))),
    eventbridge: once(async () => wrap(new (await eventBridgeModule()).EventBridgeClient(config()))),
    firehose: once(async () => wrap(new (await firehoseModule()).FirehoseClient(config()))),
  };
}

export interface DestinationWriterOptions {
  /** The stage's destinations (the plan's). */
  readonly destinations: readonly DestinationSpec[];
  /**
   * What each destination is called in its API, by name: the queue's URL, the bus's name or ARN,
   * the delivery stream's name.
   */
  readonly targets: Readonly<Record<string, string>>;
  readonly clients: DestinationClients;
  readonly backoff?: BackoffOptions;
  /** Stop retrying this long before the deadline, to leave time to report the failures. @default 1000 */
  readonly safetyMarginMs?: number;
}

/** What a call did not take: records to send again, and records refused for good in the service's words. */
interface PutResult {
  readonly failed: readonly OutputRecord[];
  readonly refused: readonly { readonly record: OutputRecord; readonly code: string; readonly message: string }[];
}
type Put = (records: readonly OutputRecord[]) => Promise<PutResult>;

export class DestinationWriter implements RecordWriter {
  readonly #streams: RecordWriter;
  readonly #senders = new Map<string, { put: Put; spec: DestinationSpec }>();
  readonly #backoff: BackoffOptions;
  readonly #margin: number;

  constructor(streams: RecordWriter, options: DestinationWriterOptions) {
    this.#streams = streams;
    this.#backoff = options.backoff ?? {};
    this.#margin = options.safetyMarginMs ?? 1000;
    for (const destination of options.destinations) {
      const target = options.targets[destination.name];
      if (target === undefined) {
        throw new Error(
          `no ${destination.service} target for destination '${destination.name}': EDDY_DESTINATIONS must name it`,
        );
      }
      this.#senders.set(destination.name, {
        put: putFor(destination, target, options.clients),
        spec: destination,
      });
    }
  }

  async write(records: readonly OutputRecord[], deadline: number): Promise<WriteOutcome> {
    const streams: OutputRecord[] = [];
    const byDestination = new Map<string, OutputRecord[]>();
    for (const record of records) {
      if (!this.#senders.has(record.stream)) streams.push(record);
      else byDestination.set(record.stream, [...(byDestination.get(record.stream) ?? []), record]);
    }
    const nothing: WriteOutcome = { failed: [], requests: 0 };
    const results = await Promise.all([
      streams.length === 0 ? nothing : this.#streams.write(streams, deadline),
      ...[...byDestination].map(([name, list]) => this.#send(name, list, deadline)),
    ]);
    const misrouted = results.flatMap((result) => result.misrouted ?? []);
    const refused = results.flatMap((result) => result.refused ?? []);
    return {
      failed: results.flatMap((result) => result.failed),
      ...(refused.length > 0 && { refused }),
      requests: results.reduce((sum, result) => sum + result.requests, 0),
      ...(misrouted.length > 0 && { misrouted }),
    };
  }

  /**
   * Rounds of calls over what is still unsent. A FIFO queue's records go one per message group per
   * round (the next once the one before is in), so that a partial failure cannot reorder a group.
   */
  async #send(name: string, records: OutputRecord[], deadline: number): Promise<WriteOutcome> {
    const sender = this.#senders.get(name);
    if (sender === undefined) throw new Error(`no destination '${name}'`);
    const limits = DestinationLimits[sender.spec.service];
    const fifo = sender.spec.fifo === true;
    let pending = records;
    const refused: RefusedOutput[] = [];
    let requests = 0;
    let failures = 0;
    while (pending.length > 0) {
      if (failures > 0) {
        const delay = backoffDelay(failures - 1, this.#backoff);
        if (Date.now() + delay + this.#margin > deadline) break;
        await sleep(delay);
      }
      const round = fifo ? headsOfGroups(pending) : pending;
      const sized = round.map((record) => ({ record, bytes: entryBytes(sender.spec, record.data) }));
      const failed = new Set<OutputRecord>();
      for (const batch of batchesWithin(sized, limits)) {
        requests += 1;
        const result = await sender.put(batch.map((entry) => entry.record));
        for (const record of result.failed) failed.add(record);
        for (const { record, code, message } of result.refused) {
          refused.push({
            record,
            error: refusalError(
              { service: sender.spec.service, target: name },
              { id: record.messageId ?? '', data: record.data },
              { code, message },
            ),
          });
        }
      }
      // Sent or refused: either way not sent again.
      const done = new Set(round.filter((record) => !failed.has(record)));
      pending = pending.filter((record) => !done.has(record));
      failures = failed.size > 0 ? failures + 1 : 0;
    }
    return { failed: pending, requests, ...(refused.length > 0 && { refused }) };
  }
}

/** The first pending record of each message group, in order. */
function headsOfGroups(records: readonly OutputRecord[]): OutputRecord[] {
  const seen = new Set<string>();
  return records.filter((record) => {
    if (seen.has(record.partitionKey)) return false;
    seen.add(record.partitionKey);
    return true;
  });
}

/** Throttling and server errors of the three services, beyond the generic 5xx and network errors. */
const TRANSIENT = [
  'RequestThrottled',
  'ThrottlingException',
  'ServiceUnavailableException',
  'InternalException',
  'KmsThrottled',
  'KMSThrottlingException',
];

/**
 * Whole-call refusals of a request's content (AWS's validation errors of the three calls), which one
 * entry can cause: SQS's InvalidParameterValue, InvalidMessageContents, BatchRequestTooLong and
 * InvalidAttributeValue, EventBridge's ValidationException, Firehose's InvalidArgumentException.
 */
const REFUSALS = [
  'InvalidParameterValue',
  'InvalidMessageContents',
  'BatchRequestTooLong',
  'InvalidAttributeValue',
  'ValidationException',
  'InvalidArgumentException',
];

/** EventBridge's non-retryable entry codes that are about the entry itself (PutEventsResultEntry). */
const REFUSED_EVENT_CODES = ['MalformedDetail', 'InvalidArgument'];

/**
 * A call, and what to do when it fails as a whole: every record again if the error is transient; a
 * validation error: each record alone, to find the one refused (refused when it fails alone); else a
 * bug to surface.
 */
async function orAllFailed(
  records: readonly OutputRecord[],
  call: (records: readonly OutputRecord[]) => Promise<PutResult>,
): Promise<PutResult> {
  try {
    return await call(records);
  } catch (error) {
    if (isTransientAwsError(error, TRANSIENT)) return { failed: records, refused: [] };
    const { name, message } = error as Error;
    if (!REFUSALS.includes(name)) throw error;
    const [only] = records;
    if (records.length === 1 && only !== undefined)
      return { failed: [], refused: [{ record: only, code: name, message }] };
    const results: PutResult[] = [];
    for (const record of records) results.push(await orAllFailed([record], call));
    return { failed: results.flatMap((r) => r.failed), refused: results.flatMap((r) => r.refused) };
  }
}

/** The records of a call's answer that failed, by index: to send again, or refused for good. */
function splitFailures(
  records: readonly OutputRecord[],
  failure: (
    index: number,
  ) => { readonly code: string; readonly message: string; readonly refused: boolean } | undefined,
): PutResult {
  const failed: OutputRecord[] = [];
  const refused: PutResult['refused'][number][] = [];
  for (const [index, record] of records.entries()) {
    const result = failure(index);
    if (result === undefined) continue;
    if (result.refused) refused.push({ record, code: result.code, message: result.message });
    else failed.push(record);
  }
  return { failed, refused };
}

function putFor(destination: DestinationSpec, target: string, clients: DestinationClients): Put {
  const idOf = (record: OutputRecord) => {
    if (record.messageId === undefined) throw new Error(`a record for '${destination.name}' has no message id`);
    return record.messageId;
  };
  switch (destination.service) {
    case 'sqs':
      return (records) =>
        orAllFailed(records, async (records) => {
          const { SendMessageBatchCommand } = await sqsModule();
          const response = await (await clients.sqs()).send(
            new SendMessageBatchCommand({
              QueueUrl: target,
              Entries: records.map((record, index) => ({
                Id: String(index),
                MessageBody: record.data,
                MessageAttributes: { [DESTINATION_ID_FIELD]: { DataType: 'String', StringValue: idOf(record) } },
                ...(destination.fifo === true && {
                  MessageGroupId: record.partitionKey,
                  MessageDeduplicationId: idOf(record),
                }),
              })),
            }),
          );
          // SenderFault: the entry itself is wrong (SendMessageBatch's BatchResultErrorEntry).
          const failed = new Map((response.Failed ?? []).map((entry) => [entry.Id, entry]));
          return splitFailures(records, (index) => {
            const entry = failed.get(String(index));
            return entry === undefined
              ? undefined
              : { code: entry.Code ?? '', message: entry.Message ?? '', refused: entry.SenderFault === true };
          });
        });
    case 'eventbridge':
      return (records) =>
        orAllFailed(records, async (records) => {
          const { PutEventsCommand } = await eventBridgeModule();
          const response = await (await clients.eventbridge()).send(
            new PutEventsCommand({
              Entries: records.map((record) => ({
                EventBusName: target,
                Source: destination.source,
                DetailType: destination.detailType,
                Detail: record.data,
              })),
            }),
          );
          // Results are in request order; a failed entry has an ErrorCode.
          return splitFailures(records, (index) => {
            const entry = response.Entries?.[index];
            return entry?.ErrorCode === undefined
              ? undefined
              : {
                  code: entry.ErrorCode,
                  message: entry.ErrorMessage ?? '',
                  refused: REFUSED_EVENT_CODES.includes(entry.ErrorCode),
                };
          });
        });
    case 'firehose':
      return (records) =>
        orAllFailed(records, async (records) => {
          const { PutRecordBatchCommand } = await firehoseModule();
          const response = await (await clients.firehose()).send(
            new PutRecordBatchCommand({
              DeliveryStreamName: target,
              Records: records.map((record) => ({ Data: Buffer.from(record.data) })),
            }),
          );
          // Firehose's entry errors (ServiceUnavailableException, InternalFailure) are all retryable.
          return splitFailures(records, (index) => {
            const entry = response.RequestResponses?.[index];
            return entry?.ErrorCode === undefined
              ? undefined
              : { code: entry.ErrorCode, message: entry.ErrorMessage ?? '', refused: false };
          });
        });
  }
}
