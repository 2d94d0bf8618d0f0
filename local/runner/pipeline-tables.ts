import { CreateTableCommand, DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, DynamoDBDocumentClient, ScanCommand, type ScanCommandOutput } from '@aws-sdk/lib-dynamodb';
import type { PipelinePlan, TableSpec } from '../../shared/dag/plan-types.js';
import { chunk } from '../../shared/runtime/io/dynamodb-requests.js';
import { sleep } from '../../shared/util/backoff.js';

/**
 * The tables of a pipeline on the local stack (docs/tables.md, docs/sinks.md): a materialized or
 * sink table is created as the CDK construct creates it (partition key `k`; a sink's own keys); an
 * external one, which a deployment only reads, or an existing sink table, is created empty locally
 * when it is missing, so that a run can seed it (`eddy run --table`) or write it.
 */

/**
 * Physical names by table name: a table the pipeline creates (materialized, sink) gets the stream
 * prefix, an external or existing one's is exact.
 */
export function localTableNames(plan: PipelinePlan, streamPrefix: string): Record<string, string> {
  return Object.fromEntries(
    (plan.tables ?? []).map((table) => [
      table.name,
      table.kind === 'external' || table.existing !== undefined ? table.tableName : `${streamPrefix}${table.tableName}`,
    ]),
  );
}

export async function ensurePipelineTables(
  client: DynamoDBClient,
  plan: PipelinePlan,
  names: Readonly<Record<string, string>>,
): Promise<void> {
  await Promise.all(
    (plan.tables ?? []).map((table) => ensureTable(client, table, names[table.name] ?? table.tableName)),
  );
}

async function ensureTable(client: DynamoDBClient, table: TableSpec, tableName: string): Promise<void> {
  const typeOf = (type: 'string' | 'number') => (type === 'number' ? ('N' as const) : ('S' as const));
  const sortKey = table.sortKey;
  try {
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        AttributeDefinitions: [
          { AttributeName: table.partitionKey, AttributeType: typeOf(table.partitionKeyType) },
          ...(sortKey === undefined ? [] : [{ AttributeName: sortKey.name, AttributeType: typeOf(sortKey.type) }]),
        ],
        KeySchema: [
          { AttributeName: table.partitionKey, KeyType: 'HASH' },
          ...(sortKey === undefined ? [] : [{ AttributeName: sortKey.name, KeyType: 'RANGE' as const }]),
        ],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
  } catch (error) {
    // A running endpoint or a data folder may already have it from an earlier run: reuse it.
    if ((error as Error).name !== 'ResourceInUseException') throw error;
  }
  for (let waited = 0; ; waited += 100) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    if (Table?.TableStatus === 'ACTIVE') return;
    if (waited > 60_000) throw new Error(`table ${tableName} is not ACTIVE after 60 s`);
    await sleep(100);
  }
}

/** A table's items, page by page (Scan, 1 MB a page as DynamoDB pages it): what `--output <table>=<file>` writes. */
export async function* scanTablePages(
  client: DynamoDBClient,
  tableName: string,
): AsyncGenerator<Record<string, unknown>[]> {
  const doc = DynamoDBDocumentClient.from(client);
  let start: Record<string, unknown> | undefined;
  do {
    const page: ScanCommandOutput = await doc.send(
      new ScanCommand({
        TableName: tableName,
        ConsistentRead: true,
        ...(start !== undefined && { ExclusiveStartKey: start }),
      }),
    );
    yield page.Items ?? [];
    start = page.LastEvaluatedKey;
  } while (start !== undefined);
}

/** Puts items into an external table (each with its partition key), 25 a request. */
export async function seedTable(client: DynamoDBClient, tableName: string, items: readonly object[]): Promise<void> {
  const doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  for (const batch of chunk(items, 25)) {
    let pending: Record<string, unknown>[] = batch.map((item) => ({ PutRequest: { Item: item } }));
    for (let round = 0; pending.length > 0; round += 1) {
      const output = await doc.send(new BatchWriteCommand({ RequestItems: { [tableName]: pending as never } }));
      pending = (output.UnprocessedItems?.[tableName] ?? []) as Record<string, unknown>[];
      if (round > 20) throw new Error(`table ${tableName}: items still unprocessed after 20 rounds`);
      if (pending.length > 0) await sleep(50 * (round + 1));
    }
  }
}
