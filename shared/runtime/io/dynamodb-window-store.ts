import type { AttributeValue, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  BatchWriteCommand,
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { BufferedRecord } from '../../joins/join-operator.js';
import { type BackoffOptions, backoffDelay, sleep } from '../../util/backoff.js';
import {
  chunk,
  forEachConcurrently,
  isConditionalCheckFailure,
  isolatedDocumentClient,
  type Output,
  sendWithRetries,
} from './dynamodb-requests.js';
import {
  type BufferedPut,
  type BufferedRef,
  bufferedItem,
  bufferedItemKey,
  bufferedSortKeyRange,
  type KeyRange,
  toBufferedRecord,
} from './join-store.js';
import { RequestCounter, type StoreOperation } from './request-counter.js';
import { StateConflictError, StateStoreUnavailableError, WatermarkConflictError } from './state-errors.js';
import { timerOf, watermarksPartitionKey, windowPartitionKey, windowSortKey } from './state-keys.js';
import type {
  CommitOutcome,
  CommittedChange,
  DeleteWindowChange,
  PutWindowChange,
  StateConflict,
  StateStore,
  StoredChannelWatermarks,
  StoredWindow,
  WindowChange,
  WindowRef,
} from './state-store.js';
import { StateTableSchema } from './state-table-schema.js';
import {
  DEFAULT_RETENTION_MS,
  expiresAtOf,
  isExpired,
  validateChanges,
  validateWatermarks,
  windowItem,
} from './window-items.js';

export interface DynamoDbWindowStoreOptions {
  readonly client: DynamoDBClient;
  /** The pipeline's state table, as {@link createStateTable} makes it. */
  readonly tableName: string;
  /** How long a window item outlives its fireAt before TTL may delete it. @default 1 day */
  readonly retentionMs?: number;
  /** Requests in flight at once within one call (conditional writes, BatchGets, Queries). @default 16 */
  readonly concurrency?: number;
  /** Attempts of a request that keeps being throttled or failing with a 5xx, the first included. @default 8 */
  readonly maxAttempts?: number;
  readonly backoff?: BackoffOptions;
  /** Items per Query page (the Limit); DynamoDB also ends a page at 1 MB. @default no limit */
  readonly pageSize?: number;
  /** The clock that decides which items have expired. @default Date.now */
  readonly now?: () => number;
}

/** The batch limit of BatchGetItem. */
const MAX_KEYS_PER_BATCH_GET = 100;
/** The batch limit of BatchWriteItem. */
const MAX_ITEMS_PER_BATCH_WRITE = 25;

type Item = Record<string, unknown>;
type WriteResult = { readonly version: number } | { readonly conflict: StateConflict; readonly cause: unknown };

/**
 * The window store on a DynamoDB table (see `state-table-schema.ts`). Every write is a conditional
 * UpdateItem, PutItem or DeleteItem asking for `ReturnValuesOnConditionCheckFailure: 'ALL_OLD'`;
 * every read of the base table is strongly consistent. Throttling, 5xx and network errors are retried
 * with capped exponential backoff and full jitter, on top of the SDK client's own retries.
 *
 * A retried write whose first attempt did reach DynamoDB fails its version condition: it shows up as
 * a conflict, and the caller's reload finds its own write (the fence holds its sequence number).
 */
export class DynamoDbWindowStore implements StateStore {
  readonly counter = new RequestCounter();
  readonly #doc: DynamoDBDocumentClient;
  readonly #table: string;
  readonly #retentionMs: number;
  readonly #concurrency: number;
  readonly #maxAttempts: number;
  readonly #backoff: BackoffOptions;
  readonly #pageSize: number | undefined;
  readonly #now: () => number;

  constructor(options: DynamoDbWindowStoreOptions) {
    const { client } = options;
    // DynamoDBDocumentClient.from() stores its translate config on the client's config object, shared
    // with every other document client made from the same client: give it a copy so that this store's
    // marshalling neither changes nor is changed by theirs. Middleware stays the client's.
    this.#doc = isolatedDocumentClient(client);
    this.#table = options.tableName;
    this.#retentionMs = options.retentionMs ?? DEFAULT_RETENTION_MS;
    this.#concurrency = Math.max(1, options.concurrency ?? 16);
    this.#maxAttempts = Math.max(1, options.maxAttempts ?? 8);
    this.#backoff = options.backoff ?? {};
    this.#pageSize = options.pageSize;
    this.#now = options.now ?? Date.now;
  }

  async getWindows<A = unknown>(stageId: string, windows: readonly WindowRef[]): Promise<StoredWindow<A>[]> {
    const items = await this.#batchGet(
      windows.map((window) => ({
        pk: windowPartitionKey(stageId, window.key),
        sk: windowSortKey(window.start, window.end),
      })),
    );
    return items.flatMap((item) => this.#live<A>(item) ?? []);
  }

  /**
   * The items of these keys, consistently read, in the order first asked, once each, missing ones
   * left out: BatchGetItem, 100 keys a request, several in flight, the keys DynamoDB leaves
   * unprocessed asked again with backoff.
   */
  async #batchGet(keys: readonly Item[]): Promise<Item[]> {
    // BatchGetItem refuses a request that names a key twice.
    const distinct = new Map(keys.map((key) => [itemId(key), key]));
    const found = new Map<string, Item>();
    const batches = chunk([...distinct.values()], MAX_KEYS_PER_BATCH_GET);
    await forEachConcurrently(batches, this.#concurrency, async (batch) => {
      let pending = batch;
      for (let round = 1; pending.length > 0; round += 1) {
        const keysToGet = pending;
        const output = await this.#request('BatchGetItem', () =>
          this.#doc.send(
            new BatchGetCommand({
              RequestItems: { [this.#table]: { Keys: keysToGet, ConsistentRead: true } },
              ReturnConsumedCapacity: 'TOTAL',
            }),
          ),
        );
        for (const item of output.Responses?.[this.#table] ?? []) found.set(itemId(item), item);
        pending = output.UnprocessedKeys?.[this.#table]?.Keys ?? [];
        if (pending.length === 0) break;
        // Unprocessed keys are DynamoDB throttling part of the batch: back off as for a throttled request.
        if (round >= this.#maxAttempts) throw new StateStoreUnavailableError('BatchGetItem', round);
        await sleep(backoffDelay(round - 1, this.#backoff));
      }
    });
    return [...distinct.keys()].flatMap((id): Item[] => {
      const item = found.get(id);
      return item === undefined ? [] : [item];
    });
  }

  async queryWindows<A = unknown>(stageId: string, keys: readonly string[]): Promise<Map<string, StoredWindow<A>[]>> {
    const result = new Map<string, StoredWindow<A>[]>(keys.map((key) => [key, []]));
    await forEachConcurrently([...result.keys()], this.#concurrency, async (key) => {
      const items = await this.#query({
        TableName: this.#table,
        KeyConditionExpression: '#pk = :pk',
        ExpressionAttributeNames: { '#pk': StateTableSchema.partitionKey },
        ExpressionAttributeValues: { ':pk': windowPartitionKey(stageId, key) },
        ConsistentRead: true,
      });
      result.set(
        key,
        items.flatMap((item) => this.#live<A>(item) ?? []),
      );
    });
    return result;
  }

  async dueWindows<A = unknown>(
    stageId: string,
    shardId: string,
    watermark: number,
    limit = Number.POSITIVE_INFINITY,
  ): Promise<StoredWindow<A>[]> {
    const due: StoredWindow<A>[] = [];
    let startKey: Item | undefined;
    while (due.length < limit) {
      const pageLimit = Math.min(this.#pageSize ?? Number.POSITIVE_INFINITY, limit - due.length);
      const output = await this.#request('Query', () =>
        this.#doc.send(
          new QueryCommand({
            TableName: this.#table,
            IndexName: StateTableSchema.fireTimeIndex,
            KeyConditionExpression: '#timer = :timer AND #fireAt <= :watermark',
            ExpressionAttributeNames: {
              '#timer': StateTableSchema.timerAttribute,
              '#fireAt': StateTableSchema.fireAtAttribute,
            },
            ExpressionAttributeValues: { ':timer': timerOf(stageId, shardId), ':watermark': watermark },
            ExclusiveStartKey: startKey,
            Limit: Number.isFinite(pageLimit) ? pageLimit : undefined,
            ReturnConsumedCapacity: 'TOTAL',
          }),
        ),
      );
      for (const item of output.Items ?? []) {
        const window = this.#live<A>(item);
        if (window !== undefined && due.length < limit) due.push(window);
      }
      startKey = output.LastEvaluatedKey;
      if (startKey === undefined) break;
    }
    return due;
  }

  async commit(change: WindowChange): Promise<number> {
    validateChanges([change], this.#retentionMs);
    const result = await this.#write(change);
    if ('conflict' in result) throw new StateConflictError(result.conflict, { cause: result.cause });
    return result.version;
  }

  async commitAll(changes: readonly WindowChange[]): Promise<CommitOutcome> {
    validateChanges(changes, this.#retentionMs);
    const results: WriteResult[] = new Array(changes.length);
    await forEachConcurrently(
      changes.map((change, index) => ({ change, index })),
      this.#concurrency,
      async ({ change, index }) => {
        results[index] = await this.#write(change);
      },
    );
    const committed: CommittedChange[] = [];
    const conflicts: StateConflict[] = [];
    results.forEach((result, index) => {
      const change = changes[index] as WindowChange;
      if ('conflict' in result) conflicts.push(result.conflict);
      else committed.push({ change, version: result.version });
    });
    return { committed, conflicts };
  }

  async loadWatermarks(stageId: string, shardId: string): Promise<StoredChannelWatermarks | undefined> {
    validateWatermarks(stageId, shardId, {}, 0);
    const output = await this.#request('GetItem', () =>
      this.#doc.send(
        new GetCommand({
          TableName: this.#table,
          Key: { pk: watermarksPartitionKey(stageId), sk: shardId },
          ConsistentRead: true,
          ReturnConsumedCapacity: 'TOTAL',
        }),
      ),
    );
    return output.Item === undefined ? undefined : toWatermarks(output.Item);
  }

  async saveWatermarks(
    stageId: string,
    shardId: string,
    channels: Readonly<Record<string, number>>,
    expectedVersion: number,
    positions?: Readonly<Record<string, string>>,
  ): Promise<StoredChannelWatermarks> {
    validateWatermarks(stageId, shardId, channels, expectedVersion);
    const saved = {
      channels: { ...channels },
      ...(positions !== undefined && Object.keys(positions).length > 0 && { positions: { ...positions } }),
      version: expectedVersion + 1,
    };
    const itemAbsent = 'attribute_not_exists(#pk)';
    const versionMatches = '#version = :expected';
    try {
      await this.#request('PutItem', () =>
        this.#doc.send(
          new PutCommand({
            TableName: this.#table,
            Item: { pk: watermarksPartitionKey(stageId), sk: shardId, ...saved },
            ConditionExpression: expectedVersion === 0 ? itemAbsent : versionMatches,
            ExpressionAttributeNames: expectedVersion === 0 ? { '#pk': 'pk' } : { '#version': 'version' },
            ExpressionAttributeValues: expectedVersion === 0 ? undefined : { ':expected': expectedVersion },
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
            ReturnConsumedCapacity: 'TOTAL',
          }),
        ),
      );
    } catch (error) {
      if (!isConditionalCheckFailure(error)) throw error;
      this.counter.conditionalFailure();
      const old = oldItem(error);
      const current = old === undefined ? undefined : toWatermarks(old);
      throw new WatermarkConflictError(stageId, shardId, expectedVersion, current, { cause: error });
    }
    return saved;
  }

  async #write(change: WindowChange): Promise<WriteResult> {
    try {
      return change.kind === 'put' ? await this.#put(change) : await this.#delete(change);
    } catch (error) {
      if (!isConditionalCheckFailure(error)) throw error;
      this.counter.conditionalFailure();
      const old = oldItem(error);
      const current = old === undefined ? undefined : this.#live(old);
      return { conflict: current === undefined ? { change } : { change, current }, cause: error };
    }
  }

  async #put(change: PutWindowChange): Promise<WriteResult> {
    const item = windowItem(change, this.#retentionMs, {}, this.#now());
    const names: Record<string, string> = {};
    const values: Item = {};
    const sets: string[] = [];
    const removes: string[] = [];
    for (const [name, value] of Object.entries(item)) {
      if (name === StateTableSchema.partitionKey || name === StateTableSchema.sortKey) continue;
      names[`#${name}`] = name;
      if (name === 'fence' && change.expectedVersion > 0) {
        // Only this shard's entry: the fences of the other shards that wrote the window stay.
        names['#shard'] = change.shardId;
        values[':sequenceNumber'] = change.sequenceNumber;
        sets.push('#fence.#shard = :sequenceNumber');
      } else if (value === undefined) {
        removes.push(`#${name}`);
      } else {
        values[`:${name}`] = value;
        sets.push(`#${name} = :${name}`);
      }
    }
    // A window is new when no item exists, or only a dead one that TTL has not deleted yet (reads
    // ignore those, so the caller found nothing); otherwise it must be the version the caller loaded.
    const itemAbsent = 'attribute_not_exists(#pk)';
    const itemExpired = '#expiresAt <= :now';
    const versionMatches = '#version = :expected';
    let condition: string;
    if (change.expectedVersion === 0) {
      names['#pk'] = StateTableSchema.partitionKey;
      values[':now'] = Math.floor(this.#now() / 1000);
      condition = [itemAbsent, itemExpired].join(' OR ');
    } else {
      values[':expected'] = change.expectedVersion;
      condition = versionMatches;
    }
    await this.#request('UpdateItem', () =>
      this.#doc.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { pk: item.pk, sk: item.sk },
          UpdateExpression: `SET ${sets.join(', ')}${removes.length > 0 ? ` REMOVE ${removes.join(', ')}` : ''}`,
          ConditionExpression: condition,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          ReturnConsumedCapacity: 'TOTAL',
        }),
      ),
    );
    return { version: change.expectedVersion + 1 };
  }

  async #delete(change: DeleteWindowChange): Promise<WriteResult> {
    const { window } = change;
    await this.#request('DeleteItem', () =>
      this.#doc.send(
        new DeleteCommand({
          TableName: this.#table,
          Key: { pk: windowPartitionKey(change.stageId, window.key), sk: windowSortKey(window.start, window.end) },
          ConditionExpression: '#version = :expected',
          ExpressionAttributeNames: { '#version': 'version' },
          ExpressionAttributeValues: { ':expected': change.expectedVersion },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          ReturnConsumedCapacity: 'TOTAL',
        }),
      ),
    );
    return { version: 0 };
  }

  /** Every item of a Query, all pages. */
  async queryBuffered(stageId: string, ranges: readonly KeyRange[]): Promise<Map<string, BufferedRecord[]>> {
    const result = new Map<string, BufferedRecord[]>(ranges.map((range) => [range.key, []]));
    await forEachConcurrently([...ranges], this.#concurrency, async ({ key, from, to }) => {
      const { low, high } = bufferedSortKeyRange(from, to);
      const items = await this.#query({
        TableName: this.#table,
        KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :low AND :high',
        ExpressionAttributeNames: { '#pk': StateTableSchema.partitionKey, '#sk': StateTableSchema.sortKey },
        ExpressionAttributeValues: { ':pk': windowPartitionKey(stageId, key), ':low': low, ':high': high },
        ConsistentRead: true,
      });
      result.set(key, this.#liveBuffered(items));
    });
    return result;
  }

  async dueBuffered(stageId: string, shardId: string, watermark: number): Promise<BufferedRecord[]> {
    const items = await this.#query({
      TableName: this.#table,
      IndexName: StateTableSchema.fireTimeIndex,
      KeyConditionExpression: '#timer = :timer AND #fireAt <= :watermark',
      ExpressionAttributeNames: {
        '#timer': StateTableSchema.timerAttribute,
        '#fireAt': StateTableSchema.fireAtAttribute,
      },
      ExpressionAttributeValues: { ':timer': timerOf(stageId, shardId), ':watermark': watermark },
    });
    return this.#liveBuffered(items);
  }

  async getBuffered(stageId: string, records: readonly BufferedRef[]): Promise<BufferedRecord[]> {
    return this.#liveBuffered(await this.#batchGet(records.map((record) => bufferedItemKey(stageId, record))));
  }

  async writeBuffered(
    stageId: string,
    puts: readonly BufferedPut[],
    deletes: readonly BufferedRecord[],
  ): Promise<void> {
    const now = this.#now();
    const requests = [
      ...puts.map((put) => ({
        PutRequest: { Item: bufferedItem(stageId, put, expiresAtOf(put.fireAt, this.#retentionMs, now)) },
      })),
      ...deletes.map((record) => ({
        DeleteRequest: { Key: bufferedItemKey(stageId, record) },
      })),
    ];
    await forEachConcurrently(chunk(requests, MAX_ITEMS_PER_BATCH_WRITE), this.#concurrency, async (batch) => {
      let pending: typeof batch = batch;
      for (let round = 1; pending.length > 0; round += 1) {
        const items = pending;
        const output = await this.#request('BatchWriteItem', () =>
          this.#doc.send(
            new BatchWriteCommand({ RequestItems: { [this.#table]: items }, ReturnConsumedCapacity: 'TOTAL' }),
          ),
        );
        pending = (output.UnprocessedItems?.[this.#table] ?? []) as typeof batch;
        if (pending.length === 0) break;
        // Unprocessed items are DynamoDB throttling part of the batch: back off as for a throttled request.
        if (round >= this.#maxAttempts) throw new StateStoreUnavailableError('BatchWriteItem', round);
        await sleep(backoffDelay(round - 1, this.#backoff));
      }
    });
  }

  #liveBuffered(items: readonly Item[]): BufferedRecord[] {
    const now = this.#now();
    return items.flatMap((item) => (isExpired(item.expiresAt as number, now) ? [] : (toBufferedRecord(item) ?? [])));
  }

  async #query(input: QueryCommandInput): Promise<Item[]> {
    const items: Item[] = [];
    let startKey: Item | undefined;
    do {
      const output = await this.#request('Query', () =>
        this.#doc.send(
          new QueryCommand({
            ...input,
            ExclusiveStartKey: startKey,
            Limit: this.#pageSize,
            ReturnConsumedCapacity: 'TOTAL',
          }),
        ),
      );
      items.push(...(output.Items ?? []));
      startKey = output.LastEvaluatedKey;
    } while (startKey !== undefined);
    return items;
  }

  /** Sends a request, counting it, retrying throttling and server errors with backoff. */
  #request<T extends Output>(operation: StoreOperation, send: () => Promise<T>): Promise<T> {
    return sendWithRetries(operation, send, {
      counter: this.counter,
      maxAttempts: this.#maxAttempts,
      backoff: this.#backoff,
    });
  }

  /** The window an item holds, unless it is not a window item or has expired. */
  #live<A>(item: Item): StoredWindow<A> | undefined {
    const window = toStoredWindow<A>(item);
    return window === undefined || isExpired(window.expiresAt, this.#now()) ? undefined : window;
  }
}

function toStoredWindow<A>(item: Item): StoredWindow<A> | undefined {
  // A user key '~watermarks' shares its partition with the stage's watermarks items: tell them apart.
  if (typeof item.timer !== 'string' || typeof item.version !== 'number') return undefined;
  const pk = String(item.pk);
  return {
    stageId: pk.slice(0, pk.indexOf('#')),
    state: {
      key: item.key as string,
      start: item.start as number,
      end: item.end as number,
      accumulator: item.accumulator as A,
      count: item.count as number,
      emitted: item.emitted as number,
      ...(item.closed === true && { closed: true }),
    },
    version: item.version,
    fence: (item.fence ?? {}) as Record<string, string>,
    timer: item.timer,
    fireAt: item.fireAt as number,
    expiresAt: item.expiresAt as number,
  };
}

function toWatermarks(item: Item): StoredChannelWatermarks {
  return {
    channels: (item.channels ?? {}) as Record<string, number>,
    ...(item.positions !== undefined && { positions: item.positions as Record<string, string> }),
    version: item.version as number,
  };
}

function itemId(key: Item): string {
  // '\u0000' cannot occur in the stage id part of pk, so the pair maps to one id.
  return `${String(key.pk)}\u0000${String(key.sk)}`;
}

/** The item ALL_OLD put on a ConditionalCheckFailedException; the document client leaves it marshalled. */
function oldItem(error: unknown): Item | undefined {
  const item = (error as { Item?: Record<string, AttributeValue> }).Item;
  return item === undefined ? undefined : fromAttributeMap(item);
}

function fromAttributeMap(map: Record<string, AttributeValue>): Item {
  return Object.fromEntries(Object.entries(map).map(([name, value]) => [name, fromAttributeValue(value)]));
}

/** Unmarshalls the attribute types this store writes, numbers as Number like {@link translateConfig}. */
function fromAttributeValue(value: AttributeValue): unknown {
  if (value.S !== undefined) return value.S;
  if (value.N !== undefined) return Number(value.N);
  if (value.BOOL !== undefined) return value.BOOL;
  if (value.NULL !== undefined) return null;
  if (value.L !== undefined) return value.L.map(fromAttributeValue);
  if (value.M !== undefined) return fromAttributeMap(value.M);
  if (value.SS !== undefined) return new Set(value.SS);
  if (value.NS !== undefined) return new Set(value.NS.map(Number));
  return value.B ?? value.BS;
}
