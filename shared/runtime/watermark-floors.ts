import { hashKeyOf } from './applied-positions.js';

/** A part of the hash key space (its ends included) and the watermark a parent shard had acted on for its keys. */
export interface WatermarkFloor {
  readonly start: bigint;
  readonly end: bigint;
  readonly watermark: number;
}

/** Stored among the channel watermarks: `#floor:<start>:<end>` -> the watermark. */
const FLOOR = '#floor:';

/**
 * The watermarks a shard born of a reshard inherits (docs/watermarks.md, "After a reshard"): for the
 * keys of each parent's hash key range, the watermark that parent had acted on (fired windows and
 * timers, emitted unmatched rows, sent records to the late output). A record behind it is late on the
 * child as it would have been on the parent. A merged child keeps each parent's for its own range,
 * as applied positions do: the parents' watermarks can differ, and taking the lower for both ranges
 * would let in records the higher one's parent had already acted without.
 */
export class WatermarkFloors {
  readonly #floors: readonly WatermarkFloor[];

  constructor(floors: readonly WatermarkFloor[] = []) {
    this.#floors = floors.filter((f) => f.watermark > Number.NEGATIVE_INFINITY);
  }

  /** The floors among a shard's stored channel watermarks. */
  static fromRecord(stored: Readonly<Record<string, number>> = {}): WatermarkFloors {
    const floors: WatermarkFloor[] = [];
    for (const [name, watermark] of Object.entries(stored)) {
      if (!name.startsWith(FLOOR)) continue;
      const [start = '', end = ''] = name.slice(FLOOR.length).split(':', 2);
      floors.push({ start: BigInt(start), end: BigInt(end), watermark });
    }
    return new WatermarkFloors(floors);
  }

  get floors(): readonly WatermarkFloor[] {
    return this.#floors;
  }

  /** The floor for a key: the highest watermark a parent owning its hash key had acted on. */
  of(key: string): number {
    if (this.#floors.length === 0) return Number.NEGATIVE_INFINITY;
    const hash = hashKeyOf(key);
    let floor = Number.NEGATIVE_INFINITY;
    for (const f of this.#floors) if (f.start <= hash && hash <= f.end && f.watermark > floor) floor = f.watermark;
    return floor;
  }

  /**
   * The floor every key of `range` has: the lowest, over the range, of the highest floor covering
   * each hash key (-Infinity where no floor covers one). What the shard's watermark can start from.
   */
  under(range: { readonly start: bigint; readonly end: bigint }): number {
    // Between consecutive cuts the covering floors do not change.
    const cuts = new Set<bigint>([range.start]);
    for (const f of this.#floors) {
      if (f.start > range.start && f.start <= range.end) cuts.add(f.start);
      if (f.end >= range.start && f.end < range.end) cuts.add(f.end + 1n);
    }
    let lowest = Number.POSITIVE_INFINITY;
    for (const at of cuts) {
      let highest = Number.NEGATIVE_INFINITY;
      for (const f of this.#floors) if (f.start <= at && at <= f.end && f.watermark > highest) highest = f.watermark;
      lowest = Math.min(lowest, highest);
    }
    return lowest;
  }

  toRecord(): Record<string, number> {
    return Object.fromEntries(this.#floors.map((f) => [`${FLOOR}${f.start}:${f.end}`, f.watermark]));
  }
}
