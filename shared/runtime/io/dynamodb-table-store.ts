import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  BatchWriteCommand,
  type BatchWriteCommandOutput,
  type DynamoDBDocumentClient,
  PutCommand,
} from '@aws-sdk/lib-dynamodb';
import type { TableSpec } from '../../dag/plan-types.js';
import { SINK_WRITE_CONDITION, SinkItemAttributes, sinkItemOf } from '../../tables/dynamodb-sink.js';
import type { RowUpdate } from '../../tables/table-operator.js';
import { type BackoffOptions, backoffDelay, sleep } from '../../util/backoff.js';
import {
  chunk,
  forEachConcurrently,
  isConditionalCheckFailure,
  isolatedDocumentClient,
  type RetryOptions,
  sendWithRetries,
} from './dynamodb-requests.js';
import { RequestCounter } from './request-counter.js';
import { StateStoreUnavailableError } from './state-errors.js';
import { type PutRowsResult, MaterializedTableSchema as Schema, type TableStore } from './table-store.js';

export interface DynamoDbTableStoreOptions {
  readonly client: DynamoDBClient;
  /**
   * The physical DynamoDB table of each table, by the table's name in the pipeline (a deployment
   * prefixes the materialized ones). @default the plan's `tableName`
   */
  readonly tableNames?: Readonly<Record<string, string>>;
  /** Requests in flight at once within one call. @default 16 */
  readonly concurrency?: number;
  /** Attempts of a request that keeps being throttled or failing with a 5xx, the first included. @default 8 */
  readonly maxAttempts?: number;
  readonly backoff?: BackoffOptions;
}

/** The batch limit of BatchGetItem. */
const MAX_KEYS_PER_BATCH_GET = 100;
/** The batch limit of BatchWriteItem. */
const MAX_ITEMS_PER_BATCH_WRITE = 25;

type Item = Record<string, unknown>;

/** How a conditional put ended: `unavailable` when DynamoDB stayed so through the retries. */
type PutOutcome = 'written' | 'refused' | 'unavailable';

/**
 * Tables on DynamoDB. Lookups are BatchGetItem, 100 keys a request, consistent when the table says
 * so. An unversioned table's updates are BatchWriteItem, 25 a request; a versioned table's are
 * conditional PutItems (BatchWriteItem takes no condition), a stale one failing its condition and
 * being dropped. Deletes of a versioned table stay as tombstones with their version. A sink table's
 * (`toDynamoDb`) writes are conditional PutItems of the item itself.
 */
export class DynamoDbTableStore implements TableStore {
  readonly counter = new RequestCounter();
  readonly #doc: DynamoDBDocumentClient;
  readonly #tableNames: Readonly<Record<string, string>>;
  readonly #concurrency: number;
  readonly #retry: RetryOptions;

  constructor(options: DynamoDbTableStoreOptions) {
    this.#doc = isolatedDocumentClient(options.client);
    this.#tableNames = options.tableNames ?? {};
    this.#concurrency = Math.max(1, options.concurrency ?? 16);
    this.#retry = {
      counter: this.counter,
      maxAttempts: Math.max(1, options.maxAttempts ?? 8),
      backoff: options.backoff ?? {},
    };
  }

  async getRows(table: TableSpec, keys: readonly string[]): Promise<Map<string, unknown>> {
    const tableName = this.#physical(table);
    const found = new Map<string, unknown>();
    const keyOf = (key: string): Item => ({
      [table.partitionKey]: table.partitionKeyType === 'number' ? Number(key) : key,
    });
    await forEachConcurrently(chunk([...new Set(keys)], MAX_KEYS_PER_BATCH_GET), this.#concurrency, async (batch) => {
      let pending: Item[] = batch.map(keyOf);
      for (let round = 1; pending.length > 0; round += 1) {
        const keysToGet = pending;
        const output = await sendWithRetries(
          'BatchGetItem',
          () =>
            this.#doc.send(
              new BatchGetCommand({
                RequestItems: { [tableName]: { Keys: keysToGet, ConsistentRead: table.consistentRead } },
                ReturnConsumedCapacity: 'TOTAL',
              }),
            ),
          this.#retry,
        );
        for (const item of output.Responses?.[tableName] ?? []) {
          const key = String(item[table.partitionKey]);
          if (table.kind === 'external') found.set(key, item);
          else if (item[Schema.deleted] !== true && typeof item[Schema.row] === 'string') {
            found.set(key, JSON.parse(item[Schema.row]));
          }
        }
        pending = (output.UnprocessedKeys?.[tableName]?.Keys ?? []) as Item[];
        if (pending.length === 0) break;
        // Unprocessed keys are DynamoDB throttling part of the batch: back off as for a throttled request.
        if (round >= this.#retry.maxAttempts) throw new StateStoreUnavailableError('BatchGetItem', round);
        await sleep(backoffDelay(round - 1, this.#retry.backoff));
      }
    });
    return found;
  }

  async putRows<U extends RowUpdate>(table: TableSpec, updates: readonly U[]): Promise<PutRowsResult<U>> {
    const tableName = this.#physical(table);
    const failed: U[] = [];
    let refused = 0;
    const outcome = (update: U, put: PutOutcome) => {
      if (put === 'unavailable') failed.push(update);
      else if (put === 'refused') refused += 1;
    };
    if (table.kind === 'sink') {
      await forEachConcurrently(updates, this.#concurrency, async (update) => {
        outcome(update, await this.#putSinkItem(tableName, update));
      });
      return { failed, refused };
    }
    const versioned = updates.filter((update) => update.version !== undefined);
    const unversioned = updates.filter((update) => update.version === undefined);
    await Promise.all([
      forEachConcurrently(versioned, this.#concurrency, async (update) => {
        outcome(update, await this.#putVersioned(tableName, update));
      }),
      forEachConcurrently(chunk(unversioned, MAX_ITEMS_PER_BATCH_WRITE), this.#concurrency, async (batch) => {
        failed.push(...(await this.#writeBatch(tableName, batch)));
      }),
    ]);
    return { failed, refused };
  }

  /** A stale update is done with (refused). */
  async #putVersioned(tableName: string, update: RowUpdate): Promise<PutOutcome> {
    const item: Item = {
      [Schema.key]: update.key,
      [Schema.version]: update.version,
      ...(update.row === undefined ? { [Schema.deleted]: true } : { [Schema.row]: update.row }),
    };
    return this.#putConditionally(
      new PutCommand({
        TableName: tableName,
        Item: item,
        ConditionExpression: 'attribute_not_exists(#k) OR #v <= :v',
        ExpressionAttributeNames: { '#k': Schema.key, '#v': Schema.version },
        ExpressionAttributeValues: { ':v': update.version },
        ReturnConsumedCapacity: 'TOTAL',
      }),
    );
  }

  /**
   * A `toDynamoDb` write (dynamodb-sink.ts): a conditional PutItem of the item or its tombstone, kept
   * only over an older one. BatchWriteItem takes no condition, so sink writes are one PutItem each.
   */
  async #putSinkItem(tableName: string, update: RowUpdate): Promise<PutOutcome> {
    return this.#putConditionally(
      new PutCommand({
        TableName: tableName,
        Item: sinkItemOf(update),
        ConditionExpression: SINK_WRITE_CONDITION,
        ExpressionAttributeNames: { '#v': SinkItemAttributes.version, '#t': SinkItemAttributes.tieBreak },
        ExpressionAttributeValues: { ':v': update.version, ':t': update.tieBreak },
        ReturnConsumedCapacity: 'TOTAL',
      }),
    );
  }

  /** A write that fails its condition (an older one, or a repeat) is done with: refused. */
  async #putConditionally(command: PutCommand): Promise<PutOutcome> {
    try {
      await sendWithRetries('PutItem', () => this.#doc.send(command), this.#retry);
      return 'written';
    } catch (error) {
      if (isConditionalCheckFailure(error)) {
        this.counter.conditionalFailure();
        return 'refused';
      }
      if (error instanceof StateStoreUnavailableError) return 'unavailable';
      throw error;
    }
  }

  /** The updates of the batch that are still unprocessed after the retries. */
  async #writeBatch<U extends RowUpdate>(tableName: string, batch: readonly U[]): Promise<U[]> {
    let pending = [...batch];
    for (let round = 1; ; round += 1) {
      const requests = pending.map((update) =>
        update.row === undefined
          ? { DeleteRequest: { Key: { [Schema.key]: update.key } } }
          : { PutRequest: { Item: { [Schema.key]: update.key, [Schema.row]: update.row } } },
      );
      let output: BatchWriteCommandOutput;
      try {
        output = await sendWithRetries(
          'BatchWriteItem',
          () =>
            this.#doc.send(
              new BatchWriteCommand({ RequestItems: { [tableName]: requests }, ReturnConsumedCapacity: 'TOTAL' }),
            ),
          this.#retry,
        );
      } catch (error) {
        if (error instanceof StateStoreUnavailableError) return pending;
        throw error;
      }
      const unprocessed = new Set(
        (output.UnprocessedItems?.[tableName] ?? []).map((request) =>
          String((request.DeleteRequest?.Key ?? request.PutRequest?.Item)?.[Schema.key]),
        ),
      );
      pending = pending.filter((update) => unprocessed.has(update.key));
      if (pending.length === 0) return [];
      if (round >= this.#retry.maxAttempts) return pending;
      await sleep(backoffDelay(round - 1, this.#retry.backoff));
    }
  }

  #physical(table: TableSpec): string {
    return this.#tableNames[table.name] ?? table.tableName;
  }
}
