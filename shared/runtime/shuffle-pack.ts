import * as crypto from 'node:crypto';
import { createHash } from 'node:crypto';
import { DEFAULT_SHUFFLE_FORMAT, type ShuffleFormat } from '../dag/shuffle-format.js';
import type { OpenShard } from './io/shard-directory.js';
import { idPrefixOf, leanEnvelope } from './lean-envelope.js';
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
  /** The format (shared/dag/shuffle-format.ts); absent in format 1. */
  readonly f?: number;
  /** Format 2: the prefix of the envelopes' ids that their positions do not say (lean-envelope.ts). */
  readonly ip?: string;
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
  /**
   * The correlation id. Format 2 writes it only when `ip` and `q` do not say it, and `"i"` for the
   * suffix they do not say (lean-envelope.ts); the decoder restores it before anything reads it.
   */
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
  // Positions are decimal sequence numbers, compared digit by digit without BigInt; anything else
  // takes the general path below, which gives the same order (and the same errors).
  const aColon = a.indexOf(':');
  const bColon = b.indexOf(':');
  const bySequence = compareDecimals(a, aColon === -1 ? a.length : aColon, b, bColon === -1 ? b.length : bColon);
  if (bySequence !== undefined) {
    if (bySequence !== 0) return bySequence;
    return Number(indexPart(a, aColon)) - Number(indexPart(b, bColon));
  }
  return comparePositionsExactly(a, b);
}

/** What `position.split(':')[1] ?? '0'` is, without the array. */
function indexPart(position: string, colon: number): string {
  if (colon === -1) return '0';
  const next = position.indexOf(':', colon + 1);
  return position.slice(colon + 1, next === -1 ? position.length : next);
}

const ZERO = 0x30;
const NINE = 0x39;

/**
 * Compares the decimal integers `a[0, aEnd)` and `b[0, bEnd)` as BigInt would (leading zeros allowed),
 * or undefined when either is not a non-empty run of ASCII digits.
 */
function compareDecimals(a: string, aEnd: number, b: string, bEnd: number): -1 | 0 | 1 | undefined {
  const aFirst = firstSignificantDigit(a, aEnd);
  const bFirst = firstSignificantDigit(b, bEnd);
  if (aFirst === -1 || bFirst === -1) return undefined;
  const aDigits = aEnd - aFirst;
  const bDigits = bEnd - bFirst;
  if (aDigits !== bDigits) return aDigits < bDigits ? -1 : 1;
  for (let i = 0; i < aDigits; i += 1) {
    const x = a.charCodeAt(aFirst + i);
    const y = b.charCodeAt(bFirst + i);
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

/** The index of the first non-zero digit of `text[0, end)` (`end` when all are zeros), or -1 when it is not all digits. */
function firstSignificantDigit(text: string, end: number): number {
  if (end === 0) return -1;
  let first = end;
  for (let i = 0; i < end; i += 1) {
    const c = text.charCodeAt(i);
    if (c < ZERO || c > NINE) return -1;
    if (first === end && c !== ZERO) first = i;
  }
  return first;
}

function comparePositionsExactly(a: string, b: string): number {
  const [aSequence = '0', aIndex = '0'] = a.split(':');
  const [bSequence = '0', bIndex = '0'] = b.split(':');
  const bySequence = BigInt(aSequence) - BigInt(bSequence);
  if (bySequence !== 0n) return bySequence < 0n ? -1 : 1;
  return Number(aIndex) - Number(bIndex);
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
  /** The format to write (shared/dag/shuffle-format.ts). @default 1 */
  readonly format?: ShuffleFormat;
}

/**
 * Packs a batch's shuffle envelopes, given in emission order, per destination shard. Each pack is an
 * output record in the lane of its shard (the writer keeps a lane's order). Positions are given per
 * input record in emission order, and a stage emits in input order, so a lane's positions rise.
 */
export function packShuffleOutputs(outputs: readonly ShuffleOutput[], options: PackOptions): OutputRecord[] {
  const maxBytes = options.maxPackBytes ?? MAX_RECORD_BYTES;
  const indexOfOrigin = new Map<string, number>();
  const lanes = new Map<string, Lane>();
  const laneOf = (stream: string, shard: OpenShard): Lane => {
    const name = `${stream}/${shard.shardId}`;
    let lane = lanes.get(name);
    if (lane === undefined) {
      lane = { stream, shard, positions: [], data: [], origins: [], most: 0 };
      lanes.set(name, lane);
    }
    return lane;
  };
  // Per stream: its router, and the lane of each key already seen (a batch repeats its keys).
  const routes = new Map<string, { router: ShardRouter; lanes: Map<string, Lane> }>();
  let route: { router: ShardRouter; lanes: Map<string, Lane> } | undefined;
  let routeStream: string | undefined;
  let previousOrigin: string | undefined;
  let previousIndex = 0;
  for (const output of outputs) {
    // The i-th output of an input record is at `<origin>:<i>`; a record's outputs usually come together.
    let index: number;
    if (output.origin === previousOrigin) {
      index = previousIndex + 1;
    } else {
      if (previousOrigin !== undefined) indexOfOrigin.set(previousOrigin, previousIndex + 1);
      index = indexOfOrigin.get(output.origin) ?? 0;
      previousOrigin = output.origin;
    }
    previousIndex = index;
    const position = index === 0 ? output.origin : `${output.origin}:${index}`;
    if (routeStream !== output.stream || route === undefined) {
      routeStream = output.stream;
      route = routes.get(output.stream);
      if (route === undefined) {
        route = { router: new ShardRouter(options.shards.get(output.stream) ?? []), lanes: new Map() };
        routes.set(output.stream, route);
      }
    }
    let lane = route.lanes.get(output.partitionKey);
    if (lane === undefined) {
      lane = laneOf(output.stream, route.router.route(output.partitionKey));
      route.lanes.set(output.partitionKey, lane);
    }
    const data = output.data;
    lane.positions.push(position);
    lane.data.push(data);
    lane.origins.push(output.origin);
    // At most 3 bytes of UTF-8 per UTF-16 unit, `{"q":"",` and a comma: exact sizes only when it may matter.
    lane.most += 3 * (position.length + data.length) + 8;
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
  const lean = (options.format ?? DEFAULT_SHUFFLE_FORMAT) === 2;
  for (const [lane, { stream, shard, positions, data, origins, most }] of lanes) {
    // Format 2: the ids' prefix once per lane (every pack of it), each envelope without what it says.
    const prefix = lean ? idPrefixOf(data, positions) : undefined;
    if (prefix !== undefined) {
      for (let i = 0; i < data.length; i += 1)
        data[i] = leanEnvelope(data[i] as string, positions[i] as string, prefix);
    }
    const format = lean ? `"f":2,${prefix === undefined ? '' : `"ip":${JSON.stringify(prefix)},`}` : '';
    const head = `{${format}"ch":${JSON.stringify(options.channel)},"d":${JSON.stringify(shard.shardId)}${parents}${trace},"e":[`;
    const tail = watermark?.streams.includes(stream) ? `],"wm":${watermark.value},"n":${watermark.channels}}` : ']}';
    const budget = maxBytes - Buffer.byteLength(partitionKey) - Buffer.byteLength(head) - Buffer.byteLength(tail);
    // Envelopes [from, to) of the lane, as one pack.
    const flush = (from: number, to: number, last: boolean) => {
      const parts: string[] = [head];
      for (let i = from; i < to; i += 1) {
        parts.push(i === from ? '{"q":"' : ',{"q":"', positions[i] as string, '",', (data[i] as string).slice(1));
      }
      parts.push(last ? tail : ']}');
      records.push({
        stream,
        partitionKey,
        explicitHashKey: shard.startingHashKey,
        lane,
        data: parts.join(''),
        // Lambda resumes a failed batch from its lowest reported record: a pack reports its first.
        origin: from < to ? (origins[from] as string) : options.lastOrigin,
      });
    };
    let from = 0;
    // A lane that cannot reach the budget is one pack; else it is cut where the next envelope would not fit.
    if (most > budget) {
      let bytes = 0;
      for (let i = 0; i < data.length; i += 1) {
        const size = envelopeBytes(positions[i] as string, data[i] as string) + 1;
        if (i > from && bytes + size > budget) {
          flush(from, i, false);
          from = i;
          bytes = 0;
        }
        bytes += size;
      }
    }
    if (data.length > from || tail !== ']}') flush(from, data.length, true);
  }
  return records;
}

const OPEN_BRACE = 0x7b;

/**
 * The bytes of a packed envelope: its JSON starts with '{', and the position goes in front of its
 * fields without a re-parse, `{"q":"<position>",` then the fields, 7 bytes more than both.
 */
function envelopeBytes(position: string, data: string): number {
  return data.charCodeAt(0) === OPEN_BRACE
    ? Buffer.byteLength(position) + Buffer.byteLength(data) + 7
    : Buffer.byteLength(`{"q":"${position}",${data.slice(1)}`);
}

/** The envelopes bound for one destination shard, in order (columns, to spare an object each). */
interface Lane {
  readonly stream: string;
  readonly shard: OpenShard;
  readonly positions: string[];
  /** Each envelope's JSON, without its position. */
  readonly data: string[];
  readonly origins: string[];
  /** Never less than the bytes the lane's envelopes take in a pack, commas included. */
  most: number;
}

/** The 16 bytes of MD5(partition key): Kinesis reads them as a 128-bit big-endian hash key. */
const md5: (text: string) => Buffer =
  typeof crypto.hash === 'function'
    ? (text) => crypto.hash('md5', text, 'buffer')
    : (text) => crypto.createHash('md5').update(text, 'utf8').digest();

const HASH_KEY_SPACE = 2n ** 128n;

/**
 * Routes partition keys to the open shards of one stream as {@link shardOf} does, with the shards'
 * starting hash keys read once, and each key hashed once.
 */
class ShardRouter {
  /** The shards by starting hash key, highest first (ties in the order given), with the key as 16 bytes. */
  readonly #byStart: { readonly shard: OpenShard; readonly start: Buffer }[] | undefined;
  readonly #shards: readonly OpenShard[];
  readonly #memo = new Map<string, OpenShard>();

  constructor(shards: readonly OpenShard[]) {
    this.#shards = shards;
    const starts = shards.map((shard) => BigInt(shard.startingHashKey));
    // Hash keys outside the 128-bit space cannot be compared as 16 bytes: shardOf, key by key, then.
    if (starts.every((start) => start >= 0n && start < HASH_KEY_SPACE)) {
      this.#byStart = shards
        .map((shard, i) => ({
          shard,
          start: Buffer.from((starts[i] as bigint).toString(16).padStart(32, '0'), 'hex'),
          i,
        }))
        .sort((a, b) => Buffer.compare(b.start, a.start) || a.i - b.i)
        .map(({ shard, start }) => ({ shard, start }));
    }
  }

  route(partitionKey: string): OpenShard {
    let shard = this.#memo.get(partitionKey);
    if (shard === undefined) {
      shard = this.#find(partitionKey);
      this.#memo.set(partitionKey, shard);
    }
    return shard;
  }

  #find(partitionKey: string): OpenShard {
    const byStart = this.#byStart;
    if (byStart === undefined) return shardOf(this.#shards, partitionKey);
    // One shard from hash key 0 holds every key.
    const lowest = byStart[byStart.length - 1];
    if (byStart.length === 1 && lowest !== undefined && lowest.start.every((byte) => byte === 0)) return lowest.shard;
    const hash = md5(partitionKey);
    for (const { shard, start } of byStart) if (Buffer.compare(start, hash) <= 0) return shard;
    return shardOf(this.#shards, partitionKey);
  }
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
