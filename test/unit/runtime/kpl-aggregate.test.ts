import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CorruptAggregateError, deaggregate, isAggregated } from '../../../shared/runtime/kpl-aggregate.js';
import { aggregateOfBody, kplAggregate } from '../../helpers/kpl.js';

/**
 * aws-kinesis-agg 4.2.8 writes its key tables as `Object.keys` of an object, which lists keys that
 * look like array indexes ("0" to "4294967294") first and in numeric order: a table of such keys
 * comes out in another order than its indexes. Keys here avoid them (real explicit hash keys are
 * 128-bit numbers, above that range); the decoder itself is tested on such keys below.
 */
const isArrayIndex = (key: string) => /^(0|[1-9][0-9]*)$/.test(key) && Number(key) < 2 ** 32 - 1;
/**
 * Its key tables are plain objects, so a key `__proto__` sets the prototype instead of adding a key:
 * the aggregate it writes names a key its table lacks (this test failed once on such a key). KPL
 * itself has no such table; the decoder is not at fault.
 */
const libraryCanWrite = (key: string) => !isArrayIndex(key) && key !== '__proto__';

const userRecord = fc.record(
  {
    partitionKey: fc.string({ minLength: 1, maxLength: 256 }).filter(libraryCanWrite),
    explicitHashKey: fc.bigInt({ min: 2n ** 32n, max: 2n ** 128n - 1n }).map(String),
    data: fc.uint8Array({ minLength: 1, maxLength: 200 }),
  },
  { requiredKeys: ['partitionKey', 'data'] },
);

describe('deaggregate', () => {
  it('gives back every user record of an aws-kinesis-agg aggregate: data, keys and order', () => {
    fc.assert(
      fc.property(fc.array(userRecord, { minLength: 1, maxLength: 40 }), (records) => {
        // Prepare
        const { data } = kplAggregate(records);

        // Act
        const users = deaggregate(data);

        // Assess
        expect(isAggregated(data)).toBe(true);
        expect(users.map((u) => ({ ...u, data: Buffer.from(u.data).toString('hex') }))).toEqual(
          records.map((r, i) => ({
            subSequenceNumber: i,
            partitionKey: r.partitionKey,
            ...(r.explicitHashKey !== undefined && { explicitHashKey: r.explicitHashKey }),
            data: Buffer.from(r.data).toString('hex'),
          })),
        );
      }),
      { numRuns: 300 },
    );
  });

  it('does not take plain JSON for an aggregate', () => {
    fc.assert(
      fc.property(fc.json(), (json) => {
        expect(isAggregated(Buffer.from(json))).toBe(false);
      }),
    );
  });

  it('refuses an aggregate whose MD5 does not match, naming both digests', () => {
    const { data } = kplAggregate([{ partitionKey: 'a', data: '{"n":1}' }]);
    const flipped = Buffer.from(data);
    flipped[6] = (flipped[6] as number) ^ 0x01;

    expect(() => deaggregate(flipped)).toThrow(CorruptAggregateError);
    expect(() => deaggregate(flipped)).toThrow(/MD5 of the protobuf is [0-9a-f]{32}, the aggregate says/);
  });

  it('refuses a truncated protobuf, even with a digest that matches it', () => {
    fc.assert(
      fc.property(
        fc.array(userRecord, { minLength: 1, maxLength: 5 }),
        fc.integer({ min: 1, max: 1000 }),
        (records, cut) => {
          const { data } = kplAggregate(records);
          const body = data.subarray(4, data.length - 16);
          const truncated = body.subarray(0, Math.max(0, body.length - 1 - (cut % body.length)));
          // A cut between two whole fields is a valid, shorter aggregate: only cuts inside a field fail.
          let users: ReturnType<typeof deaggregate> | undefined;
          try {
            users = deaggregate(aggregateOfBody(truncated));
          } catch (error) {
            expect(error).toBeInstanceOf(CorruptAggregateError);
            return;
          }
          expect(users.length).toBeLessThan(records.length);
        },
      ),
    );
    const { data } = kplAggregate([{ partitionKey: 'a', data: '{"n":1}' }]);
    const body = data.subarray(4, data.length - 16);
    expect(() => deaggregate(aggregateOfBody(body.subarray(0, body.length - 2)))).toThrow(/truncated/);
  });

  it('refuses a partition key index outside the table, naming the record and the index', () => {
    // partition_key_table ["a"]; records [{ partition_key_index 3, data "{}" }]
    const body = Buffer.from([0x0a, 0x01, 0x61, 0x1a, 0x06, 0x08, 0x03, 0x1a, 0x02, 0x7b, 0x7d]);
    expect(() => deaggregate(aggregateOfBody(body))).toThrow(
      'user record 0 has partition_key_index 3; the table has 1 keys',
    );
  });

  it('reads keys that look like numbers in the order of their tables', () => {
    // partition_key_table ["1", "0"]; records [{ index 0, "{}" }, { index 1, "{}" }]
    const body = Buffer.from([
      0x0a, 0x01, 0x31, 0x0a, 0x01, 0x30, 0x1a, 0x06, 0x08, 0x00, 0x1a, 0x02, 0x7b, 0x7d, 0x1a, 0x06, 0x08, 0x01, 0x1a,
      0x02, 0x7b, 0x7d,
    ]);
    expect(deaggregate(aggregateOfBody(body)).map((u) => u.partitionKey)).toEqual(['1', '0']);
  });

  it('reads a key named __proto__ as any other key', () => {
    // partition_key_table ["a", "__proto__"]; records [{ index 1, "{}" }, { index 0, "{}" }]
    const proto = [...Buffer.from('__proto__')];
    const body = Buffer.from([
      0x0a,
      0x01,
      0x61,
      0x0a,
      proto.length,
      ...proto,
      0x1a,
      0x06,
      0x08,
      0x01,
      0x1a,
      0x02,
      0x7b,
      0x7d,
      0x1a,
      0x06,
      0x08,
      0x00,
      0x1a,
      0x02,
      0x7b,
      0x7d,
    ]);
    expect(deaggregate(aggregateOfBody(body)).map((u) => u.partitionKey)).toEqual(['__proto__', 'a']);
  });

  it('refuses a user record without data', () => {
    const body = Buffer.from([0x0a, 0x01, 0x61, 0x1a, 0x02, 0x08, 0x00]);
    expect(() => deaggregate(aggregateOfBody(body))).toThrow('user record 0 lacks its required data');
  });
});
