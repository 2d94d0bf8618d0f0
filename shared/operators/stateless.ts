import type { AnyFunction } from '../dag/graph.js';
import { DeadLetterReasons, RecordProcessingError } from './record-errors.js';

/**
 * The semantics of the stateless operators, as pure functions of one value. The stage program
 * chains them; errors name the operator so a dead letter says which one failed.
 */

function call(operator: string, kind: string, fn: AnyFunction, value: unknown): unknown {
  let result: unknown;
  try {
    result = fn(value);
  } catch (error) {
    throw new RecordProcessingError(
      {
        reason: DeadLetterReasons.operatorError,
        operator,
        message: `${kind} function threw: ${error instanceof Error ? error.message : String(error)}`,
      },
      { cause: error },
    );
  }
  if (result !== null && typeof result === 'object' && typeof (result as { then?: unknown }).then === 'function') {
    // A Promise would be written as `{}`: fail loudly instead of losing the value.
    throw new RecordProcessingError({
      reason: DeadLetterReasons.operatorError,
      operator,
      message: `${kind} function returned a Promise; operator functions must be synchronous`,
    });
  }
  return result;
}

export function applyMap(operator: string, fn: AnyFunction, value: unknown): unknown {
  return call(operator, 'map', fn, value);
}

export function applyFilter(operator: string, fn: AnyFunction, value: unknown, kind = 'filter'): boolean {
  return Boolean(call(operator, kind, fn, value));
}

/** A table row's version (`toTable`'s `version`): a finite number. */
export function applyVersion(operator: string, fn: AnyFunction, value: unknown): number {
  const version = call(operator, 'version', fn, value);
  if (typeof version !== 'number' || !Number.isFinite(version)) {
    throw new RecordProcessingError({
      reason: DeadLetterReasons.operatorError,
      operator,
      message: `version function must return a finite number, got ${describe(version)}`,
    });
  }
  return version;
}

export function applyFlatMap(operator: string, fn: AnyFunction, value: unknown): unknown[] {
  const result = call(operator, 'flatMap', fn, value);
  if (result === null || typeof result !== 'object' || !(Symbol.iterator in result)) {
    throw new RecordProcessingError({
      reason: DeadLetterReasons.operatorError,
      operator,
      message: `flatMap function must return an iterable (an array, a Set, a generator), got ${describe(result)}`,
    });
  }
  return [...(result as Iterable<unknown>)];
}

/** Kinesis partition keys are 1 to 256 Unicode characters (PutRecordsRequestEntry). */
const MAX_PARTITION_KEY_LENGTH = 256;

/** A key: keyBy's, a join's, a table's; `kind` names the function in errors. */
export function applyKeyBy(operator: string, fn: AnyFunction, value: unknown, kind = 'keyBy'): string {
  const key = call(operator, kind, fn, value);
  if ((typeof key !== 'string' && typeof key !== 'number') || (typeof key === 'number' && !Number.isFinite(key))) {
    throw new RecordProcessingError({
      reason: DeadLetterReasons.operatorError,
      operator,
      message: `${kind} function must return a string or a finite number, got ${describe(key)}`,
    });
  }
  const text = String(key);
  if (text.length === 0 || [...text].length > MAX_PARTITION_KEY_LENGTH) {
    throw new RecordProcessingError({
      reason: DeadLetterReasons.operatorError,
      operator,
      message: `${kind} key must be 1 to ${MAX_PARTITION_KEY_LENGTH} characters (a Kinesis partition key), got ${text.length}`,
    });
  }
  return text;
}

function describe(value: unknown): string {
  if (value === undefined) return 'undefined';
  const json = JSON.stringify(value);
  return json === undefined ? typeof value : json.length > 80 ? `${json.slice(0, 77)}...` : json;
}
