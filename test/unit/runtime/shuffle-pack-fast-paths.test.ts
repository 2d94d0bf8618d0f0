import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { OpenShard } from '../../../shared/runtime/io/shard-directory.js';
import {
  comparePositions,
  packShuffleOutputs,
  type ShuffleOutput,
  type ShufflePack,
  shardOf,
} from '../../../shared/runtime/shuffle-pack.js';

/** The order positions had before their digit-by-digit comparison: BigInt sequence, then index. */
function reference(a: string, b: string): number {
  const [aSequence = '0', aIndex = '0'] = a.split(':');
  const [bSequence = '0', bIndex = '0'] = b.split(':');
  const bySequence = BigInt(aSequence) - BigInt(bSequence);
  if (bySequence !== 0n) return bySequence < 0n ? -1 : 1;
  return Number(aIndex) - Number(bIndex);
}

const digits = fc.stringMatching(/^[0-9]{1,60}$/);
const position = fc.oneof(
  digits,
  fc.tuple(digits, fc.integer({ min: 0, max: 200 })).map(([s, i]) => `${s}:${i}`),
  fc.tuple(digits, fc.integer({ min: 0, max: 9 }), fc.integer({ min: 0, max: 9 })).map(([s, i, j]) => `${s}:${i}:${j}`),
);

describe('shuffle pack fast paths', () => {
  it('compares positions as the BigInt comparison did, leading zeros and extra colons included', () => {
    fc.assert(
      fc.property(position, position, (a, b) => {
        expect(Math.sign(comparePositions(a, b))).toBe(Math.sign(reference(a, b)));
      }),
    );
    expect(comparePositions('007', '7')).toBe(0);
    expect(comparePositions('0', '00:0')).toBe(0);
    // Not decimal: the general path, with its errors.
    expect(() => comparePositions('12x', '3')).toThrow(SyntaxError);
    expect(comparePositions('0x10', '15')).toBeGreaterThan(0);
  });

  it('routes every envelope to the shard shardOf names, whatever the shards', () => {
    const space = 2n ** 128n;
    const hashKey = fc.bigInt({ min: 0n, max: space - 1n });
    const shards = fc
      .uniqueArray(hashKey, { minLength: 1, maxLength: 6 })
      .map((starts) => [0n, ...starts].map((s, i) => ({ shardId: `shard-${i}`, startingHashKey: s.toString() })));
    fc.assert(
      fc.property(shards, fc.array(fc.string({ minLength: 1, maxLength: 12 }), { maxLength: 40 }), (open, keys) => {
        const outputs: ShuffleOutput[] = keys.map((k, i) => ({
          stream: 's',
          partitionKey: k,
          data: JSON.stringify({ id: `i${i}`, k, v: i }),
          origin: String(100 + i),
        }));
        const packs = packShuffleOutputs(outputs, {
          channel: 'c/0',
          shards: new Map([['s', open as readonly OpenShard[]]]),
          lastOrigin: '999',
        });
        for (const pack of packs) {
          const { d, e } = JSON.parse(pack.data) as ShufflePack;
          for (const envelope of e) expect(shardOf(open, envelope.k).shardId).toBe(d);
          expect(open.find((s) => s.shardId === d)?.startingHashKey).toBe(pack.explicitHashKey);
        }
        expect(packs.flatMap((p) => (JSON.parse(p.data) as ShufflePack).e)).toHaveLength(keys.length);
      }),
    );
  });

  it('sizes packs exactly, multi-byte keys and values included', () => {
    const outputs: ShuffleOutput[] = Array.from({ length: 30 }, (_, i) => ({
      stream: 's',
      partitionKey: 'clé',
      data: JSON.stringify({ id: `i${i}`, k: 'clé', v: 'é😀'.repeat(i) }),
      origin: String(10 + Math.floor(i / 3)),
    }));
    const shards = new Map([['s', [{ shardId: 'shard-0', startingHashKey: '0' }]]]);
    for (const maxPackBytes of [300, 400, 1000]) {
      const packs = packShuffleOutputs(outputs, { channel: 'c/0', shards, lastOrigin: '99', maxPackBytes });
      for (const pack of packs) {
        expect(Buffer.byteLength(pack.data) + Buffer.byteLength(pack.partitionKey)).toBeLessThanOrEqual(maxPackBytes);
      }
      // Each pack holds as many envelopes as fit: one more would not have.
      const e = packs.map((p) => (JSON.parse(p.data) as ShufflePack).e);
      expect(e.flat().map((x) => x.q)).toEqual(
        outputs.map((o, i) => (i % 3 === 0 ? o.origin : `${o.origin}:${i % 3}`)),
      );
      for (let i = 0; i + 1 < packs.length; i += 1) {
        const next = JSON.stringify((e[i + 1] as unknown[])[0]);
        const grown = (packs[i] as { data: string }).data.replace(/\]\}$/, `,${next}]}`);
        expect(Buffer.byteLength(grown) + Buffer.byteLength('c/0')).toBeGreaterThan(maxPackBytes);
      }
    }
  });
});
