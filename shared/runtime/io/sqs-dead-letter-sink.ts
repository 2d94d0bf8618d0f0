import type {
  MessageAttributeValue,
  SendMessageBatchCommand,
  SendMessageBatchCommandOutput,
  SendMessageBatchRequestEntry,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { PipelinePlan } from '../../dag/plan-types.js';
import { type BackoffOptions, backoffDelay, sleep } from '../../util/backoff.js';
import { fitDeadLetter } from '../fit-dead-letter.js';
import type { DeadLetter, DeadLetterOutcome, DeadLetterSink } from './dead-letter-sink.js';
import { isTransientAwsError } from './transient-errors.js';

/** The environment variable the CDK construct sets to the dead-letter queue's URL. */
export const DEAD_LETTER_QUEUE_URL_ENV = 'EDDY_DEAD_LETTER_QUEUE_URL';

/**
 * SQS' largest message, body and attributes together, and the largest SendMessageBatch payload
 * (the sum of its messages): 256 KiB (SQS developer guide, "Quotas").
 */
export const SQS_MAX_MESSAGE_BYTES = 256 * 1024;
/** SendMessageBatch takes at most 10 messages. */
export const SQS_MAX_BATCH_ENTRIES = 10;

/** What the sink needs of an SQSClient: SendMessageBatch. Tests give a fake. */
export interface SqsBatchClient {
  send(command: SendMessageBatchCommand): Promise<SendMessageBatchCommandOutput>;
}

export interface SqsDeadLetterSinkOptions {
  readonly client: SqsBatchClient;
  readonly queueUrl: string;
  readonly backoff?: BackoffOptions;
  /** Rounds of calls for a message, the first included, before it is reported failed. @default 5 */
  readonly maxAttempts?: number;
  /** Stop retrying this long before the deadline, to leave time to report the failures. @default 1000 */
  readonly safetyMarginMs?: number;
}

/**
 * The SQS client's module, imported on first use: it is not in the Lambda functions' bundles
 * (infra/stage-function.ts, ON_DEMAND_SDK_MODULES), so that only a pipeline whose dead letters go to
 * a queue loads it, from the runtime's AWS SDK.
 */
let sqsModule: Promise<typeof import('@aws-sdk/client-sqs')> | undefined;
const loadSqs = () => {
  sqsModule ??= import('@aws-sdk/client-sqs');
  return sqsModule;
};

/** SQS' own throttling errors, and KMS' under the queue's encryption, that a later attempt can cure. */
const SQS_TRANSIENT = ['RequestThrottled', 'ThrottlingException', 'KmsThrottled', 'KMS.ThrottlingException'];

interface Pending {
  readonly letter: DeadLetter;
  readonly body: string;
  readonly attributes: Record<string, MessageAttributeValue>;
  readonly bytes: number;
}

/**
 * Sends dead letters to an SQS queue with SendMessageBatch, 10 messages (and at most 256 KiB) a
 * call, each with the attributes `reason`, `stage` and `correlationId` for filtering without parsing
 * the body. Entries that fail (`Failed` in the response, or a call that failed as a whole with a
 * throttling, 5xx or network error) are retried with capped exponential backoff, at most
 * `maxAttempts` rounds and never past the deadline; what still fails is reported, and the stage
 * fails the letters' input records, as it does for a PutRecords partial failure. An error that no
 * retry cures (access denied, no such queue) is thrown: a function error.
 *
 * An envelope too large for one message (a big payload) is sent with its payload cut to fit, as
 * `payloadTruncated` says (fit-dead-letter.ts): its error and source position are kept, and the
 * record stays in its source stream.
 */
export class SqsDeadLetterSink implements DeadLetterSink {
  readonly #client: SqsBatchClient;
  readonly #queueUrl: string;
  readonly #backoff: BackoffOptions;
  readonly #maxAttempts: number;
  readonly #margin: number;

  constructor(options: SqsDeadLetterSinkOptions) {
    this.#client = options.client;
    this.#queueUrl = options.queueUrl;
    this.#backoff = options.backoff ?? {};
    this.#maxAttempts = Math.max(1, options.maxAttempts ?? 5);
    this.#margin = options.safetyMarginMs ?? 1000;
  }

  async send(letters: readonly DeadLetter[], deadline: number): Promise<DeadLetterOutcome> {
    let pending = letters.map(messageOf);
    const failed: DeadLetter[] = [];
    let requests = 0;
    for (let attempt = 0; pending.length > 0; attempt += 1) {
      if (attempt > 0) {
        if (attempt >= this.#maxAttempts) break;
        const delay = backoffDelay(attempt - 1, this.#backoff);
        if (Date.now() + delay + this.#margin > deadline) break;
        await sleep(delay);
      }
      const chunks = [...chunksOf(pending)];
      requests += chunks.length;
      const results = await Promise.all(chunks.map((chunk) => this.#sendChunk(chunk)));
      pending = results.flatMap((result) => result.retry);
      for (const result of results) failed.push(...result.rejected.map((message) => message.letter));
    }
    return { failed: [...failed, ...pending.map((message) => message.letter)], requests };
  }

  /** The messages to try again, and those SQS rejected as the sender's fault (no retry cures those). */
  async #sendChunk(chunk: readonly Pending[]): Promise<{ retry: Pending[]; rejected: Pending[] }> {
    const entries: SendMessageBatchRequestEntry[] = chunk.map((message, index) => ({
      Id: `m${index}`,
      MessageBody: message.body,
      MessageAttributes: message.attributes,
    }));
    const { SendMessageBatchCommand } = await loadSqs();
    let response: SendMessageBatchCommandOutput;
    try {
      response = await this.#client.send(new SendMessageBatchCommand({ QueueUrl: this.#queueUrl, Entries: entries }));
    } catch (error) {
      if (isTransientAwsError(error, SQS_TRANSIENT)) return { retry: [...chunk], rejected: [] };
      throw error;
    }
    const sent = new Set((response.Successful ?? []).map((entry) => entry.Id));
    const senderFaults = new Set(
      (response.Failed ?? []).filter((entry) => entry.SenderFault === true).map((entry) => entry.Id),
    );
    const retry: Pending[] = [];
    const rejected: Pending[] = [];
    chunk.forEach((message, index) => {
      const id = `m${index}`;
      if (sent.has(id)) return;
      // Failed on SQS' side, or in neither list: try again.
      if (senderFaults.has(id)) rejected.push(message);
      else retry.push(message);
    });
    return { retry, rejected };
  }
}

/** The message of a letter: its envelope as the body, without the payload if the whole would not fit. */
function messageOf(letter: DeadLetter): Pending {
  const { envelope } = letter;
  const attributes: Record<string, MessageAttributeValue> = {
    reason: { DataType: 'String', StringValue: envelope.error.reason },
    stage: { DataType: 'String', StringValue: envelope.stage },
    correlationId: { DataType: 'String', StringValue: envelope.correlationId },
  };
  const attributeBytes = sqsAttributeBytes(attributes);
  const { data: body } = fitDeadLetter(envelope, SQS_MAX_MESSAGE_BYTES - attributeBytes, 'an SQS message (256 KiB)');
  return { letter, body, attributes, bytes: Buffer.byteLength(body) + attributeBytes };
}

/** What a message's attributes add to its size: each one's name, data type and value, in bytes. */
export function sqsAttributeBytes(attributes: Record<string, MessageAttributeValue>): number {
  return Object.entries(attributes).reduce(
    (sum, [name, value]) =>
      sum +
      Buffer.byteLength(name) +
      Buffer.byteLength(value.DataType ?? '') +
      Buffer.byteLength(value.StringValue ?? ''),
    0,
  );
}

/** Batches of at most 10 messages and 256 KiB. */
function* chunksOf(messages: readonly Pending[]): Generator<Pending[]> {
  let chunk: Pending[] = [];
  let bytes = 0;
  for (const message of messages) {
    if (chunk.length === SQS_MAX_BATCH_ENTRIES || (chunk.length > 0 && bytes + message.bytes > SQS_MAX_MESSAGE_BYTES)) {
      yield chunk;
      chunk = [];
      bytes = 0;
    }
    chunk.push(message);
    bytes += message.bytes;
  }
  if (chunk.length > 0) yield chunk;
}

/**
 * The Lambda handler's dead-letter sink: undefined when the plan sends dead letters to a stream
 * (the stage's writer takes them), else an SqsDeadLetterSink over the queue that
 * `EDDY_DEAD_LETTER_QUEUE_URL` names; `wrap` instruments the client (X-Ray).
 */
export function queueDeadLetterSinkFromEnvironment(
  plan: PipelinePlan,
  wrap: (client: SQSClient) => SQSClient = (client) => client,
  environment: NodeJS.ProcessEnv = process.env,
): SqsDeadLetterSink | undefined {
  if (plan.deadLetter.kind !== 'queue') return undefined;
  const queueUrl = environment[DEAD_LETTER_QUEUE_URL_ENV];
  if (queueUrl === undefined || queueUrl === '') {
    throw new Error(
      `${DEAD_LETTER_QUEUE_URL_ENV} is not set: pipeline '${plan.pipeline}' sends dead letters to the queue ` +
        `'${plan.deadLetter.name}', and the function does not know its URL`,
    );
  }
  // Imported now (during Lambda's init), used at the first dead letter.
  const client = loadSqs().then(({ SQSClient }) => wrap(new SQSClient({})));
  client.catch(() => undefined); // a failed import fails the first send instead
  return new SqsDeadLetterSink({ client: { send: async (command) => (await client).send(command) }, queueUrl });
}
