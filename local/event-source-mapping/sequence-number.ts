/**
 * Kinesis sequence numbers are decimal strings of up to 128 bits: beyond Number's 53 bits of
 * precision, so they are only ever compared as BigInt.
 */

/** Negative when `a` comes before `b` in its shard, zero when equal, positive after. */
export function compareSequenceNumbers(a: string, b: string): number {
  const left = BigInt(a);
  const right = BigInt(b);
  return left < right ? -1 : left > right ? 1 : 0;
}

/** Whether `a` comes strictly after `b`. */
export function isAfter(a: string, b: string): boolean {
  return compareSequenceNumbers(a, b) > 0;
}
