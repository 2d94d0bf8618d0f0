import type { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import type { PipelinePlan } from '../shared/index.js';
import { durableTableProps } from './state-table.js';

export interface SourceTablesProps {
  readonly plan: PipelinePlan;
  /** Prepended to the name of each table the construct creates (not to an existing table's). */
  readonly namePrefix: string;
  readonly encryptionKey?: kms.IKey;
  readonly removalPolicy: RemovalPolicy;
}

/**
 * The tables of the pipeline's `dynamoDbStream` sources: each created with its stream on
 * (NEW_AND_OLD_IMAGES: a change carries both images), on demand, encrypted, with point-in-time
 * recovery, as the pipeline's other tables; or, given a `streamArn`, the user's table as it is.
 */
export class SourceTables extends Construct {
  /** By source name: a table with its stream ARN. */
  readonly tables: ReadonlyMap<string, dynamodb.ITable>;

  constructor(scope: Construct, id: string, props: SourceTablesProps) {
    super(scope, id);
    const tables = new Map<string, dynamodb.ITable>();
    for (const spec of props.plan.streams) {
      const source = spec.dynamoDbStream;
      if (source === undefined) continue;
      if (source.streamArn !== undefined) {
        tables.set(
          spec.name,
          dynamodb.Table.fromTableAttributes(this, spec.name, {
            tableName: source.table,
            tableStreamArn: source.streamArn,
          }),
        );
        continue;
      }
      const attribute = (key: { name: string; type: 'string' | 'number' }) => ({
        name: key.name,
        type: key.type === 'number' ? dynamodb.AttributeType.NUMBER : dynamodb.AttributeType.STRING,
      });
      tables.set(
        spec.name,
        new dynamodb.TableV2(this, spec.name, {
          tableName: `${props.namePrefix}${source.table}`,
          partitionKey: attribute(source.partitionKey),
          ...(source.sortKey !== undefined && { sortKey: attribute(source.sortKey) }),
          dynamoStream: dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
          billing: dynamodb.Billing.onDemand(),
          ...durableTableProps(props.encryptionKey, props.removalPolicy),
        }),
      );
    }
    this.tables = tables;
  }

  /** The table of a `dynamoDbStream` source, or undefined for a stream of another kind. */
  of(source: string): dynamodb.ITable | undefined {
    return this.tables.get(source);
  }
}
