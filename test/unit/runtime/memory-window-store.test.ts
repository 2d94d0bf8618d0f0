import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { estimateItemBytes } from '../../../shared/runtime/io/item-size.js';
import { MemoryWindowStore } from '../../../shared/runtime/io/memory-window-store.js';
import { compareSequenceNumbers, isApplied } from '../../../shared/runtime/io/sequence-numbers.js';
import { InvalidStateRequestError } from '../../../shared/runtime/io/state-errors.js';
import { encodeTime, TIME_OFFSET } from '../../../shared/runtime/io/state-keys.js';
import { describeWindowStoreContract, newStageId, put } from '../../helpers/window-store-contract.js';

describeWindowStoreContract('MemoryWindowStore', () => ({
  create: (options) => new MemoryWindowStore(options),
  reportsCurrent: true,
}));

describe('sequence numbers', () => {
  // Two 56-digit sequence numbers, as Kinesis and both emulators issue, one apart.
  const a56 = '49590338271490256608559692538361571095921575989136588898';
  const b56 = '49590338271490256608559692538361571095921575989136588899';
  // 2^128 - 1 and 2^128 - 2: 39 digits, the largest sequence numbers can be.
  const max39 = '340282366920938463463374607431768211455';
  const below39 = '340282366920938463463374607431768211454';

  it('compares as BigInt where Number and string comparison get it wrong', () => {
    // Number rounds both pairs to the same double.
    expect(Number(a56) === Number(b56)).toBe(true);
    expect(Number(max39) === Number(below39)).toBe(true);
    expect(compareSequenceNumbers(a56, b56)).toBe(-1);
    expect(compareSequenceNumbers(max39, below39)).toBe(1);
    expect(compareSequenceNumbers(a56, a56)).toBe(0);
    // Strings of different lengths: '9' > '1' as strings, but 39 digits < 56 digits as numbers.
    expect('9'.repeat(39) > `1${'0'.repeat(55)}`).toBe(true);
    expect(compareSequenceNumbers('9'.repeat(39), `1${'0'.repeat(55)}`)).toBe(-1);
  });

  it('tells whether a record is already applied to a window by its shard fence', () => {
    const fence = { 'shardId-000000000000': b56, 'shardId-000000000001': below39 };

    expect(isApplied(fence, 'shardId-000000000000', a56)).toBe(true);
    expect(isApplied(fence, 'shardId-000000000000', b56)).toBe(true);
    expect(isApplied(fence, 'shardId-000000000000', `${b56}0`)).toBe(false);
    expect(isApplied(fence, 'shardId-000000000001', max39)).toBe(false);
    expect(isApplied(fence, 'shardId-000000000001', below39)).toBe(true);
    // A shard that never wrote the window has applied nothing to it.
    expect(isApplied(fence, 'shardId-000000000002', '0')).toBe(false);
  });

  it('agrees with BigInt on random numbers of up to 128 bits', () => {
    const sequenceNumber = fc.bigInt({ min: 0n, max: 2n ** 128n - 1n });
    fc.assert(
      fc.property(sequenceNumber, sequenceNumber, (x, y) => {
        expect(compareSequenceNumbers(String(x), String(y))).toBe(x < y ? -1 : x > y ? 1 : 0);
        expect(isApplied({ s: String(y) }, 's', String(x))).toBe(x <= y);
      }),
    );
  });

  it('refuses strings that BigInt would take but are not sequence numbers', () => {
    for (const bad of ['0x1f', ' 12', '', '1e3', '-1']) {
      expect(() => compareSequenceNumbers(bad, '1')).toThrow(InvalidStateRequestError);
    }
  });
});

describe('window sort keys', () => {
  it('sort as strings in the order of their times, negatives included', () => {
    const time = fc.integer({ min: -TIME_OFFSET, max: TIME_OFFSET - 1 });
    fc.assert(
      fc.property(time, time, (x, y) => {
        const [ex, ey] = [encodeTime(x), encodeTime(y)];
        expect(ex).toHaveLength(16);
        expect(ex < ey).toBe(x < y);
      }),
    );
    expect(encodeTime(-TIME_OFFSET)).toBe('0000000000000000');
    expect(encodeTime(0)).toBe('4503599627370496');
  });
});

describe('item size estimate', () => {
  it('counts names and UTF-8 bytes of strings, and walks maps and lists', () => {
    expect(estimateItemBytes({ ab: 'xyz' })).toBe(5);
    expect(estimateItemBytes({ a: 'é🦀' })).toBe(1 + 2 + 4);
    // A map: 3 bytes, then per member 1 + name + value; a list: 3, then 1 + value per element.
    expect(estimateItemBytes({ m: { k: 'v', l: [true, null] } })).toBe(1 + 3 + (1 + 1 + 1) + (1 + 1 + (3 + 2 + 2)));
    expect(estimateItemBytes({ n: 123456 })).toBe(1 + 4);
    expect(estimateItemBytes({ gone: undefined, m: { gone: undefined } })).toBe(1 + 3);
  });
});

describe('MemoryWindowStore', () => {
  it('hands out copies: changing what a read returned does not change the state', async () => {
    const store = new MemoryWindowStore();
    const stage = newStageId();
    await store.commit(put(stage, { key: 'k', start: 0, end: 1000 }, { accumulator: { list: [1] } }));

    const [first] = await store.getWindows<{ list: number[] }>(stage, [{ key: 'k', start: 0, end: 1000 }]);
    first?.state.accumulator.list.push(2);
    const [second] = await store.getWindows<{ list: number[] }>(stage, [{ key: 'k', start: 0, end: 1000 }]);

    expect(second?.state.accumulator.list).toEqual([1]);
  });

  it('leaves the current item out of conflicts when told to, as dynalite does', async () => {
    const store = new MemoryWindowStore({ returnCurrentOnConflict: false });
    const stage = newStageId();
    await store.commit(put(stage, { key: 'k', start: 0, end: 1000 }));

    const outcome = await store.commitAll([put(stage, { key: 'k', start: 0, end: 1000 }, { expected: 0 })]);

    expect(outcome.conflicts).toEqual([{ change: put(stage, { key: 'k', start: 0, end: 1000 }, { expected: 0 }) }]);
  });

  it('estimates capacity units after DynamoDB rules: 4 KB a read unit, 1 KB a write unit, GSI writes too', async () => {
    const store = new MemoryWindowStore();
    const stage = newStageId();

    await store.commit(put(stage, { key: 'k', start: 0, end: 1000 }, { accumulator: 'x'.repeat(5000) }));
    const writeUnits = store.counter.snapshot().writeUnits;
    await store.getWindows(stage, [{ key: 'k', start: 0, end: 1000 }]);

    expect(writeUnits).toBe(2 * 6); // 5,000 bytes and the other attributes: 6 KB, to the table and the GSI
    expect(store.counter.snapshot().readUnits).toBe(2);
  });
});
