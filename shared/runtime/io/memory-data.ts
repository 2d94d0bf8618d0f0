/**
 * Plain data as the memory stores hold and hand it out: copied on every read, and shaped as DynamoDB
 * gives values back (no -0, no undefined members).
 */

/**
 * What structuredClone gives for plain data (objects, arrays, primitives), without its serialisation:
 * the store hands out a copy of every item it reads. Anything else (a Date, a Map, a function) goes
 * through structuredClone itself.
 */
export function cloneData<T>(value: T): T {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) {
    if (Object.getPrototypeOf(value) !== Array.prototype) return structuredClone(value);
    return value.map(cloneData) as T;
  }
  const prototype = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) return structuredClone(value);
  const copy: Record<string, unknown> = {};
  for (const name of Object.keys(value)) {
    const member = cloneData((value as Record<string, unknown>)[name]);
    // '__proto__' as a member of its own (JSON.parse makes one), not the prototype.
    if (name === '__proto__')
      Object.defineProperty(copy, name, { value: member, enumerable: true, writable: true, configurable: true });
    else copy[name] = member;
  }
  return copy as T;
}

/** A number as DynamoDB gives it back: it has no negative zero. */
export function normalizeNumber(value: number): number {
  return value === 0 ? 0 : value;
}

export function normalizeNumbers(record: Readonly<Record<string, number>>): Record<string, number> {
  return Object.fromEntries(Object.entries(record).map(([name, value]) => [name, normalizeNumber(value)]));
}

/**
 * A JSON value as it comes back from DynamoDB through the marshalling DynamoDbWindowStore uses:
 * undefined members and elements and functions dropped, -0 as 0. Values that are not JSON were
 * refused by the validation before this.
 */
export function normalizeJson(value: unknown): unknown {
  if (typeof value === 'number') return normalizeNumber(value);
  if (Array.isArray(value)) {
    return value.filter((element) => element !== undefined && typeof element !== 'function').map(normalizeJson);
  }
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, member]) => member !== undefined && typeof member !== 'function')
        .map(([name, member]) => [name, normalizeJson(member)]),
    );
  }
  return value;
}
