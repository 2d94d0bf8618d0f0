/**
 * java.util.Random, bit for bit: Beam's Nexmark generator seeds one per event with the event id, so
 * the same 48-bit linear congruential generator gives the same people, auctions and bids.
 *
 * The 48-bit state is kept as two 24-bit halves: every product then stays below 2^53, exact in a
 * double, and no BigInt is needed on the hot path (a few dozen draws per event).
 */
const TWO_24 = 0x1000000;
// 0x5DEECE66D split at bit 24.
const MULT_HI = 0x5de;
const MULT_LO = 0xece66d;
const ADDEND = 0xb;
// setSeed scrambles with the multiplier.
const SCRAMBLE_HI = 0x5de;
const SCRAMBLE_LO = 0xece66d;

export class JavaRandom {
  #hi = 0;
  #lo = 0;

  /** `seed` is a Java long; only its low 48 bits matter, as in Java. Must be a safe integer. */
  constructor(seed: number) {
    this.setSeed(seed);
  }

  setSeed(seed: number): void {
    if (!Number.isSafeInteger(seed)) throw new RangeError(`JavaRandom seed ${seed} is not a safe integer`);
    // Two's complement low 48 bits, negative seeds included.
    const low48 = BigInt.asUintN(48, BigInt(seed));
    const lo = Number(low48 & 0xffffffn);
    const hi = Number(low48 >> 24n);
    this.#lo = lo ^ SCRAMBLE_LO;
    this.#hi = hi ^ SCRAMBLE_HI;
  }

  /** Java's protected `next(bits)`: the top `bits` bits of the advanced state, as a signed int. */
  next(bits: number): number {
    // (hi·2^24 + lo)·(MULT_HI·2^24 + MULT_LO) + ADDEND mod 2^48, limb by limb.
    const low = this.#lo * MULT_LO + ADDEND;
    const carry = Math.floor(low / TWO_24);
    this.#hi = (this.#hi * MULT_LO + this.#lo * MULT_HI + carry) % TWO_24;
    this.#lo = low % TWO_24;
    return Math.floor((this.#hi * TWO_24 + this.#lo) / 2 ** (48 - bits)) | 0;
  }

  nextInt(bound?: number): number {
    if (bound === undefined) return this.next(32);
    if (!Number.isInteger(bound) || bound <= 0 || bound > 0x7fffffff) {
      throw new RangeError(`bound must be a positive int, got ${bound}`);
    }
    const m = bound - 1;
    if ((bound & m) === 0) return Math.floor(this.next(31) / (0x80000000 / bound));
    // Java rejects draws from the last, partial copy of [0, bound): `u - r + m < 0` in int arithmetic.
    for (;;) {
      const u = this.next(31);
      const r = u % bound;
      if (((u - r + m) | 0) >= 0) return r;
    }
  }

  /** Java's nextLong as a bigint (two's complement 64 bits). */
  nextLong(): bigint {
    return BigInt.asIntN(64, (BigInt(this.next(32)) << 32n) + BigInt(this.next(32)));
  }

  nextDouble(): number {
    return (this.next(26) * 2 ** 27 + this.next(27)) / 2 ** 53;
  }
}
