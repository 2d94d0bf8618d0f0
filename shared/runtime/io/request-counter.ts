export const StoreOperations = {
  getItem: 'GetItem',
  batchGetItem: 'BatchGetItem',
  query: 'Query',
  putItem: 'PutItem',
  updateItem: 'UpdateItem',
  deleteItem: 'DeleteItem',
  batchWriteItem: 'BatchWriteItem',
} as const;
export type StoreOperation = (typeof StoreOperations)[keyof typeof StoreOperations];

/** What a store asked of DynamoDB, for metrics and for benchmarks' requests per 1,000 events. */
export interface RequestCounts {
  /** Requests sent, every attempt counted (retries by the SDK and by the store, and failed ones). */
  readonly requests: number;
  readonly byOperation: Readonly<Record<StoreOperation, number>>;
  /** Of `requests`, those that failed with throttling, a 5xx or a network error. */
  readonly throttled: number;
  /** Conditional writes refused because of their version condition (conflicts). */
  readonly conditionalFailures: number;
  /** Read capacity units consumed, as DynamoDB reported them (`ReturnConsumedCapacity: 'TOTAL'`). */
  readonly readUnits: number;
  /** Write capacity units consumed by successful writes, as DynamoDB reported them. */
  readonly writeUnits: number;
}

const zeroByOperation = (): Record<StoreOperation, number> => ({
  GetItem: 0,
  BatchGetItem: 0,
  Query: 0,
  PutItem: 0,
  UpdateItem: 0,
  DeleteItem: 0,
  BatchWriteItem: 0,
});

/** Accumulates {@link RequestCounts}; a store owns one and updates it on every request. */
export class RequestCounter {
  #requests = 0;
  #byOperation = zeroByOperation();
  #throttled = 0;
  #conditionalFailures = 0;
  #readUnits = 0;
  #writeUnits = 0;

  /** Counts `attempts` requests of `operation`, and the capacity they consumed. */
  request(operation: StoreOperation, attempts = 1, units = 0): void {
    this.#requests += attempts;
    this.#byOperation[operation] += attempts;
    if (isWrite(operation)) this.#writeUnits += units;
    else this.#readUnits += units;
  }

  throttle(): void {
    this.#throttled += 1;
  }

  conditionalFailure(): void {
    this.#conditionalFailures += 1;
  }

  snapshot(): RequestCounts {
    return {
      requests: this.#requests,
      byOperation: { ...this.#byOperation },
      throttled: this.#throttled,
      conditionalFailures: this.#conditionalFailures,
      readUnits: this.#readUnits,
      writeUnits: this.#writeUnits,
    };
  }

  reset(): void {
    this.#requests = 0;
    this.#byOperation = zeroByOperation();
    this.#throttled = 0;
    this.#conditionalFailures = 0;
    this.#readUnits = 0;
    this.#writeUnits = 0;
  }
}

function isWrite(operation: StoreOperation): boolean {
  return (
    operation === 'PutItem' ||
    operation === 'UpdateItem' ||
    operation === 'DeleteItem' ||
    operation === 'BatchWriteItem'
  );
}
