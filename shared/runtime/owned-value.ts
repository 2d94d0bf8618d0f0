import { cloneData } from './io/memory-data.js';

/**
 * A copy of a value that Eddy hands to more than one consumer (the branches after one operator,
 * the rows a buffered join record is in, a table row every record of its key is enriched with, a
 * window result whose state is still to be written), so that user code may change the value it
 * receives, as Flink's functions may with object reuse off, without changing what another branch, a
 * later row or the state sees. A value that cannot be copied (one holding a function, which could
 * not cross a stage either) is handed on as it is.
 */
export function ownedValue<T>(value: T): T {
  if (typeof value !== 'object' || value === null) return value;
  try {
    return cloneData(value);
  } catch {
    return value;
  }
}
