import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DestinationLimits, type DestinationService, entryBytes } from '../../shared/sinks/destinations.js';
import { seededRandom } from '../../shared/util/random.js';

/**
 * The local stand-in for SQS, EventBridge and Firehose (docs/sinks.md, "Locally"). No emulator on
 * npm fits: fauxqs needs Node 22.5, sqslite speaks only SQS's query protocol (XML), which the SDK v3
 * client no longer uses, and there is none for EventBridge or Firehose. This one is an HTTP server
 * speaking the AWS JSON protocol of the three batch calls the sinks make (SendMessageBatch,
 * PutEvents, PutRecordBatch), so the stages use the real SDK clients against it, from worker
 * processes too. It enforces what the services document for those calls: entry counts, entry and
 * request sizes, distinct SQS entry ids, FIFO's group and deduplication ids, and FIFO deduplication
 * (a message whose deduplication id the queue took in the last 5 minutes is accepted and dropped).
 * It keeps what it took, in order, in memory.
 *
 * Faults, for tests: a share of calls fails as a whole with throttling before taking anything, or
 * has some entries failed (not taken), or takes everything and answers 500 (the response lost).
 */

export interface StandInFaults {
  /** The share of calls that fail one of the three ways. */
  readonly rate: number;
  /** @default 1 */
  readonly seed?: number;
}

export interface StoredMessage {
  readonly body: string;
  readonly attributes: Readonly<Record<string, string>>;
  readonly groupId?: string;
  readonly deduplicationId?: string;
}

export interface StoredEvent {
  readonly source: string;
  readonly detailType: string;
  readonly detail: string;
}

/** SQS FIFO's deduplication interval. */
const DEDUPLICATION_MS = 5 * 60_000;

export class DestinationStandIn {
  readonly #queues = new Map<string, Queue>();
  readonly #buses = new Map<string, StoredEvent[]>();
  readonly #streams = new Map<string, string[]>();
  readonly #server: Server;
  readonly #random: () => number;
  /**
   * Calls answered, per operation, those failed by a fault, and FIFO messages taken but dropped as
   * repeats of a deduplication id seen in the last 5 minutes.
   */
  readonly calls = { SendMessageBatch: 0, PutEvents: 0, PutRecordBatch: 0, faults: 0, deduplicated: 0 };
  faults: StandInFaults | undefined;
  endpoint = '';

  private constructor(faults: StandInFaults | undefined) {
    this.faults = faults;
    this.#random = seededRandom(faults?.seed ?? 1);
    this.#server = createServer((request, response) => {
      this.#handle(request, response).catch((error: unknown) => {
        answer(response, 500, { __type: 'InternalFailure', message: (error as Error).message });
      });
    });
  }

  static async start(options: { faults?: StandInFaults; now?: () => number } = {}): Promise<DestinationStandIn> {
    const standIn = new DestinationStandIn(options.faults);
    if (options.now !== undefined) standIn.#now = options.now;
    await new Promise<void>((resolve) => standIn.#server.listen(0, '127.0.0.1', resolve));
    standIn.endpoint = `http://127.0.0.1:${(standIn.#server.address() as AddressInfo).port}`;
    return standIn;
  }

  #now: () => number = Date.now;

  /**
   * Creates a queue (a `.fifo` name makes a FIFO queue), a bus or a delivery stream, unless there is
   * one; returns what the API calls it: the queue's URL, the bus's or the stream's name. A queue's
   * `maximumMessageSize` (SQS's MaximumMessageSize attribute, 1,024 to 1,048,576 bytes) is that of
   * an existing queue made smaller than the default.
   */
  create(service: DestinationService, name: string, options: { readonly maximumMessageSize?: number } = {}): string {
    if (service === 'sqs') {
      if (!this.#queues.has(name)) {
        this.#queues.set(name, {
          messages: [],
          seen: new Map(),
          fifo: name.endsWith('.fifo'),
          maximumMessageSize: options.maximumMessageSize ?? DestinationLimits.sqs.entryBytes,
        });
      }
      return `${this.endpoint}/000000000000/${name}`;
    }
    if (service === 'eventbridge' && !this.#buses.has(name)) this.#buses.set(name, []);
    if (service === 'firehose' && !this.#streams.has(name)) this.#streams.set(name, []);
    return name;
  }

  /** A queue's messages, in the order it took them (nothing is received or deleted locally). */
  messages(queue: string): readonly StoredMessage[] {
    return this.#queues.get(queue)?.messages ?? [];
  }

  events(bus: string): readonly StoredEvent[] {
    return this.#buses.get(bus) ?? [];
  }

  /** A delivery stream's records' data, in order. */
  records(deliveryStream: string): readonly string[] {
    return this.#streams.get(deliveryStream) ?? [];
  }

  async stop(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
    const target = String(request.headers['x-amz-target'] ?? '');
    const operation = target.slice(target.indexOf('.') + 1);
    if (operation !== 'SendMessageBatch' && operation !== 'PutEvents' && operation !== 'PutRecordBatch') {
      return answer(response, 400, { __type: 'UnknownOperationException', message: `not served locally: ${target}` });
    }
    this.calls[operation] += 1;
    const fault = this.#fault();
    if (fault === 'throttle') {
      this.calls.faults += 1;
      const type = operation === 'SendMessageBatch' ? 'RequestThrottled' : 'ThrottlingException';
      return answer(response, 400, { __type: type, message: 'Rate exceeded (injected)' });
    }
    const result =
      operation === 'SendMessageBatch'
        ? this.#sendMessageBatch(body, fault === 'entries')
        : operation === 'PutEvents'
          ? this.#putEvents(body, fault === 'entries')
          : this.#putRecordBatch(body, fault === 'entries');
    if (fault !== undefined) this.calls.faults += 1;
    if (fault === 'lost') return answer(response, 500, { __type: 'InternalFailure', message: 'lost (injected)' });
    answer(response, result.status, result.body);
  }

  #fault(): 'throttle' | 'entries' | 'lost' | undefined {
    const rate = this.faults?.rate ?? 0;
    if (rate === 0 || this.#random() >= rate) return undefined;
    const draw = this.#random();
    return draw < 1 / 3 ? 'throttle' : draw < 2 / 3 ? 'entries' : 'lost';
  }

  /** Whether an entry fails under an `entries` fault: about a third of them. */
  #failsEntry(faulty: boolean): boolean {
    return faulty && this.#random() < 1 / 3;
  }

  #sendMessageBatch(body: Record<string, unknown>, faulty: boolean): Answer {
    const url = String(body.QueueUrl ?? '');
    const queue = this.#queues.get(url.slice(url.lastIndexOf('/') + 1));
    if (queue === undefined) {
      return error('AWS.SimpleQueueService.NonExistentQueue', `The specified queue does not exist: ${url}`);
    }
    const entries = (body.Entries ?? []) as SqsEntry[];
    const limits = DestinationLimits.sqs;
    if (entries.length === 0) return error('AWS.SimpleQueueService.EmptyBatchRequest', 'no entries');
    if (entries.length > limits.entries) {
      return error('AWS.SimpleQueueService.TooManyEntriesInBatchRequest', `${entries.length} entries, over 10`);
    }
    if (new Set(entries.map((entry) => entry.Id)).size !== entries.length) {
      return error('AWS.SimpleQueueService.BatchEntryIdsNotDistinct', 'entry ids repeat');
    }
    const sizes = entries.map((entry) => sqsMessageBytes(entry));
    const total = sizes.reduce((sum, size) => sum + size, 0);
    if (total > limits.batchBytes) {
      return error('AWS.SimpleQueueService.BatchRequestTooLong', `${total} bytes, over ${limits.batchBytes}`);
    }
    const successful: unknown[] = [];
    const failed: unknown[] = [];
    const now = this.#now();
    for (const [index, entry] of entries.entries()) {
      const refusal = this.#refusal(queue, entry, sizes[index] ?? 0, faulty);
      if (refusal !== undefined) {
        failed.push({ Id: entry.Id, ...refusal });
        continue;
      }
      // The SDK checks the body's MD5 in the answer.
      const md5 = createHash('md5').update(entry.MessageBody).digest('hex');
      successful.push({ Id: entry.Id, MessageId: `${queue.messages.length}`, MD5OfMessageBody: md5 });
      if (queue.fifo && entry.MessageDeduplicationId !== undefined) {
        const seenAt = queue.seen.get(entry.MessageDeduplicationId);
        if (seenAt !== undefined && now - seenAt < DEDUPLICATION_MS) {
          this.calls.deduplicated += 1;
          continue;
        }
        queue.seen.set(entry.MessageDeduplicationId, now);
      }
      queue.messages.push({
        body: entry.MessageBody,
        attributes: Object.fromEntries(
          Object.entries(entry.MessageAttributes ?? {}).map(([name, value]) => [name, value.StringValue ?? '']),
        ),
        ...(entry.MessageGroupId !== undefined && { groupId: entry.MessageGroupId }),
        ...(entry.MessageDeduplicationId !== undefined && { deduplicationId: entry.MessageDeduplicationId }),
      });
    }
    return { status: 200, body: { Successful: successful, Failed: failed } };
  }

  /** Why SQS refuses an entry of a batch it took, if it does. */
  #refusal(queue: Queue, entry: SqsEntry, bytes: number, faulty: boolean) {
    if (bytes > queue.maximumMessageSize) {
      return {
        Code: 'InvalidParameterValue',
        Message: `One or more parameters are invalid. Reason: Message must be shorter than ${queue.maximumMessageSize} bytes.`,
        SenderFault: true,
      };
    }
    if (queue.fifo && (entry.MessageGroupId === undefined || entry.MessageDeduplicationId === undefined)) {
      return {
        Code: 'MissingParameter',
        Message: 'a FIFO queue needs MessageGroupId and MessageDeduplicationId',
        SenderFault: true,
      };
    }
    if (this.#failsEntry(faulty)) return { Code: 'InternalError', Message: 'injected', SenderFault: false };
    return undefined;
  }

  #putEvents(body: Record<string, unknown>, faulty: boolean): Answer {
    const entries = (body.Entries ?? []) as EventEntry[];
    const limits = DestinationLimits.eventbridge;
    if (entries.length === 0 || entries.length > limits.entries) {
      return error('ValidationException', `${entries.length} entries: 1 to ${limits.entries} allowed`);
    }
    const sizes = entries.map((entry) =>
      entryBytes({ service: 'eventbridge', detailType: entry.DetailType, source: entry.Source }, entry.Detail ?? ''),
    );
    const total = sizes.reduce((sum, size) => sum + size, 0);
    if (total > limits.batchBytes) return error('ValidationException', `entries total ${total} bytes, over the limit`);
    const results = entries.map((entry, index) => {
      const bus = this.#buses.get(busName(entry.EventBusName ?? 'default'));
      if (bus === undefined) return { ErrorCode: 'NotFoundException', ErrorMessage: `no bus ${entry.EventBusName}` };
      if (!entry.Source || !entry.DetailType)
        return { ErrorCode: 'InvalidArgument', ErrorMessage: 'Source and DetailType' };
      if (!isJsonObject(entry.Detail))
        return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is not a JSON object' };
      if ((sizes[index] ?? 0) > limits.entryBytes) return { ErrorCode: 'ValidationException', ErrorMessage: 'too big' };
      if (this.#failsEntry(faulty)) return { ErrorCode: 'ThrottlingException', ErrorMessage: 'injected' };
      bus.push({ source: entry.Source, detailType: entry.DetailType, detail: entry.Detail ?? '' });
      return { EventId: `${bus.length}` };
    });
    const failed = results.filter((result) => 'ErrorCode' in result).length;
    return { status: 200, body: { FailedEntryCount: failed, Entries: results } };
  }

  #putRecordBatch(body: Record<string, unknown>, faulty: boolean): Answer {
    const name = String(body.DeliveryStreamName ?? '');
    const stream = this.#streams.get(name);
    if (stream === undefined) return error('ResourceNotFoundException', `Firehose ${name} not found`);
    const records = ((body.Records ?? []) as { Data?: string }[]).map((record) =>
      Buffer.from(record.Data ?? '', 'base64'),
    );
    const limits = DestinationLimits.firehose;
    if (records.length === 0 || records.length > limits.entries) {
      return error('InvalidArgumentException', `${records.length} records: 1 to ${limits.entries} allowed`);
    }
    const total = records.reduce((sum, data) => sum + data.length, 0);
    if (total > limits.batchBytes) return error('InvalidArgumentException', `${total} bytes, over 4 MiB`);
    if (records.some((data) => data.length > limits.entryBytes)) {
      return error('InvalidArgumentException', 'a record is over 1,000 KiB');
    }
    const responses = records.map((data) => {
      if (this.#failsEntry(faulty)) return { ErrorCode: 'ServiceUnavailableException', ErrorMessage: 'injected' };
      stream.push(data.toString('utf8'));
      return { RecordId: `${stream.length}` };
    });
    const failed = responses.filter((result) => 'ErrorCode' in result).length;
    return { status: 200, body: { FailedPutCount: failed, Encrypted: false, RequestResponses: responses } };
  }
}

interface Queue {
  readonly messages: StoredMessage[];
  /** FIFO: deduplication ids taken, with when. */
  readonly seen: Map<string, number>;
  readonly fifo: boolean;
  readonly maximumMessageSize: number;
}

interface SqsEntry {
  readonly Id: string;
  readonly MessageBody: string;
  readonly MessageAttributes?: Record<string, { DataType: string; StringValue?: string }>;
  readonly MessageGroupId?: string;
  readonly MessageDeduplicationId?: string;
}

interface EventEntry {
  readonly Source?: string;
  readonly DetailType?: string;
  readonly Detail?: string;
  readonly EventBusName?: string;
}

interface Answer {
  readonly status: number;
  readonly body: unknown;
}

/** SQS counts the body and each attribute's name, data type and value. */
function sqsMessageBytes(entry: SqsEntry): number {
  let bytes = Buffer.byteLength(entry.MessageBody ?? '');
  for (const [name, value] of Object.entries(entry.MessageAttributes ?? {})) {
    bytes += Buffer.byteLength(name) + Buffer.byteLength(value.DataType) + Buffer.byteLength(value.StringValue ?? '');
  }
  return bytes;
}

/** A bus named by ARN is the bus of that name. */
function busName(nameOrArn: string): string {
  return nameOrArn.startsWith('arn:')
    ? nameOrArn.slice(nameOrArn.indexOf('event-bus/') + 'event-bus/'.length)
    : nameOrArn;
}

function isJsonObject(text: string | undefined): boolean {
  try {
    const value = JSON.parse(text ?? '') as unknown;
    return value !== null && typeof value === 'object' && !Array.isArray(value);
  } catch {
    return false;
  }
}

function error(type: string, message: string): Answer {
  return { status: 400, body: { __type: type, message } };
}

function answer(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/x-amz-json-1.0' });
  response.end(JSON.stringify(body));
}
