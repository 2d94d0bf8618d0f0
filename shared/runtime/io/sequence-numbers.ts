import { InvalidStateRequestError } from './state-errors.js';

const decimal = /^\d+$/;

/**
 * Compares two Kinesis sequence numbers of one shard. They are decimal strings of up to 128 bits,
 * beyond both Number's 53 bits and DynamoDB's 38 digits: compared as BigInt.
 */
export function compareSequenceNumbers(a: string, b: string): -1 | 0 | 1 {
  const x = parseSequenceNumber(a);
  const y = parseSequenceNumber(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Whether the record `sequenceNumber` of `shardId` is already part of a window whose fence is `fence`. */
export function isApplied(fence: Readonly<Record<string, string>>, shardId: string, sequenceNumber: string): boolean {
  const applied = fence[shardId];
  return applied !== undefined && compareSequenceNumbers(sequenceNumber, applied) <= 0;
}

/** A sequence number as a BigInt; throws {@link InvalidStateRequestError} for what is not one. */
export function parseSequenceNumber(sequenceNumber: string): bigint {
  // BigInt() would also take '0x1f', ' 12 ' and '': none is a sequence number.
  if (!decimal.test(sequenceNumber)) {
    throw new InvalidStateRequestError(`not a sequence number: ${JSON.stringify(sequenceNumber)}`);
  }
  return BigInt(sequenceNumber);
}
