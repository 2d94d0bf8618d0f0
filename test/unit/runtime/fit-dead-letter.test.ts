import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { DeadLetterEnvelope } from '../../../shared/runtime/dead-letter.js';
import { fitDeadLetter, MAX_ERROR_MESSAGE_CHARS, MAX_ISSUES } from '../../../shared/runtime/fit-dead-letter.js';
import { SQS_MAX_MESSAGE_BYTES } from '../../../shared/runtime/io/sqs-dead-letter-sink.js';
import { MAX_RECORD_BYTES } from '../../../shared/runtime/shuffle-pack.js';

function envelopeOf(payload: Buffer, message: string, issues: number, partitionKey: string): DeadLetterEnvelope {
  return {
    pipeline: 'p',
    stage: 'from-clicks',
    correlationId: 'clicks/shardId-000000000000/42',
    error: {
      reason: 'schema-violation',
      operator: 'clicks',
      message,
      issues: Array.from({ length: issues }, (_, i) => ({
        field: `f${i}.${'x'.repeat(i % 700)}`,
        message: message.slice(0, 900),
      })),
    },
    source: { stream: 'clicks', shardId: 'shardId-000000000000', sequenceNumber: '42', partitionKey, arrivalTime: 1 },
    payload: payload.toString('base64'),
    deadLetteredAt: 2,
  };
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

describe('fitDeadLetter', () => {
  it('always fits the limit, keeps the position, the payload start, the size and the hash (property-based)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1_400_000 }),
        fc.constantFrom('a', 'é', '😀', '"', '\u0001'),
        fc.integer({ min: 0, max: 20_000 }),
        fc.integer({ min: 0, max: 2_000 }),
        fc.string({ minLength: 1, maxLength: 256 }),
        (payloadBytes, char, messageLength, issues, partitionKey) => {
          const payload = Buffer.alloc(payloadBytes, payloadBytes % 251);
          const envelope = envelopeOf(payload, char.repeat(messageLength), issues, partitionKey);
          const kinesisLimit = MAX_RECORD_BYTES - Buffer.byteLength(partitionKey);
          const stream = fitDeadLetter(envelope, kinesisLimit, 'a Kinesis record');
          // The queue fits what the stream got, as the SQS sink does.
          const queue = fitDeadLetter(stream.envelope, SQS_MAX_MESSAGE_BYTES - 100, 'an SQS message');
          for (const [fitted, limit] of [
            [stream, kinesisLimit],
            [queue, SQS_MAX_MESSAGE_BYTES - 100],
          ] as const) {
            expect(Buffer.byteLength(fitted.data)).toBeLessThanOrEqual(limit);
            expect(JSON.parse(fitted.data)).toEqual(fitted.envelope);
            expect(fitted.envelope.source).toEqual(envelope.source);
            expect(fitted.envelope.correlationId).toBe(envelope.correlationId);
            expect(fitted.envelope.error.reason).toBe('schema-violation');
            expect(fitted.envelope.error.message.length).toBeLessThanOrEqual(MAX_ERROR_MESSAGE_CHARS + 40);
            expect((fitted.envelope.error.issues ?? []).length).toBeLessThanOrEqual(MAX_ISSUES + 1);
            const kept = Buffer.from(fitted.envelope.payload, 'base64');
            expect(payload.subarray(0, kept.length).equals(kept)).toBe(true);
            const truncated = fitted.envelope.payloadTruncated;
            if (truncated === undefined) expect(kept.length).toBe(payloadBytes);
            else {
              expect(truncated).toMatchObject({ bytes: payloadBytes, keptBytes: kept.length, sha256: sha256(payload) });
              expect(truncated.reason).toMatch(
                /stays in stream clicks at shard shardId-000000000000, sequence number 42/,
              );
            }
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('leaves a letter that fits as it is, and keeps nearly all of a payload just over the limit', () => {
    // Prepare: a 790 KB payload is 1,053,336 characters of base64: over 1 MiB with the envelope's fields.
    const small = envelopeOf(Buffer.from('{"a":1}'), 'bad', 1, 'pk');
    const large = envelopeOf(Buffer.alloc(790_000, 7), 'bad', 1, 'pk');

    // Act
    const fittedSmall = fitDeadLetter(small, MAX_RECORD_BYTES - 2, 'a Kinesis record');
    const fittedLarge = fitDeadLetter(large, MAX_RECORD_BYTES - 2, 'a Kinesis record');

    // Assess
    expect(fittedSmall.envelope).toBe(small);
    expect(fittedSmall.data).toBe(JSON.stringify(small));
    expect(fittedLarge.envelope.payloadTruncated?.keptBytes).toBeGreaterThan(785_000);
    expect(Buffer.byteLength(fittedLarge.data)).toBeLessThanOrEqual(MAX_RECORD_BYTES - 2);
    expect(Buffer.byteLength(fittedLarge.data)).toBeGreaterThan(MAX_RECORD_BYTES - 2 - 16);
  });
});
