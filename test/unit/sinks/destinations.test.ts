import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RecordProcessingError } from '../../../shared/operators/record-errors.js';
import {
  batchesWithin,
  DestinationLimits,
  destinationId,
  destinationMessageOf,
  entryBytes,
} from '../../../shared/sinks/destinations.js';

const sqs = { operator: 'toSqs-1', service: 'sqs', target: 'alerts' } as const;
const fifo = { ...sqs, target: 'alerts.fifo', fifo: true } as const;
const events = {
  operator: 'toEventBridge-1',
  service: 'eventbridge',
  target: 'shop',
  detailType: 'Big',
  source: 's',
} as const;
const firehose = { operator: 'toFirehose-1', service: 'firehose', target: 'archive' } as const;

function failure(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(RecordProcessingError);
    const { message } = error as RecordProcessingError;
    // The message starts with the operator's name.
    expect(message).toMatch(/^to(Sqs|EventBridge|Firehose)-1: /);
    return message.slice(message.indexOf(': ') + 2);
  }
  throw new Error('expected the record to be dead-lettered');
}

describe('batchesWithin', () => {
  it('keeps order and stays within the count and the bytes (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 400 }), { maxLength: 60 }),
        fc.record({ entries: fc.integer({ min: 1, max: 12 }), batchBytes: fc.integer({ min: 400, max: 2000 }) }),
        (sizes, limits) => {
          const entries = sizes.map((bytes, index) => ({ bytes, index }));
          const batches = batchesWithin(entries, { ...limits, entryBytes: 400 });
          expect(batches.flat()).toEqual(entries);
          for (const batch of batches) {
            expect(batch.length).toBeGreaterThan(0);
            expect(batch.length).toBeLessThanOrEqual(limits.entries);
            expect(batch.reduce((sum, entry) => sum + entry.bytes, 0)).toBeLessThanOrEqual(limits.batchBytes);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('splits at each service limit: 10 SQS messages, 500 Firehose records, 4 MiB', () => {
    const small = Array.from({ length: 1001 }, () => ({ bytes: 100 }));
    expect(batchesWithin(small, DestinationLimits.sqs).map((b) => b.length)).toEqual([
      ...Array.from({ length: 100 }, () => 10),
      1,
    ]);
    expect(batchesWithin(small, DestinationLimits.firehose).map((b) => b.length)).toEqual([500, 500, 1]);
    const big = Array.from({ length: 5 }, () => ({ bytes: 1_000_000 }));
    expect(batchesWithin(big, DestinationLimits.firehose).map((b) => b.length)).toEqual([4, 1]);
    expect(batchesWithin(big, DestinationLimits.sqs).map((b) => b.length)).toEqual([1, 1, 1, 1, 1]);
  });
});

describe('destinationMessageOf', () => {
  it('gives a repeat of an output the same id, and other outputs or operators other ids', () => {
    const a = destinationMessageOf(sqs, { n: 1 }, 'clicks/shard-0/1', undefined);
    expect(destinationMessageOf(sqs, { n: 1 }, 'clicks/shard-0/1', undefined).id).toBe(a.id);
    expect(destinationMessageOf(sqs, { n: 1 }, 'clicks/shard-0/2', undefined).id).not.toBe(a.id);
    expect(destinationId('toSqs-2', 'clicks/shard-0/1')).not.toBe(a.id);
    expect(a.id).toMatch(/^[0-9a-f]{64}$/);
  });

  it('puts the id in the detail of an event and in each Firehose line', () => {
    const event = destinationMessageOf(events, { order: 'o1' }, 'e', undefined);
    expect(JSON.parse(event.data)).toEqual({ order: 'o1', eddyId: event.id });
    expect(event.bytes).toBe(Buffer.byteLength(event.data) + 'Big'.length + 's'.length);
    const record = destinationMessageOf(firehose, { order: 'o1' }, 'e', undefined);
    expect(record.data.endsWith('\n')).toBe(true);
    expect(JSON.parse(record.data)).toEqual({ order: 'o1', eddyId: record.id });
  });

  it('gives a FIFO message its group and refuses a missing or overlong one', () => {
    expect(destinationMessageOf(fifo, 1, 'e', 'acct-1').group).toBe('acct-1');
    expect(failure(() => destinationMessageOf(fifo, 1, 'e', undefined))).toBe(
      "message group must be 1 to 128 characters, got undefined, for SQS queue 'alerts.fifo'",
    );
    expect(failure(() => destinationMessageOf(fifo, 1, 'e', 'g'.repeat(129)))).toMatch(/message group/);
  });

  it('dead-letters a record over the entry limit, naming its size and the destination', () => {
    const limit = DestinationLimits.sqs.entryBytes;
    const body = 'x'.repeat(limit);
    expect(failure(() => destinationMessageOf(sqs, body, 'e', undefined))).toBe(
      `message (body and attributes) is ${entryBytes(sqs, JSON.stringify(body))} bytes, over ${limit} bytes, for SQS queue 'alerts'`,
    );
    expect(failure(() => destinationMessageOf(firehose, { s: 'y'.repeat(1_024_000) }, 'e', undefined))).toMatch(
      /^record is \d+ bytes, over 1024000 bytes, for Firehose delivery stream 'archive'$/,
    );
  });

  it('dead-letters what the services refuse: a non-object event, a reserved field, no JSON', () => {
    expect(failure(() => destinationMessageOf(events, [1], 'e', undefined))).toBe(
      "record must be a JSON object, got an array of 1, for EventBridge bus 'shop'",
    );
    expect(failure(() => destinationMessageOf(firehose, { eddyId: 1 }, 'e', undefined))).toBe(
      "field 'eddyId' is reserved for the record's id, for Firehose delivery stream 'archive'",
    );
    expect(failure(() => destinationMessageOf(sqs, undefined, 'e', undefined))).toMatch(/cannot be written as JSON/);
    expect(failure(() => destinationMessageOf(sqs, '\uFFFF', 'e', undefined))).toMatch(/U\+FFFE or U\+FFFF/);
  });
});
