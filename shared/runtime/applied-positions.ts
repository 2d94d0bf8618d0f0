import { createHash } from 'node:crypto';
import { comparePositions } from './shuffle-pack.js';

/**
 * A part of the hash key space (its ends included) with the highest position a shard applied per
 * channel for the keys in it: what a merged shard inherits from each parent.
 */
export interface RangePositions {
  readonly start: bigint;
  readonly end: bigint;
  readonly highest: ReadonlyMap<string, string>;
}

/** Stored beside the channels: the parents the shard's positions were started from, comma-separated. */
const PARENTS_READ = '#parents';
/** Stored beside the channels: `#range:<start>:<end>:<channel>` -> the highest position on that range. */
const RANGE = '#range:';

/**
 * The highest position applied per channel, for one shard of a stateful stage: an envelope at or
 * below it is a repeat of one the producer wrote before its retry (docs/shuffle.md).
 *
 * A shard born of a reshard also holds what its parents applied (inheritFrom), read once on its
 * first batch: a producer's retry after the reshard writes to the child envelopes first written to a
 * parent. A split child continues all of its parent's range, so the parent's positions become its
 * own. A merged child continues two ranges whose lanes a producer left at different points (one
 * lane's pack in, the other's failed, then the retry): each parent's positions hold for the keys of
 * its own range only, and an envelope is a repeat when its key's range had applied it.
 */
export class AppliedPositions {
  readonly #highest: Map<string, string>;
  readonly #ranges: RangePositions[];
  #parentsRead: string | undefined;

  constructor(stored: Readonly<Record<string, string>> = {}) {
    this.#highest = new Map();
    const ranges = new Map<string, { start: bigint; end: bigint; highest: Map<string, string> }>();
    for (const [name, position] of Object.entries(stored)) {
      if (name === PARENTS_READ) {
        this.#parentsRead = position;
      } else if (name.startsWith(RANGE)) {
        const [start = '', end = ''] = name.slice(RANGE.length).split(':', 2);
        const channel = name.slice(RANGE.length + start.length + end.length + 2);
        const range = ranges.get(`${start}:${end}`) ?? { start: BigInt(start), end: BigInt(end), highest: new Map() };
        range.highest.set(channel, position);
        ranges.set(`${start}:${end}`, range);
      } else {
        this.#highest.set(name, position);
      }
    }
    this.#ranges = [...ranges.values()];
  }

  /** Whether the shard's parents (none, for a shard that has none) were read into these positions. */
  get parentsRead(): boolean {
    return this.#parentsRead !== undefined;
  }

  /** The positions held for every key of the shard, and those held for a part of its range. */
  get ranges(): readonly RangePositions[] {
    return this.#ranges;
  }

  /** The positions held for every key of the shard. */
  get highest(): ReadonlyMap<string, string> {
    return this.#highest;
  }

  /**
   * True when the envelope is new, and it then becomes the channel's highest. `key`, the envelope's
   * key (which routed it), is looked up only when a parent's range may hold the position.
   */
  admit(channel: string, position: string, key?: string): boolean {
    const highest = this.#highest.get(channel);
    if (highest !== undefined && comparePositions(position, highest) <= 0) return false;
    if (key !== undefined && this.#inRangeApplied(channel, position, key)) return false;
    this.#highest.set(channel, position);
    return true;
  }

  /**
   * Takes in what a parent applied on the part of the hash key space `range` (the parent's range
   * within this shard's `own`): positions are facts about what reached the parent, so taking them in
   * again (a retried first batch) changes nothing.
   */
  inheritFrom(range: RangePositions, own: { readonly start: bigint; readonly end: bigint }): void {
    if (range.start <= own.start && own.end <= range.end) {
      for (const [channel, position] of range.highest) this.#raise(this.#highest, channel, position);
      return;
    }
    let same = this.#ranges.find((r) => r.start === range.start && r.end === range.end);
    if (same === undefined) {
      same = { start: range.start, end: range.end, highest: new Map() };
      this.#ranges.push(same);
    }
    for (const [channel, position] of range.highest)
      this.#raise(same.highest as Map<string, string>, channel, position);
  }

  /** Records that the shard's parents were read (from its first batch on, its own positions say all). */
  markParentsRead(parents: readonly string[]): void {
    this.#parentsRead = parents.join(',');
  }

  toRecord(): Record<string, string> {
    const record = Object.fromEntries(this.#highest);
    if (this.#parentsRead !== undefined) record[PARENTS_READ] = this.#parentsRead;
    for (const { start, end, highest } of this.#ranges) {
      for (const [channel, position] of highest) {
        // A range's position the shard's own has passed says nothing more: the channel's lane is past it.
        const own = this.#highest.get(channel);
        if (own === undefined || comparePositions(position, own) > 0)
          record[`${RANGE}${start}:${end}:${channel}`] = position;
      }
    }
    return record;
  }

  #inRangeApplied(channel: string, position: string, key: string): boolean {
    let hash: bigint | undefined;
    for (const range of this.#ranges) {
      const highest = range.highest.get(channel);
      if (highest === undefined || comparePositions(position, highest) > 0) continue;
      hash ??= hashKeyOf(key);
      if (range.start <= hash && hash <= range.end) return true;
    }
    return false;
  }

  #raise(map: Map<string, string>, channel: string, position: string): void {
    const current = map.get(channel);
    if (current === undefined || comparePositions(position, current) > 0) map.set(channel, position);
  }
}

/** The hash key Kinesis routes a partition key by: MD5 as a 128-bit integer. */
export function hashKeyOf(partitionKey: string): bigint {
  return BigInt(`0x${createHash('md5').update(partitionKey, 'utf8').digest('hex')}`);
}
