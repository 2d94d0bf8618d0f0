import type { Tracer } from '@aws-lambda-powertools/tracer';
import type { StateStore } from './state-store.js';
import { TABLE_NAMES_ENV, type TableStore } from './table-store.js';

/** The stores a stage that keeps state or uses tables needs, when the handler is not given them. */
export interface StageStores {
  readonly store?: StateStore;
  readonly tables?: TableStore;
}

/**
 * Makes a stage's stores during Lambda's init phase. Only the entry point of stages that keep state
 * or use tables (functions/stage-handler.ts) passes one, so that the other stages' bundles leave
 * DynamoDB out.
 */
export type StageStoresLoader = (
  tracer: Tracer,
  stateTable: string | undefined,
  usesTables: boolean,
) => Promise<StageStores>;

/** The state store and the table store a stage needs, over one traced DynamoDB client. */
export const dynamoDbStores: StageStoresLoader = async (tracer, stateTable, usesTables) => {
  const [{ DynamoDBClient }, { DynamoDbWindowStore }, { DynamoDbTableStore }] = await Promise.all([
    import('@aws-sdk/client-dynamodb'),
    import('./dynamodb-window-store.js'),
    import('./dynamodb-table-store.js'),
  ]);
  const client = tracer.captureAWSv3Client(new DynamoDBClient({}));
  return {
    ...(stateTable !== undefined && { store: new DynamoDbWindowStore({ client, tableName: stateTable }) }),
    ...(usesTables && { tables: new DynamoDbTableStore({ client, tableNames: tableNamesFromEnvironment() }) }),
  };
};

/** The physical names of the stage's tables, which the deployment sets (a prefix, a state generation). */
function tableNamesFromEnvironment(): Record<string, string> {
  const value = process.env[TABLE_NAMES_ENV];
  if (value === undefined || value === '') return {};
  const parsed: unknown = JSON.parse(value);
  if (parsed === null || typeof parsed !== 'object') throw new Error(`${TABLE_NAMES_ENV} must be a JSON object`);
  return parsed as Record<string, string>;
}
