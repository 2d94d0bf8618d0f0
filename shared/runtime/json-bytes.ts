/**
 * Whether a value's JSON is longer than a limit in UTF-8 bytes, without building the JSON when a
 * bound says it cannot be: a join stage asks it of every record it buffers, and almost every record is
 * far below the limit (an item's 400 KB), where `JSON.stringify` and `Buffer.byteLength` were a fifth
 * of the stage's own per-record time.
 */

/** `Buffer.byteLength(JSON.stringify(value)) > limit`, the same answer (and the same errors). */
export function jsonBytesAbove(value: unknown, limit: number): boolean {
  if (value !== undefined && jsonBytesBound(value, limit) <= limit) return false;
  return Buffer.byteLength(JSON.stringify(value) as string) > limit;
}

/**
 * The longest a number prints: 17 significant digits, a sign, and either `0.00000` before them
 * (down to 1e-6) or an exponent such as `e-308`.
 */
const NUMBER_BYTES = 32;

/**
 * An upper bound on the UTF-8 bytes of `JSON.stringify(value)`, or Infinity once it passes `budget`
 * or meets anything but plain data (a `toJSON`, a class instance: the exact length decides). A string
 * takes at most 6 bytes a UTF-16 unit (`\u001f`; unescaped, at most 3), plus its quotes.
 */
function jsonBytesBound(value: unknown, budget: number): number {
  switch (typeof value) {
    case 'string':
      return 6 * value.length + 2;
    case 'number':
      return NUMBER_BYTES;
    case 'boolean':
      return 5;
    case 'object':
      break;
    default:
      return Number.POSITIVE_INFINITY;
  }
  if (value === null) return 4;
  const prototype = Object.getPrototypeOf(value);
  if (Array.isArray(value)) {
    if (prototype !== Array.prototype) return Number.POSITIVE_INFINITY;
    let bytes = 2 + value.length;
    for (const element of value) {
      // undefined, functions and symbols print as null in an array.
      bytes += skipped(element) ? 4 : jsonBytesBound(element, budget - bytes);
      if (bytes > budget) return Number.POSITIVE_INFINITY;
    }
    return bytes;
  }
  if ((prototype !== Object.prototype && prototype !== null) || 'toJSON' in value) return Number.POSITIVE_INFINITY;
  let bytes = 2;
  for (const name of Object.keys(value)) {
    const member = (value as Record<string, unknown>)[name];
    if (skipped(member)) continue;
    // The name in quotes, a colon, a comma.
    bytes += 6 * name.length + 4 + jsonBytesBound(member, budget - bytes);
    if (bytes > budget) return Number.POSITIVE_INFINITY;
  }
  return bytes;
}

/** What JSON.stringify leaves out of an object (and prints as null in an array). */
function skipped(value: unknown): boolean {
  return value === undefined || typeof value === 'function' || typeof value === 'symbol';
}
