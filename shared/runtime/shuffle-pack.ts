import { createHash } from 'node:crypto';
import type { OpenShard } from './io/shard-directory.js';
import type { OutputRecord } from './records.js';

/**
 * What travels on a shuffle stream between two stages (docs/shuffle.md): a **pack**, several
 * envelopes bound for one downstream shard in one Kinesis record, with the producing channel's
 * watermark at its end when the consumer keeps state.
 *
 * Packs are written to a shard one after another, each only once the one before it is in, so the
 * envelopes of a channel reach a shard in the order of their positions, without gaps; a retry of the
 * producer re-sends a suffix of what it wrote. The consumer can then tell a repeat from a new
 * envelope by its position alone: a repeat is at or below the highest position seen from its channel.
 */
export interface ShufflePack {
  /** The producing channel: `<producing stage>/<its input shard>`. */
  readonly ch: string;
  /** The envelopes, in position order, each with its position `q`. */
  readonly e: readonly PackedEnvelope[];
  /** The X-Ray trace id of the invocation that wrote the pack, when tracing is on. */
  readonly tr?: string;
  /** The channel's watermark after these envelopes; only on streams whose consumer keeps state. */
  readonly wm?: number;
  /** With `wm`: how many channels the producer has (its input stream's open shards). */
  readonly n?: number;
  /** The shard the producer meant the pack for; a consumer of another shard drops it (a stale shard list). */
  readonly d?: string;
  /** The channels this channel continues (its input shard's parents): the consumer retires them. */
  readonly p?: readonly string[];
}

/** An envelope (records.ts ShuffleEnvelope) with its position in its channel. */
export interface PackedEnvelope {
  /** `<input sequence number>` or `<input sequence number>:<index among that input's outputs>`. */
  readonly q: string;
  readonly id: string;
  readonly k: string;
  readonly t?: number;
  readonly v: unknown;
}

export function isShufflePack(value: unknown): value is ShufflePack {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { ch?: unknown }).ch === 'string' &&
    Array.isArray((value as { e?: unknown }).e)
  );
}

/** Kinesis' maximum record size (data plus partition key). */
export const MAX_RECORD_BYTES = 1024 * 1024;
/** Room a pack keeps for its own fields and an envelope's position: an envelope may be this much smaller. */
export const PACK_OVERHEAD_BYTES = 1024;

/** Orders positions: the sequence numbers as 128-bit integers, then the output index. */
export function comparePositions(a: string, b: string): number {
  const [aSequence = '0', aIndex = '0'] = a.split(':');
  const [bSequence = '0', bIndex = '0'] = b.split(':');
  const bySequence = BigInt(aSequence) - BigInt(bSequence);
  if (bySequence !== 0n) return bySequence < 0n ? -1 : 1;
  return Number(aIndex) - Number(bIndex);
}

/**
 * The highest position applied per channel, for one shard of a stateful stage: an envelope at or
 * below it is a repeat of one the producer wrote before its retry.
 */
export class AppliedPositions {
  readonly #highest: Map<string, string>;

  constructor(stored: Readonly<Record<string, string>> = {}) {
    this.#highest = new Map(Object.entries(stored));
  }

  /** True when the envelope is new, and it then becomes the channel's highest. */
  admit(channel: string, position: string): boolean {
    const highest = this.#highest.get(channel);
    if (highest !== undefined && comparePositions(position, highest) <= 0) return false;
    this.#highest.set(channel, position);
    return true;
  }

  toRecord(): Record<string, string> {
    return Object.fromEntries(this.#highest);
  }
}

/** One shuffle envelope leaving a stage, serialised, with the input record it came from. */
export interface ShuffleOutput {
  readonly stream: string;
  /** The key (keyBy), which picks the shard. */
  readonly partitionKey: string;
  /** The envelope's JSON. */
  readonly data: string;
  /** Sequence number of the input record it was derived from. */
  readonly origin: string;
}

export interface PackOptions {
  /** The producing channel. */
  readonly channel: string;
  /** Open shards of each shuffle stream written. */
  readonly shards: ReadonlyMap<string, readonly OpenShard[]>;
  /** Streams that get the watermark (their consumer keeps state), with it and the producer's channel count. */
  readonly watermark?: { readonly streams: readonly string[]; readonly value: number; readonly channels: number };
  /** Origin of watermark-only packs: the batch's last input record. */
  readonly lastOrigin: string;
  /** Channels the producing channel continues (after a reshard of its input), retired downstream. */
  readonly parents?: readonly string[];
  /** The producing invocation's X-Ray trace id, so that the consumer's trace can name it. */
  readonly trace?: string;
  /** @default MAX_RECORD_BYTES */
  readonly maxPackBytes?: number;
}

/**
 * Packs a batch's shuffle envelopes, given in emission order, per destination shard. Each pack is an
 * output record in the lane of its shard (the writer keeps a lane's order). Positions are given per
 * input record in emission order, and a stage emits in input order, so a lane's positions rise.
 */
export function packShuffleOutputs(outputs: readonly ShuffleOutput[], options: PackOptions): OutputRecord[] {
  const maxBytes = options.maxPackBytes ?? MAX_RECORD_BYTES;
  const indexOfOrigin = new Map<string, number>();
  const lanes = new Map<string, { stream: string; shard: OpenShard; envelopes: { json: string; origin: string }[] }>();
  const laneOf = (stream: string, shard: OpenShard) => {
    const name = `${stream}/${shard.shardId}`;
    let lane = lanes.get(name);
    if (lane === undefined) {
      lane = { stream, shard, envelopes: [] };
      lanes.set(name, lane);
    }
    return lane;
  };
  for (const output of outputs) {
    const index = indexOfOrigin.get(output.origin) ?? 0;
    indexOfOrigin.set(output.origin, index + 1);
    const position = index === 0 ? output.origin : `${output.origin}:${index}`;
    const shard = shardOf(options.shards.get(output.stream) ?? [], output.partitionKey);
    // The envelope's JSON starts with '{': the position goes in front of its fields without a re-parse.
    const json = `{"q":"${position}",${output.data.slice(1)}`;
    laneOf(output.stream, shard).envelopes.push({ json, origin: output.origin });
  }
  const watermark = options.watermark;
  if (watermark !== undefined) {
    for (const stream of watermark.streams) for (const shard of options.shards.get(stream) ?? []) laneOf(stream, shard);
  }

  const records: OutputRecord[] = [];
  const parents =
    options.parents !== undefined && options.parents.length > 0 ? `,"p":${JSON.stringify(options.parents)}` : '';
  const trace = options.trace !== undefined ? `,"tr":${JSON.stringify(options.trace)}` : '';
  const partitionKey = options.channel.slice(-256);
  for (const [lane, { stream, shard, envelopes }] of lanes) {
    const head = `{"ch":${JSON.stringify(options.channel)},"d":${JSON.stringify(shard.shardId)}${parents}${trace},"e":[`;
    const tail = watermark?.streams.includes(stream) ? `],"wm":${watermark.value},"n":${watermark.channels}}` : ']}';
    const budget = maxBytes - Buffer.byteLength(partitionKey) - Buffer.byteLength(head) - Buffer.byteLength(tail);
    let parts: string[] = [];
    let bytes = 0;
    let origin: string | undefined;
    const flush = (last: boolean) => {
      records.push({
        stream,
        partitionKey,
        explicitHashKey: shard.startingHashKey,
        lane,
        data: `${head}${parts.join(',')}${last ? tail : ']}'}`,
        origin: origin ?? options.lastOrigin,
      });
      parts = [];
      bytes = 0;
      origin = undefined;
    };
    for (const envelope of envelopes) {
      const size = Buffer.byteLength(envelope.json) + 1;
      if (parts.length > 0 && bytes + size > budget) flush(false);
      parts.push(envelope.json);
      bytes += size;
      // Lambda resumes a failed batch from its lowest reported record: a pack reports its first.
      origin ??= envelope.origin;
    }
    if (parts.length > 0 || tail !== ']}') flush(true);
  }
  return records;
}

/** The open shard whose hash key range holds MD5(partition key), as Kinesis routes a record. */
export function shardOf(shards: readonly OpenShard[], partitionKey: string): OpenShard {
  const hash = BigInt(`0x${createHash('md5').update(partitionKey, 'utf8').digest('hex')}`);
  let chosen: OpenShard | undefined;
  let chosenStart = -1n;
  for (const shard of shards) {
    const start = BigInt(shard.startingHashKey);
    if (start <= hash && start > chosenStart) {
      chosen = shard;
      chosenStart = start;
    }
  }
  if (chosen === undefined) throw new Error(`no open shard holds hash key ${hash} (shards: ${shards.length})`);
  return chosen;
}
