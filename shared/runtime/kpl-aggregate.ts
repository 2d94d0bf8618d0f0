import { createHash } from 'node:crypto';

/**
 * The Kinesis Producer Library's aggregated records
 * (awslabs/amazon-kinesis-producer, aggregation-format.md): one Kinesis record holds many user
 * records as
 *
 *     F3 89 9A C2 | protobuf AggregatedRecord | MD5(protobuf), 16 bytes
 *
 *     message AggregatedRecord {
 *       repeated string partition_key_table     = 1;
 *       repeated string explicit_hash_key_table = 2;
 *       repeated Record records                 = 3;
 *     }
 *     message Record {
 *       required uint64 partition_key_index     = 1;
 *       optional uint64 explicit_hash_key_index = 2;
 *       required bytes  data                    = 3;
 *       repeated Tag    tags                    = 4;
 *     }
 *
 * The i-th user record is at sub-sequence number i of the Kinesis record, as the KCL's UserRecord
 * numbers them. A record that starts with the magic bytes but does not decode is corrupt as a whole:
 * KCL and aws-kinesis-agg drop or fail it likewise, since no user record in it can be trusted.
 *
 * A reader of our own rather than aws-kinesis-agg's `deaggregate` (used by the tests to build
 * aggregates): that one takes base64 text, gives `undefined` as the partition key of a bad index
 * instead of failing, and calls its final callback twice when a user record fails.
 */

const MAGIC = Uint8Array.of(0xf3, 0x89, 0x9a, 0xc2);
const DIGEST_BYTES = 16;

/** One user record of an aggregate. */
export interface UserRecord {
  /** Its index in the aggregate: the KCL's sub-sequence number. */
  readonly subSequenceNumber: number;
  readonly partitionKey: string;
  readonly explicitHashKey?: string;
  readonly data: Uint8Array;
}

/** The bytes start with the KPL's magic number and have room for the digest. */
export function isAggregated(data: Uint8Array): boolean {
  if (data.length < MAGIC.length + DIGEST_BYTES) return false;
  for (let i = 0; i < MAGIC.length; i += 1) if (data[i] !== MAGIC[i]) return false;
  return true;
}

/** An aggregate that cannot be read: its digest, its protobuf or its key tables are wrong. */
export class CorruptAggregateError extends Error {
  override readonly name = 'CorruptAggregateError';
}

/** The user records of an aggregate, in order; throws CorruptAggregateError. */
export function deaggregate(data: Uint8Array): UserRecord[] {
  if (!isAggregated(data)) throw new CorruptAggregateError('not a KPL aggregate (no magic number F3 89 9A C2)');
  const body = data.subarray(MAGIC.length, data.length - DIGEST_BYTES);
  const digest = data.subarray(data.length - DIGEST_BYTES);
  const actual = createHash('md5').update(body).digest();
  if (!actual.equals(digest)) {
    throw new CorruptAggregateError(
      `MD5 of the protobuf is ${actual.toString('hex')}, the aggregate says ${Buffer.from(digest).toString('hex')}`,
    );
  }
  const partitionKeys: string[] = [];
  const hashKeys: string[] = [];
  const raw: RawRecord[] = [];
  const reader = new ProtoReader(body);
  while (!reader.done) {
    const [field, wire] = reader.tag();
    if (field === 1 && wire === LENGTH_DELIMITED) partitionKeys.push(reader.string());
    else if (field === 2 && wire === LENGTH_DELIMITED) hashKeys.push(reader.string());
    else if (field === 3 && wire === LENGTH_DELIMITED)
      raw.push(readRecord(new ProtoReader(reader.bytes()), raw.length));
    else reader.skip(wire);
  }
  return raw.map((record, index) => {
    const partitionKey = partitionKeys[record.partitionKeyIndex];
    if (partitionKey === undefined) {
      throw new CorruptAggregateError(
        `user record ${index} has partition_key_index ${record.partitionKeyIndex}; the table has ${partitionKeys.length} keys`,
      );
    }
    if (record.hashKeyIndex === undefined) return { subSequenceNumber: index, partitionKey, data: record.data };
    const explicitHashKey = hashKeys[record.hashKeyIndex];
    if (explicitHashKey === undefined) {
      throw new CorruptAggregateError(
        `user record ${index} has explicit_hash_key_index ${record.hashKeyIndex}; the table has ${hashKeys.length} keys`,
      );
    }
    return { subSequenceNumber: index, partitionKey, explicitHashKey, data: record.data };
  });
}

interface RawRecord {
  readonly partitionKeyIndex: number;
  readonly hashKeyIndex?: number;
  readonly data: Uint8Array;
}

function readRecord(reader: ProtoReader, index: number): RawRecord {
  let partitionKeyIndex: number | undefined;
  let hashKeyIndex: number | undefined;
  let data: Uint8Array | undefined;
  while (!reader.done) {
    const [field, wire] = reader.tag();
    if (field === 1 && wire === VARINT) partitionKeyIndex = reader.varint();
    else if (field === 2 && wire === VARINT) hashKeyIndex = reader.varint();
    else if (field === 3 && wire === LENGTH_DELIMITED) data = reader.bytes();
    else reader.skip(wire); // tags (4): Eddy has no use for them
  }
  if (partitionKeyIndex === undefined || data === undefined) {
    throw new CorruptAggregateError(
      `user record ${index} lacks its required ${partitionKeyIndex === undefined ? 'partition_key_index' : 'data'}`,
    );
  }
  return hashKeyIndex === undefined ? { partitionKeyIndex, data } : { partitionKeyIndex, hashKeyIndex, data };
}

const VARINT = 0;
const FIXED64 = 1;
const LENGTH_DELIMITED = 2;
const FIXED32 = 5;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The protobuf wire format, as much of it as AggregatedRecord uses; every overrun is a corrupt aggregate. */
class ProtoReader {
  readonly #buffer: Uint8Array;
  #at = 0;

  constructor(buffer: Uint8Array) {
    this.#buffer = buffer;
  }

  get done(): boolean {
    return this.#at >= this.#buffer.length;
  }

  tag(): [field: number, wire: number] {
    const tag = this.varint();
    return [Math.floor(tag / 8), tag % 8];
  }

  /** A varint up to 2^53 (indexes and lengths; anything larger cannot index a table anyway). */
  varint(): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 10; i += 1) {
      const byte = this.#buffer[this.#at];
      if (byte === undefined) throw new CorruptAggregateError('protobuf is truncated inside a varint');
      this.#at += 1;
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) {
        if (!Number.isSafeInteger(value)) throw new CorruptAggregateError('protobuf varint is out of range');
        return value;
      }
      scale *= 128;
    }
    throw new CorruptAggregateError('protobuf varint is longer than 10 bytes');
  }

  bytes(): Uint8Array {
    const length = this.varint();
    return this.#take(length);
  }

  string(): string {
    try {
      return utf8.decode(this.bytes());
    } catch (error) {
      if (error instanceof CorruptAggregateError) throw error;
      throw new CorruptAggregateError('a key in the protobuf is not valid UTF-8', { cause: error });
    }
  }

  skip(wire: number): void {
    if (wire === VARINT) this.varint();
    else if (wire === FIXED64) this.#take(8);
    else if (wire === LENGTH_DELIMITED) this.bytes();
    else if (wire === FIXED32) this.#take(4);
    else throw new CorruptAggregateError(`protobuf has wire type ${wire}, which AggregatedRecord does not use`);
  }

  #take(length: number): Uint8Array {
    const end = this.#at + length;
    if (end > this.#buffer.length) {
      throw new CorruptAggregateError(
        `protobuf is truncated: a field needs ${length} bytes, ${this.#buffer.length - this.#at} are left`,
      );
    }
    const taken = this.#buffer.subarray(this.#at, end);
    this.#at = end;
    return taken;
  }
}
