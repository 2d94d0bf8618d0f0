import { createHash } from 'node:crypto';
import { TWO_PHASE } from './config.js';
import type { Bid } from './model.js';

/**
 * A 32-bit FNV-1a hash of a bid's fields. Deterministic, as a key must be: a retried batch routes a
 * bid to the same key again. No one field of a bid spreads the hot auction's bids: 3 in 4 of them are
 * by the hot bidder (so `bidder % salts` would put three quarters on one salt), and the auction is
 * the hot key itself. The bid's whole content does: its time and price vary bid to bid.
 */
export function bidHash(bid: Bid): number {
  let h = 0x811c9dc5;
  for (const field of [bid.auction, bid.bidder, bid.price, bid.dateTime]) {
    // Each field as its decimal digits: exact for any integer up to 2^53, as JSON gives them.
    const digits = String(field);
    for (let i = 0; i < digits.length; i++) h = Math.imul(h ^ digits.charCodeAt(i), 0x01000193);
    h = Math.imul(h ^ 0x7c, 0x01000193); // a separator: '1|23' and '12|3' differ
  }
  return h >>> 0;
}

/** The bid's partition: one of `partitions` values, about evenly spread. */
export const partitionOf = (bid: Bid, partitions: number = TWO_PHASE.partitions): number => bidHash(bid) % partitions;

const HASH_SPACE = 2n ** 128n;

/** Which of `slices` equal slices of Kinesis' hash key space (MD5 of the partition key) `key` falls in. */
export function hashSlice(key: string, slices: number): number {
  const hash = BigInt(`0x${createHash('md5').update(key, 'utf8').digest('hex')}`);
  return Number((hash * BigInt(slices)) / HASH_SPACE);
}

/**
 * One partition key per partition, the i-th falling in the i-th of `partitions` equal slices of
 * Kinesis' hash key space. Kinesis routes a record by the MD5 of its partition key, and a handful of
 * plain keys land where MD5 puts them: "0" to "7" put 7 of 8 partitions on one shard of two, 5 on one
 * shard of four. These keys (the first `p<i>.<j>` in slice i) put exactly partitions / n on each of n
 * evenly split shards, for any n that divides `partitions`.
 */
export function spreadKeys(partitions: number): string[] {
  return Array.from({ length: partitions }, (_, i) => {
    for (let j = 0; ; j++) {
      const key = `p${i}.${j}`;
      if (hashSlice(key, partitions) === i) return key;
    }
  });
}

/** Phase one's keys, by partition (TWO_PHASE.partitions of them). */
export const PARTITION_KEYS: readonly string[] = spreadKeys(TWO_PHASE.partitions);
