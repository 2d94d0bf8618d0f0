import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { FirehoseClient } from '@aws-sdk/client-firehose';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { DestinationSpec } from '../../dag/plan-types.js';
import { batchesWithin, DESTINATION_ID_FIELD, DestinationLimits, entryBytes } from '../../sinks/destinations.js';
import { type BackoffOptions, backoffDelay, sleep } from '../../util/backoff.js';
import type { OutputRecord } from '../records.js';
import type { RecordWriter, WriteOutcome } from './record-writer.js';
import { isTransientAwsError } from './transient-errors.js';

/**
 * Sends a stage's message-sink outputs (`toSqs`, `toEventBridge`, `toFirehose`; docs/sinks.md) with
 * each service's batch API, and the rest to Kinesis. Each call is within the service's limits
 * (sinks/destinations.ts); the entries a call reports failed (SQS `Failed`, EventBridge and Firehose
 * entries with an ErrorCode), and those of a call that failed as a whole with a transient error
 * (throttling, 5xx, a cut connection), are sent again with capped exponential backoff and full
 * jitter until the deadline; what is still unsent then is reported failed, and Lambda delivers its
 * input records again. Delivery is at least once, each message with its deterministic id.
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

/** The records of a call that were not taken. */
type Put = (records: readonly OutputRecord[]) => Promise<readonly OutputRecord[]>;

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
    return {
      failed: results.flatMap((result) => result.failed),
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
        for (const record of await sender.put(batch.map((entry) => entry.record))) failed.add(record);
      }
      const sent = new Set(round.filter((record) => !failed.has(record)));
      pending = pending.filter((record) => !sent.has(record));
      failures = failed.size > 0 ? failures + 1 : 0;
    }
    return { failed: pending, requests };
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

/** A call that failed as a whole: every record again if the error is transient, else a bug to surface. */
async function orAllFailed(
  records: readonly OutputRecord[],
  call: () => Promise<readonly OutputRecord[]>,
): Promise<readonly OutputRecord[]> {
  try {
    return await call();
  } catch (error) {
    if (isTransientAwsError(error, TRANSIENT)) return records;
    throw error;
  }
}

function putFor(destination: DestinationSpec, target: string, clients: DestinationClients): Put {
  const idOf = (record: OutputRecord) => {
    if (record.messageId === undefined) throw new Error(`a record for '${destination.name}' has no message id`);
    return record.messageId;
  };
  switch (destination.service) {
    case 'sqs':
      return (records) =>
        orAllFailed(records, async () => {
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
          const failed = new Set((response.Failed ?? []).map((entry) => entry.Id));
          return records.filter((_, index) => failed.has(String(index)));
        });
    case 'eventbridge':
      return (records) =>
        orAllFailed(records, async () => {
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
          return records.filter((_, index) => response.Entries?.[index]?.ErrorCode !== undefined);
        });
    case 'firehose':
      return (records) =>
        orAllFailed(records, async () => {
          const { PutRecordBatchCommand } = await firehoseModule();
          const response = await (await clients.firehose()).send(
            new PutRecordBatchCommand({
              DeliveryStreamName: target,
              Records: records.map((record) => ({ Data: Buffer.from(record.data) })),
            }),
          );
          return records.filter((_, index) => response.RequestResponses?.[index]?.ErrorCode !== undefined);
        });
  }
}
