import {
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  ResourceInUseException,
  type ScalarAttributeType,
} from '@aws-sdk/client-dynamodb';
import type { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { DeleteCommand, DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDbStreamSpec, PipelinePlan } from '../../shared/dag/plan-types.js';
import { sleep } from '../../shared/util/backoff.js';
import { createDynamoDbClient, createDynamoDbStreamsClient } from '../aws-clients.js';
import type { EngineProcess } from '../emulators/engine-process.js';
import { startDynamoDbLocal } from '../emulators/second-pair.js';

/** A line of a `dynamoDbStream` source's input file: an item to put, or `{ "$delete": key }`. */
export type TableChangeLine = Record<string, unknown>;

/**
 * The tables of a pipeline's `dynamoDbStream` sources, on DynamoDB Local (dynalite has no Streams):
 * each created with its stream on (NEW_AND_OLD_IMAGES), as the construct creates them in AWS.
 * A run drives a source by writing its table: puts and deletes, which DynamoDB turns into INSERT,
 * MODIFY and REMOVE records.
 */
export class SourceTables {
  private constructor(
    readonly endpoint: string,
    readonly dynamodb: DynamoDBClient,
    readonly streams: DynamoDBStreamsClient,
    /** Each source's stream ARN, by source name. */
    readonly streamArns: Readonly<Record<string, string>>,
    /** Each source's physical table name, by source name. */
    readonly tableNames: Readonly<Record<string, string>>,
    readonly engine: EngineProcess | undefined,
  ) {}

  /** The plan's `dynamoDbStream` sources. */
  static sourcesOf(plan: PipelinePlan): { readonly name: string; readonly spec: DynamoDbStreamSpec }[] {
    return plan.streams.flatMap((s) =>
      s.dynamoDbStream === undefined ? [] : [{ name: s.name, spec: s.dynamoDbStream }],
    );
  }

  /**
   * Starts DynamoDB Local unless `endpoint` names a running one (it must implement Streams), and
   * creates each source's table, `<prefix><table>`, or reuses it.
   */
  static async start(
    plan: PipelinePlan,
    options: { prefix: string; endpoint?: string; host?: string },
  ): Promise<SourceTables> {
    const engine = options.endpoint === undefined ? await startDynamoDbLocal(options.host ?? '127.0.0.1') : undefined;
    const endpoint = options.endpoint ?? engine?.endpoint ?? '';
    const dynamodb = createDynamoDbClient(endpoint);
    const streams = createDynamoDbStreamsClient(endpoint);
    try {
      const streamArns: Record<string, string> = {};
      const tableNames: Record<string, string> = {};
      for (const { name, spec } of SourceTables.sourcesOf(plan)) {
        // An existing table's name is exact in AWS; locally there is none, so it is made under that name.
        const tableName = spec.streamArn === undefined ? `${options.prefix}${spec.table}` : spec.table;
        tableNames[name] = tableName;
        streamArns[name] = await ensureStreamedTable(dynamodb, tableName, spec);
      }
      return new SourceTables(endpoint, dynamodb, streams, streamArns, tableNames, engine);
    } catch (error) {
      dynamodb.destroy();
      streams.destroy();
      await engine?.stop();
      throw error;
    }
  }

  /** Applies each line to the source's table, in order: a put, or a delete of `$delete`'s key. */
  async write(source: string, lines: readonly TableChangeLine[]): Promise<number> {
    const tableName = this.tableNames[source];
    if (tableName === undefined) {
      const known = Object.keys(this.tableNames).join(', ') || 'none';
      throw new Error(`'${source}' is not a dynamoDbStream source (those are: ${known})`);
    }
    const doc = DynamoDBDocumentClient.from(this.dynamodb, { marshallOptions: { removeUndefinedValues: true } });
    let written = 0;
    for (const [i, line] of lines.entries()) {
      const key = line.$delete;
      if (key !== undefined && (typeof key !== 'object' || key === null)) {
        throw new Error(
          `line ${i + 1} of the input of '${source}': field '$delete' must be the key of the item to delete`,
        );
      }
      // One at a time, in order: the changes of a key reach the stream in the order they are written.
      if (key === undefined) await doc.send(new PutCommand({ TableName: tableName, Item: line }));
      else await doc.send(new DeleteCommand({ TableName: tableName, Key: key as Record<string, unknown> }));
      written += 1;
    }
    return written;
  }

  async stop(): Promise<void> {
    this.dynamodb.destroy();
    this.streams.destroy();
    await this.engine?.stop();
  }
}

async function ensureStreamedTable(
  client: DynamoDBClient,
  tableName: string,
  spec: DynamoDbStreamSpec,
): Promise<string> {
  const type = (t: 'string' | 'number'): ScalarAttributeType => (t === 'number' ? 'N' : 'S');
  const keys = [
    { name: spec.partitionKey.name, type: spec.partitionKey.type, role: 'HASH' as const },
    ...(spec.sortKey === undefined
      ? []
      : [{ name: spec.sortKey.name, type: spec.sortKey.type, role: 'RANGE' as const }]),
  ];
  try {
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: keys.map((key) => ({ AttributeName: key.name, AttributeType: type(key.type) })),
        KeySchema: keys.map((key) => ({ AttributeName: key.name, KeyType: key.role })),
        StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' },
      }),
    );
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
  }
  for (let attempt = 0; attempt < 100; attempt += 1) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    if (
      Table?.StreamSpecification?.StreamViewType !== undefined &&
      Table.StreamSpecification.StreamViewType !== 'NEW_AND_OLD_IMAGES'
    ) {
      throw new Error(
        `table ${tableName}: its stream is ${Table.StreamSpecification.StreamViewType}; a source needs NEW_AND_OLD_IMAGES`,
      );
    }
    if (Table?.TableStatus === 'ACTIVE' && Table.LatestStreamArn !== undefined) return Table.LatestStreamArn;
    await sleep(50);
  }
  throw new Error(`table ${tableName} did not become ACTIVE with a stream`);
}
