import { InvalidStateRequestError } from './state-errors.js';

/** DynamoDB's item limit is 400 KB; the margin covers the estimate's error and other shards' fence entries. */
export const MAX_STATE_ITEM_BYTES = 390 * 1024;

/**
 * Estimates the stored size of an item after DynamoDB's published rules: attribute names and strings
 * by their UTF-8 bytes, numbers about one byte per two significant digits plus one, 1 byte for
 * booleans and null, 3 bytes plus 1 per element for maps and lists. Undefined members and functions
 * inside maps and lists are dropped, as the marshalling drops them. Throws
 * {@link InvalidStateRequestError} for what is not JSON or what DynamoDB cannot store, so that every
 * implementation refuses the same values.
 */
export function estimateItemBytes(item: Readonly<Record<string, unknown>>): number {
  let bytes = 0;
  for (const name of Object.keys(item)) {
    const value = item[name];
    if (value === undefined) continue;
    bytes += Buffer.byteLength(name) + estimateValueBytes(value, name);
  }
  return bytes;
}

/**
 * DynamoDB's number range is magnitudes from 1E-130 to 9.99...E+125 (38 nines); 1e126 is the
 * smallest double beyond it.
 */
const tooLargeMagnitude = 1e126;
const minMagnitude = 1e-130;

function estimateValueBytes(value: unknown, path: string): number {
  if (typeof value === 'string') return Buffer.byteLength(value);
  if (typeof value === 'number') {
    const magnitude = Math.abs(value);
    if (!Number.isFinite(value) || magnitude >= tooLargeMagnitude || (magnitude !== 0 && magnitude < minMagnitude)) {
      throw new InvalidStateRequestError(`${path} is ${value}, a number DynamoDB cannot store`);
    }
    // Integers print without a point or an exponent below 1e21: their digits are their length.
    if (Number.isSafeInteger(magnitude)) return magnitude === 0 ? 1 : Math.ceil(String(magnitude).length / 2) + 1;
    return (
      Math.ceil(
        String(magnitude)
          .replace(/\.|e.*$/g, '')
          .replace(/^0+/, '').length / 2,
      ) + 1
    );
  }
  if (typeof value === 'boolean' || value === null) return 1;
  if (Array.isArray(value)) {
    let bytes = 3;
    value.forEach((element, index) => {
      if (element !== undefined && typeof element !== 'function') {
        bytes += 1 + estimateValueBytes(element, `${path}[${index}]`);
      }
    });
    return bytes;
  }
  if (typeof value === 'object' && isPlainObject(value)) {
    let bytes = 3;
    for (const [name, member] of Object.entries(value)) {
      if (member !== undefined && typeof member !== 'function') {
        bytes += 1 + Buffer.byteLength(name) + estimateValueBytes(member, `${path}.${name}`);
      }
    }
    return bytes;
  }
  const kind = typeof value === 'object' ? (value.constructor?.name ?? 'object') : typeof value;
  throw new InvalidStateRequestError(`${path} holds a ${kind}: state must be JSON values`);
}

function isPlainObject(value: object): boolean {
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}
