import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RecordProcessingError } from '../../../shared/operators/record-errors.js';
import { deadLetterOf } from '../../../shared/runtime/batch-collector.js';
import { BatchSender } from '../../../shared/runtime/batch-sender.js';
import { type DeadLetter, MemoryDeadLetterSink } from '../../../shared/runtime/io/dead-letter-sink.js';
import type { RecordWriter, RefusedOutput } from '../../../shared/runtime/io/record-writer.js';
import type { InputRecord, OutputRecord } from '../../../shared/runtime/records.js';

const context = { pipeline: 'orders', deadLetterStream: 'orders-dead-letters', now: () => 1_700_000_000_000 };
const input = (n: number): InputRecord => ({
  position: { stream: 'orders', shardId: 'shard-0', sequenceNumber: String(n), partitionKey: `k${n}`, arrivalTime: 0 },
  data: Buffer.from(JSON.stringify({ order: n })),
});
const output = (n: number): OutputRecord => ({
  stream: 'alerts',
  partitionKey: '',
  data: JSON.stringify({ order: n }),
  origin: String(n),
  messageId: `id${n}`,
});
const refusal = (record: OutputRecord): RefusedOutput => ({
  record,
  error: {
    reason: 'unwritable-output',
    operator: "toSqs('alerts')",
    message: `MessageBody of message ${record.messageId} refused`,
  },
});
/** A writer whose destination refuses output 2 for good and takes the rest. */
const refusing: RecordWriter = {
  write: async (records) => ({
    failed: [],
    requests: 1,
    refused: records.filter((record) => record.origin === '2').map(refusal),
  }),
};
const letterOf = (refused: RefusedOutput, record: InputRecord): DeadLetter =>
  deadLetterOf(context, 'from-orders', record, new RecordProcessingError(refused.error));

describe('BatchSender: outputs a destination refused for good', () => {
  it('dead-letters them against their input record and fails nothing: the stage goes on', async () => {
    // Prepare
    const letters = new MemoryDeadLetterSink();
    const sender = new BatchSender(refusing, letters, 'orders-dead-letters', letterOf);

    // Act
    const outcome = await sender.send([output(1), output(2), output(3)], [], Date.now() + 10_000, [1, 2, 3].map(input));

    // Assess
    expect(outcome.failed).toEqual([]);
    expect(outcome.refused).toBe(1);
    expect(outcome.written).toEqual({ alerts: 2, 'orders-dead-letters': 1 });
    expect(letters.letters).toHaveLength(1);
    expect(letters.letters[0]).toMatchObject({
      stage: 'from-orders',
      correlationId: 'orders/shard-0/2',
      error: {
        reason: 'unwritable-output',
        operator: "toSqs('alerts')",
        message: 'MessageBody of message id2 refused',
      },
      payload: Buffer.from(JSON.stringify({ order: 2 })).toString('base64'),
    });
  });

  it('fails the refused output’s input record when its dead letter cannot be sent: Lambda delivers it again', async () => {
    const unsendable = { send: async (sent: readonly DeadLetter[]) => ({ failed: sent, requests: 1 }) };
    const sender = new BatchSender(refusing, unsendable, 'orders-dead-letters', letterOf);

    const outcome = await sender.send([output(1), output(2)], [], Date.now() + 10_000, [1, 2].map(input));

    expect(outcome.failed.map((record) => record.origin)).toEqual(['2']);
    expect(outcome.written).toEqual({ alerts: 1 });
  });
});

describe('BatchSender: records written per stream', () => {
  it('counts each stream’s written records, streams in the order of their first record, however they interleave', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ stream: fc.constantFrom('a', 'b', 'c'), fails: fc.boolean() }), { maxLength: 40 }),
        async (plan) => {
          // Prepare
          const outputs = plan.map(({ stream }, n): OutputRecord => ({ ...output(n), stream }));
          const failing = new Set(outputs.filter((_, n) => plan[n]?.fails));
          const writer: RecordWriter = {
            write: async (records) => ({ failed: records.filter((r) => failing.has(r)), requests: 1 }),
          };
          const sender = new BatchSender(writer, new MemoryDeadLetterSink(), 'orders-dead-letters');

          // Act
          const outcome = await sender.send(outputs, [], Date.now() + 10_000);

          // Assess: what one lookup per record counts
          const expected: Record<string, number> = {};
          for (const record of outputs) {
            if (!failing.has(record)) expected[record.stream] = (expected[record.stream] ?? 0) + 1;
          }
          expect(Object.entries(outcome.written)).toEqual(Object.entries(expected));
        },
      ),
      { numRuns: 200 },
    );
  });
});
