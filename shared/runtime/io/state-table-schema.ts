import {
  CreateTableCommand,
  type CreateTableCommandInput,
  DescribeTableCommand,
  type DynamoDBClient,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { sleep } from '../../util/backoff.js';

/**
 * The state table of a pipeline: one per pipeline, items namespaced by stage id. The local runner and
 * the tests create it with {@link createStateTable}; the CDK construct mirrors these constants.
 *
 * - Window items: `pk` = `<stageId>#<key>`, `sk` = `<start>#<end>` (times offset by 2^52 and zero-padded
 *   to 16 digits, so a Query on `pk` returns a key's windows in start order).
 * - Channel watermarks items: `pk` = `<stageId>#~watermarks`, `sk` = the input shard id.
 * - GSI `byFireTime` (`timer` = `<stageId>#<shardId>`, `fireAt` in epoch ms), projecting everything:
 *   a stage finds its due windows with a Query, never a scan. Watermarks items lack both attributes,
 *   so the index holds windows only.
 * - TTL on `expiresAt` (epoch seconds): window items die a retention margin after they may fire.
 */
export const StateTableSchema = {
  partitionKey: 'pk',
  sortKey: 'sk',
  fireTimeIndex: 'byFireTime',
  timerAttribute: 'timer',
  fireAtAttribute: 'fireAt',
  ttlAttribute: 'expiresAt',
} as const;

/** DynamoDB's rule for table names. */
const tableNamePattern = /^[a-zA-Z0-9_.-]{3,255}$/;

/** The table could not be created or did not become ACTIVE. */
export class StateTableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StateTableError';
  }
}

/** The CreateTable request of a state table: on-demand, string keys, the fire-time GSI projecting all. */
export function stateTableDefinition(tableName: string): CreateTableCommandInput {
  if (!tableNamePattern.test(tableName)) {
    throw new StateTableError(`table names are 3 to 255 characters of a-z, A-Z, 0-9, '_', '-', '.': ${tableName}`);
  }
  const { partitionKey, sortKey, fireTimeIndex, timerAttribute, fireAtAttribute } = StateTableSchema;
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [
      { AttributeName: partitionKey, AttributeType: 'S' },
      { AttributeName: sortKey, AttributeType: 'S' },
      { AttributeName: timerAttribute, AttributeType: 'S' },
      { AttributeName: fireAtAttribute, AttributeType: 'N' },
    ],
    KeySchema: [
      { AttributeName: partitionKey, KeyType: 'HASH' },
      { AttributeName: sortKey, KeyType: 'RANGE' },
    ],
    GlobalSecondaryIndexes: [
      {
        IndexName: fireTimeIndex,
        KeySchema: [
          { AttributeName: timerAttribute, KeyType: 'HASH' },
          { AttributeName: fireAtAttribute, KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      },
    ],
  };
}

export interface CreateStateTableOptions {
  /** How long to wait for the table and its index to become ACTIVE. @default 300000 */
  readonly timeoutMs?: number;
  /** @default 250 */
  readonly pollIntervalMs?: number;
}

/**
 * Creates the state table, waits until it and its GSI are ACTIVE, then enables TTL on `expiresAt`.
 * Fails if the table exists.
 */
export async function createStateTable(
  client: DynamoDBClient,
  tableName: string,
  options: CreateStateTableOptions = {},
): Promise<void> {
  const { timeoutMs = 300_000, pollIntervalMs = 250 } = options;
  try {
    await client.send(new CreateTableCommand(stateTableDefinition(tableName)));
  } catch (error) {
    throw new StateTableError(`could not create state table ${tableName}`, { cause: error });
  }
  const deadline = Date.now() + timeoutMs;
  while (!(await isActive(client, tableName))) {
    if (Date.now() > deadline) throw new StateTableError(`state table ${tableName} not ACTIVE after ${timeoutMs} ms`);
    await sleep(pollIntervalMs);
  }
  try {
    await client.send(
      new UpdateTimeToLiveCommand({
        TableName: tableName,
        TimeToLiveSpecification: { AttributeName: StateTableSchema.ttlAttribute, Enabled: true },
      }),
    );
  } catch (error) {
    // dynalite lacks UpdateTimeToLive. Nothing depends on TTL deleting items (reads ignore expired
    // ones), so a table without it only keeps dead items: fine for a local run.
    if ((error as { name?: string }).name !== 'UnknownOperationException') {
      throw new StateTableError(`could not enable TTL on state table ${tableName}`, { cause: error });
    }
  }
}

async function isActive(client: DynamoDBClient, tableName: string): Promise<boolean> {
  const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
  return (
    Table?.TableStatus === 'ACTIVE' && (Table.GlobalSecondaryIndexes ?? []).every((i) => i.IndexStatus === 'ACTIVE')
  );
}
