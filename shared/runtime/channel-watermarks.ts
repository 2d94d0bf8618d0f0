import { WatermarkFloors } from './watermark-floors.js';
import type { WatermarkRecord } from './watermark-records.js';

/**
 * The watermark of one input shard of a stateful stage: the minimum, over the channels that feed
 * it, of the highest watermark each has sent (docs/watermarks.md). Kept in DynamoDB between
 * batches as a flat map: channel id -> watermark, `#n:<producer>` -> the producer's channel count,
 * `#idle:<channel>` -> 1 while the channel is idle, `#arrived` -> the latest arrival read (processing
 * time); for a shard born of a reshard, `#floor` and `#floor:<range>` -> what its parents had acted on
 * (watermark-floors.ts), below which the shard's watermark never is; and the stage's own notes about
 * the shard ({@link note}).
 */
export class ChannelWatermarks {
  readonly #entries: Map<string, number>;
  readonly #producers: readonly string[];
  /** current(), until the entries change: a batch asks for it once per record. */
  #current: number | undefined;
  #floors: WatermarkFloors;

  /**
   * @param producers the stages that write the input stream (a join has two): until each has spoken,
   * one that has not may still send anything
   */
  constructor(stored: Readonly<Record<string, number>> = {}, producers: readonly string[] = []) {
    this.#entries = new Map(Object.entries(stored));
    this.#producers = producers;
    this.#floors = WatermarkFloors.fromRecord(stored);
  }

  /**
   * Takes in the watermarks a shard's parents had acted on (`floors`, over its hash key `range`),
   * read on its first batch: the shard's watermark starts from them. Taking them in again (a retried
   * first batch) changes nothing: the parents are finished.
   */
  inherit(floors: WatermarkFloors, range: { readonly start: bigint; readonly end: bigint }): void {
    this.#current = undefined;
    for (const name of [...this.#entries.keys()]) if (name.startsWith(FLOOR)) this.#entries.delete(name);
    this.#floors = floors;
    for (const [name, watermark] of Object.entries(floors.toRecord())) this.#entries.set(name, watermark);
    const whole = floors.under(range);
    if (whole > Number.NEGATIVE_INFINITY) this.#entries.set(FLOOR, whole);
  }

  /** What the shard inherited from its parents, per part of its hash key range. */
  get floors(): WatermarkFloors {
    return this.#floors;
  }

  /**
   * The watermark a record of `key` is checked against: the shard's, or the one the parent that
   * owned the key had acted on, if higher (a record behind it is late, on whatever shard it arrives).
   */
  currentFor(key: string): number {
    return Math.max(this.current(), this.#floors.of(key));
  }

  /** Takes a watermark record in; watermarks of a channel never go back. */
  observe(record: WatermarkRecord): void {
    this.#current = undefined;
    // A channel continues its parents (a reshard of the producer's input): they will never speak again.
    for (const parent of record.p ?? []) this.retire(parent);
    if (this.#entries.has(`#retired:${record.ch}`)) return;
    const producer = producerOf(record.ch);
    this.#entries.set(`#n:${producer}`, record.n);
    if (record.idle === true) {
      this.#entries.set(`#idle:${record.ch}`, 1);
      return;
    }
    this.#entries.delete(`#idle:${record.ch}`);
    const previous = this.#entries.get(record.ch);
    if (record.wm !== undefined && (previous === undefined || record.wm > previous))
      this.#entries.set(record.ch, record.wm);
  }

  /**
   * -Infinity until every producer's channels have all spoken (one that has not may still send
   * anything); then the minimum over the channels that are not idle. All idle: the highest seen.
   * Never below what every key's parent had acted on (inherit).
   */
  current(): number {
    this.#current ??= Math.max(this.#compute(), this.#entries.get(FLOOR) ?? Number.NEGATIVE_INFINITY);
    return this.#current;
  }

  #compute(): number {
    const producers = new Map<string, number>();
    for (const [name, value] of this.#entries) if (name.startsWith('#n:')) producers.set(name.slice(3), value);
    if (producers.size === 0 || this.#producers.some((p) => !producers.has(p))) return Number.NEGATIVE_INFINITY;
    let minimum = Number.POSITIVE_INFINITY;
    let highest = Number.NEGATIVE_INFINITY;
    for (const [producer, expected] of producers) {
      const channels = [...this.#entries].filter(([name]) => !name.startsWith('#') && producerOf(name) === producer);
      const heard =
        channels.length +
        this.#idleWithoutWatermark(
          producer,
          channels.map(([name]) => name),
        );
      if (heard < expected) return Number.NEGATIVE_INFINITY;
      for (const [name, value] of channels) {
        highest = Math.max(highest, value);
        if (!this.#entries.has(`#idle:${name}`)) minimum = Math.min(minimum, value);
      }
    }
    return minimum === Number.POSITIVE_INFINITY ? highest : minimum;
  }

  /** A channel whose shard was closed and whose children have spoken: out of the minimum and the count. */
  retire(channel: string): void {
    this.#current = undefined;
    this.#entries.delete(channel);
    this.#entries.delete(`#idle:${channel}`);
    this.#entries.set(`#retired:${channel}`, 1);
  }

  /**
   * Processing time: the latest arrival stamp read on the shard (-Infinity before any), kept with the
   * channels so that the next batch knows which windows the last one closed.
   */
  arrivedBy(): number {
    return this.#entries.get(ARRIVED) ?? Number.NEGATIVE_INFINITY;
  }

  /** Takes a record's arrival stamp in; the progress never goes back. */
  arrive(stamp: number): void {
    if (stamp > this.arrivedBy()) this.#entries.set(ARRIVED, stamp);
  }

  /**
   * A note the stage keeps about the shard beside its watermarks (a `#` name, out of the minimum),
   * saved with them once the batch's state is written: what a session stage knows of its upgrade.
   */
  note(name: `#${string}`): number | undefined {
    return this.#entries.get(name);
  }

  /** Sets a {@link note}, or removes it (undefined). */
  setNote(name: `#${string}`, value: number | undefined): void {
    if (value === undefined) this.#entries.delete(name);
    else this.#entries.set(name, value);
  }

  toRecord(): Record<string, number> {
    return Object.fromEntries(this.#entries);
  }

  #idleWithoutWatermark(producer: string, withWatermark: string[]): number {
    let count = 0;
    for (const name of this.#entries.keys()) {
      if (!name.startsWith('#idle:')) continue;
      const channel = name.slice(6);
      if (producerOf(channel) === producer && !withWatermark.includes(channel)) count += 1;
    }
    return count;
  }
}

/** Not a channel: entries named `#…` stay out of the minimum. */
const ARRIVED = '#arrived';
/** Not a channel: the watermark every key of the shard inherited (`#floor`), and per range (`#floor:…`). */
const FLOOR = '#floor';

/** `<producing stage>/<shard>` -> `<producing stage>` */
function producerOf(channel: string): string {
  const slash = channel.lastIndexOf('/');
  return slash === -1 ? channel : channel.slice(0, slash);
}
