import { createHash } from 'node:crypto';
import type { SendMessageBatchCommand, SendMessageBatchCommandOutput } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { pipeline } from '../../../shared/index.js';
import type { DeadLetterEnvelope } from '../../../shared/runtime/dead-letter.js';
import { MemoryRecordWriter } from '../../../shared/runtime/io/memory-record-writer.js';
import { MemoryWindowStore } from '../../../shared/runtime/io/memory-window-store.js';
import {
  DEAD_LETTER_QUEUE_URL_ENV,
  queueDeadLetterSinkFromEnvironment,
  SQS_MAX_MESSAGE_BYTES,
  type SqsBatchClient,
  SqsDeadLetterSink,
} from '../../../shared/runtime/io/sqs-dead-letter-sink.js';
import type { InputRecord } from '../../../shared/runtime/records.js';
import { StageBatchError, StageRunner } from '../../../shared/runtime/stage-runner.js';
import { count, tumbling } from '../../../shared/windows/index.js';
import { deadLetter as letter } from '../../helpers/dead-letters.js';

type Entry = NonNullable<SendMessageBatchCommand['input']['Entries']>[number];
type Respond = (entries: readonly Entry[], call: number) => Partial<SendMessageBatchCommandOutput> | Error;

/** An SQS client that records every SendMessageBatch and answers as `respond` says (all sent by default). */
class FakeSqs implements SqsBatchClient {
  readonly calls: Entry[][] = [];
  constructor(readonly respond: Respond = () => ({})) {}

  async send(command: SendMessageBatchCommand): Promise<SendMessageBatchCommandOutput> {
    const entries = command.input.Entries ?? [];
    this.calls.push(entries);
    const answer = this.respond(entries, this.calls.length);
    if (answer instanceof Error) throw answer;
    return {
      $metadata: {},
      Successful:
        answer.Successful ??
        entries
          .filter((e) => !(answer.Failed ?? []).some((f) => f.Id === e.Id))
          .map((e) => ({ Id: e.Id, MessageId: `id-${e.Id}`, MD5OfMessageBody: '' })),
      Failed: answer.Failed ?? [],
    };
  }

  /** Every message body sent, parsed. */
  bodies(): DeadLetterEnvelope[] {
    return this.calls.flat().map((entry) => JSON.parse(entry.MessageBody ?? '') as DeadLetterEnvelope);
  }
}

const far = () => Date.now() + 60_000;
const fast = { backoff: { baseMs: 1, capMs: 2 }, safetyMarginMs: 0 };

describe('SqsDeadLetterSink', () => {
  it('sends 10 messages a call, each with reason, stage and correlation id attributes', async () => {
    // Prepare
    const sqs = new FakeSqs();
    const sink = new SqsDeadLetterSink({ client: sqs, queueUrl: 'https://sqs/q', ...fast });
    const letters = Array.from({ length: 23 }, (_, i) => letter(i));

    // Act
    const outcome = await sink.send(letters, far());

    // Assess
    expect(outcome).toEqual({ failed: [], requests: 3 });
    expect(sqs.calls.map((c) => c.length)).toEqual([10, 10, 3]);
    expect(sqs.bodies()).toEqual(letters.map((l) => l.envelope));
    expect(sqs.calls[0]?.[0]?.MessageAttributes).toEqual({
      reason: { DataType: 'String', StringValue: 'schema-violation' },
      stage: { DataType: 'String', StringValue: 'from-in' },
      correlationId: { DataType: 'String', StringValue: 'in/shardId-000000000000/1000' },
    });
    expect(new Set(sqs.calls.flatMap((c) => c.map((e) => e.Id))).size).toBe(10);
  });

  it('retries the entries of a partial failure until they are sent, and only those', async () => {
    const sqs = new FakeSqs((entries, call) =>
      call === 1 ? { Failed: [{ Id: entries[2]?.Id, Code: 'InternalError', SenderFault: false }] } : {},
    );
    const sink = new SqsDeadLetterSink({ client: sqs, queueUrl: 'q', ...fast });
    const letters = [letter(1), letter(2), letter(3)];

    const outcome = await sink.send(letters, far());

    expect(outcome.failed).toEqual([]);
    expect(sqs.calls.map((c) => c.length)).toEqual([3, 1]);
    expect(sqs.bodies().at(-1)).toEqual(letters[2]?.envelope);
  });

  it('reports entries that still fail after its bounded retries, and sender faults at once, by their letters', async () => {
    const sqs = new FakeSqs((entries) => ({
      Failed: [
        { Id: entries.find((e) => e.MessageBody?.includes('"1001"'))?.Id, Code: 'InternalError', SenderFault: false },
        { Id: entries.find((e) => e.MessageBody?.includes('"1002"'))?.Id, Code: 'InvalidMessage', SenderFault: true },
      ].filter((f) => f.Id !== undefined),
    }));
    const sink = new SqsDeadLetterSink({ client: sqs, queueUrl: 'q', maxAttempts: 4, ...fast });
    const letters = [letter(0), letter(1), letter(2)];

    const outcome = await sink.send(letters, far());

    expect(outcome.failed.map((l) => l.output.origin).sort()).toEqual(['1001', '1002']);
    // 1001 in all 4 rounds, 1002 in the first only, 1000 sent in the first.
    expect(sqs.calls.map((c) => c.length)).toEqual([3, 1, 1, 1]);
    expect(outcome.requests).toBe(4);
  });

  it('retries a call that failed as a whole with a throttling error, and throws an error no retry cures', async () => {
    const throttled = Object.assign(new Error('slow down'), { name: 'RequestThrottled', $metadata: {} });
    const retried = new FakeSqs((_, call) => (call < 3 ? throttled : {}));
    const outcome = await new SqsDeadLetterSink({ client: retried, queueUrl: 'q', ...fast }).send([letter(1)], far());
    expect(outcome.failed).toEqual([]);
    expect(retried.calls).toHaveLength(3);

    const denied = Object.assign(new Error('no'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
    const failing = new FakeSqs(() => denied);
    await expect(
      new SqsDeadLetterSink({ client: failing, queueUrl: 'q', ...fast }).send([letter(1)], far()),
    ).rejects.toBe(denied);
  });

  it('stops retrying before the deadline and reports what is left', async () => {
    const sqs = new FakeSqs((entries) => ({
      Failed: entries.map((e) => ({ Id: e.Id, Code: 'x', SenderFault: false })),
    }));
    const sink = new SqsDeadLetterSink({ client: sqs, queueUrl: 'q', maxAttempts: 100, backoff: { baseMs: 50 } });

    const outcome = await sink.send([letter(1)], Date.now() + 500);

    expect(outcome.failed).toHaveLength(1);
    expect(sqs.calls.length).toBeLessThan(100);
  });

  it('sends an envelope over 256 KiB with its payload cut to fit, keeping its error, source position, size and hash', async () => {
    const sqs = new FakeSqs();
    const sink = new SqsDeadLetterSink({ client: sqs, queueUrl: 'q', ...fast });
    const big = letter(7, 300 * 1024);
    const small = letter(8);

    await sink.send([big, small], far());

    const [sentBig, sentSmall] = sqs.bodies();
    const original = Buffer.from(big.envelope.payload, 'base64');
    const kept = Buffer.from(sentBig?.payload ?? '', 'base64');
    expect(kept.length).toBeGreaterThan(190 * 1024); // base64: 3 bytes in 4 characters
    expect(original.subarray(0, kept.length).equals(kept)).toBe(true);
    expect(sentBig?.error).toEqual(big.envelope.error);
    expect(sentBig?.source).toEqual(big.envelope.source);
    expect(sentBig?.correlationId).toBe(big.envelope.correlationId);
    expect(sentBig?.payloadTruncated).toMatchObject({
      bytes: 300 * 1024,
      keptBytes: kept.length,
      sha256: createHash('sha256').update(original).digest('hex'),
    });
    expect(sentBig?.payloadTruncated?.reason).toMatch(
      /SQS message \(256 KiB\).*stays in stream in.*sequence number 1007/,
    );
    expect(sentSmall).toEqual(small.envelope);
    for (const call of sqs.calls) {
      const bytes = call.reduce((sum, e) => sum + Buffer.byteLength(e.MessageBody ?? ''), 0);
      expect(bytes).toBeLessThanOrEqual(SQS_MAX_MESSAGE_BYTES);
    }
  });

  it('splits a batch whose messages add up to more than 256 KiB', async () => {
    const sqs = new FakeSqs();
    const sink = new SqsDeadLetterSink({ client: sqs, queueUrl: 'q', ...fast });
    // Four envelopes of about 100 KiB each (base64 of 75 KiB): two fit in a call.
    const letters = [1, 2, 3, 4].map((n) => letter(n, 75 * 1024));

    await sink.send(letters, far());

    expect(sqs.calls.map((c) => c.length)).toEqual([2, 2]);
    expect(sqs.bodies().every((b) => b.payloadTruncated === undefined)).toBe(true);
  });

  it('is built from EDDY_DEAD_LETTER_QUEUE_URL for a queue pipeline, and not at all for a stream pipeline', () => {
    const queued = pipeline('q1', { deadLetter: { queue: true } });
    queued.source('in', { schema: z.object({}) }).sink('out');
    const streamed = pipeline('s1');
    streamed.source('in', { schema: z.object({}) }).sink('out');

    expect(queueDeadLetterSinkFromEnvironment(streamed.plan(), undefined, {})).toBeUndefined();
    expect(() => queueDeadLetterSinkFromEnvironment(queued.plan(), undefined, {})).toThrow(
      /EDDY_DEAD_LETTER_QUEUE_URL is not set: pipeline 'q1' sends dead letters to the queue 'q1-dead-letters'/,
    );
    const sink = queueDeadLetterSinkFromEnvironment(queued.plan(), undefined, {
      [DEAD_LETTER_QUEUE_URL_ENV]: 'https://sqs.eu-west-1.amazonaws.com/1/q1-dead-letters',
    });
    expect(sink).toBeInstanceOf(SqsDeadLetterSink);
  });
});

const Click = z.object({ page: z.string(), t: z.number() });

function input(stream: string, n: number, data: unknown): InputRecord {
  return {
    position: {
      stream,
      shardId: 'shardId-000000000000',
      sequenceNumber: String(n),
      partitionKey: 'pk',
      arrivalTime: 0,
    },
    data: Buffer.from(typeof data === 'string' ? data : JSON.stringify(data)),
  };
}

describe('a stage whose pipeline sends dead letters to a queue', () => {
  const stateless = pipeline('views', { deadLetter: { queue: true } });
  stateless
    .source('clicks', { schema: Click })
    .map((c) => ({ page: c.page }))
    .sink('pages');

  it('needs a dead-letter sink', () => {
    expect(
      () => new StageRunner({ pipeline: stateless, stageId: 'from-clicks', writer: new MemoryRecordWriter() }),
    ).toThrow(/sends dead letters to the queue 'views-dead-letters': give the runner a dead-letter sink/);
  });

  it('sends the dead letters to the queue, never to a stream, and fails the input records of letters not sent', async () => {
    // Prepare: the queue refuses the letter of record 3 every time.
    const writer = new MemoryRecordWriter();
    const sqs = new FakeSqs((entries) => ({
      Failed: entries
        .filter((e) => e.MessageAttributes?.correlationId?.StringValue?.endsWith('/3'))
        .map((e) => ({ Id: e.Id, Code: 'InternalError', SenderFault: false })),
    }));
    const deadLetters = new SqsDeadLetterSink({ client: sqs, queueUrl: 'q', maxAttempts: 2, ...fast });
    const runner = new StageRunner({ pipeline: stateless, stageId: 'from-clicks', writer, deadLetters });
    const records = [
      input('clicks', 1, { page: 'a', t: 1 }),
      input('clicks', 2, 'not json'),
      input('clicks', 3, { page: 7 }),
      input('clicks', 4, { page: 'b', t: 2 }),
    ];

    // Act
    const result = await runner.run(records, far());

    // Assess: both letters tried, the failed one's input record reported as a batch item failure.
    expect(result.failedSequenceNumbers).toEqual(['3']);
    expect(result.report.failedRecords).toBe(1);
    expect(result.report.deadLettered).toBe(2);
    expect([...writer.streams.keys()]).toEqual(['pages']);
    expect(writer.values('pages')).toEqual([{ page: 'a' }, { page: 'b' }]);
    const sent = sqs.bodies();
    expect(sent[0]?.error.reason).toBe('malformed-json');
    expect(Buffer.from(sent[0]?.payload ?? '', 'base64').toString()).toBe('not json');
    expect(sent[0]?.source.sequenceNumber).toBe('2');
    expect(result.report.written).toEqual({ pages: 2, 'views-dead-letters': 1 });
  });

  it('in a windowed stage, sends the letters before the state, and retries the whole batch when one is not sent', async () => {
    const windowed = pipeline('counts', { deadLetter: { queue: true } });
    windowed
      .source('clicks', { schema: Click, eventTime: (c) => c.t })
      .keyBy((c) => c.page, { name: 'by-page' })
      .window(tumbling(1000))
      .aggregate(count())
      .sink('counts-out');
    const shuffle = (n: number, data: unknown) => input('counts-by-page', n, data);
    const refuse = { on: true };
    const sqs = new FakeSqs((entries) =>
      refuse.on ? { Failed: entries.map((e) => ({ Id: e.Id, Code: 'InternalError', SenderFault: false })) } : {},
    );
    const store = new MemoryWindowStore();
    const runner = new StageRunner({
      pipeline: windowed,
      stageId: 'from-counts-by-page',
      writer: new MemoryRecordWriter(),
      store,
      deadLetters: new SqsDeadLetterSink({ client: sqs, queueUrl: 'q', maxAttempts: 2, ...fast }),
    });
    const batch = [
      shuffle(10, 'not an envelope'),
      shuffle(11, { id: 'clicks/s/1', k: 'a', t: 5, v: { page: 'a', t: 5 } }),
    ];

    await expect(runner.run(batch, far())).rejects.toBeInstanceOf(StageBatchError);
    refuse.on = false;
    const result = await runner.run(batch, far());

    expect(result.report.deadLettered).toBe(1);
    expect(result.report.deadLetters[0]?.error.reason).toBe('malformed-envelope');
    expect(sqs.bodies().at(-1)?.source.sequenceNumber).toBe('10');
    expect(result.failedSequenceNumbers).toEqual([]);
  });
});
