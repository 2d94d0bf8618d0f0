import { Arn, type RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import type { PipelinePlan, TableSpec } from '../shared/dag/plan-types.js';
import { MaterializedTableSchema } from '../shared/runtime/io/table-store.js';
import { durableTableProps, validateStateTableKey, validateStateTableName } from './state-table.js';

/** What `DynamoDbTableStore` sends to keep a table: BatchWriteItem (unversioned), conditional PutItem (versioned). */
export const TABLE_WRITE_ACTIONS: readonly string[] = ['dynamodb:BatchWriteItem', 'dynamodb:PutItem'];
/** What it sends to write a sink table (`toDynamoDb`): conditional PutItem only (tombstones are puts too). */
export const SINK_TABLE_WRITE_ACTIONS: readonly string[] = ['dynamodb:PutItem'];
/** What it sends to look rows up: BatchGetItem only. */
export const TABLE_READ_ACTIONS: readonly string[] = ['dynamodb:BatchGetItem'];

export interface PipelineTablesProps {
  readonly plan: PipelinePlan;
  /** Prefixed to a materialized table's name, as to the streams'. */
  readonly namePrefix: string;
  /** Encrypts the materialized tables (the stack then needs an explicit region); @default the AWS managed key */
  readonly encryptionKey?: kms.IKey;
  readonly removalPolicy: RemovalPolicy;
}

/**
 * The pipeline's tables (docs/tables.md, docs/sinks.md): each materialized one a DynamoDB table of
 * its own (partition key `k`, on-demand, point-in-time recovery, encrypted), each sink table too
 * (with the keys `toDynamoDb` names) unless it is an existing one, each external or existing one
 * referenced by name or ARN. A stage may write only the tables it keeps or sinks to, and read only
 * those it enriches with.
 */
export class PipelineTables extends Construct {
  /** The DynamoDB table of each of the pipeline's tables, by table name. */
  readonly tables: ReadonlyMap<string, dynamodb.ITableV2>;
  readonly #specs: ReadonlyMap<string, TableSpec>;
  readonly #encryptionKey: kms.IKey | undefined;

  constructor(scope: Construct, id: string, props: PipelineTablesProps) {
    super(scope, id);
    this.#encryptionKey = props.encryptionKey;
    const tables = new Map<string, dynamodb.ITableV2>();
    const specs = new Map<string, TableSpec>();
    for (const spec of props.plan.tables ?? []) {
      specs.set(spec.name, spec);
      if (spec.kind === 'external' || spec.existing !== undefined) {
        const arn = spec.existing?.tableArn;
        tables.set(
          spec.name,
          arn === undefined
            ? dynamodb.TableV2.fromTableName(this, `External-${spec.name}`, spec.tableName)
            : dynamodb.TableV2.fromTableArn(this, `External-${spec.name}`, arn),
        );
        continue;
      }
      const tableName = `${props.namePrefix}${spec.tableName}`;
      validateStateTableName(tableName);
      validateStateTableKey(this, props.encryptionKey);
      const attribute = (name: string, type: 'string' | 'number') => ({
        name,
        type: type === 'number' ? dynamodb.AttributeType.NUMBER : dynamodb.AttributeType.STRING,
      });
      tables.set(
        spec.name,
        new dynamodb.TableV2(this, spec.name, {
          tableName,
          ...(spec.kind === 'sink'
            ? {
                partitionKey: attribute(spec.partitionKey, spec.partitionKeyType),
                ...(spec.sortKey !== undefined && { sortKey: attribute(spec.sortKey.name, spec.sortKey.type) }),
              }
            : { partitionKey: attribute(MaterializedTableSchema.key, 'string') }),
          billing: dynamodb.Billing.onDemand(),
          ...durableTableProps(props.encryptionKey, props.removalPolicy),
        }),
      );
    }
    this.tables = tables;
    this.#specs = specs;
  }

  /** The physical names a stage's function needs (EDDY_TABLES), by table name; undefined when it uses none. */
  namesFor(stage: { readonly tables?: { readonly reads: readonly string[]; readonly writes: readonly string[] } }) {
    if (stage.tables === undefined) return undefined;
    const names = [...new Set([...stage.tables.reads, ...stage.tables.writes])];
    // An existing table named by ARN is written by ARN (PutItem's TableName takes one): it may be in
    // another account or region.
    return Object.fromEntries(
      names.map((name) => [name, this.#specs.get(name)?.existing?.tableArn ?? this.#table(name).tableName]),
    );
  }

  /**
   * Lets a stage's function do what its operators do with tables, nothing more:
   * {@link TABLE_READ_ACTIONS} on the tables it enriches with, {@link TABLE_WRITE_ACTIONS} on those
   * it keeps, and Decrypt on the customer key of the materialized ones. (An external table encrypted
   * with a customer key of its own needs a grant on that key from its owner.)
   */
  grantStageAccess(
    grantee: iam.IGrantable,
    stage: { readonly tables?: { readonly reads: readonly string[]; readonly writes: readonly string[] } },
  ): void {
    for (const [names, write] of [
      [stage.tables?.reads ?? [], false],
      [stage.tables?.writes ?? [], true],
    ] as const) {
      for (const name of names) {
        const spec = this.#specs.get(name);
        const actions = !write
          ? TABLE_READ_ACTIONS
          : spec?.kind === 'sink'
            ? SINK_TABLE_WRITE_ACTIONS
            : TABLE_WRITE_ACTIONS;
        iam.Grant.addToPrincipal({ grantee, actions: [...actions], resourceArns: [this.#arnOf(name)] });
        if (spec?.kind !== 'external' && spec?.existing === undefined) this.#encryptionKey?.grantDecrypt(grantee);
      }
    }
  }

  #table(name: string): dynamodb.ITableV2 {
    const table = this.tables.get(name);
    if (table === undefined) throw new Error(`the plan has no table '${name}'`);
    return table;
  }

  /** An external (or existing sink) table's ARN is built from its name, in the stack's account and region, unless given. */
  #arnOf(name: string): string {
    const spec = this.#specs.get(name);
    if (spec?.existing?.tableArn !== undefined) return spec.existing.tableArn;
    if (spec?.kind === 'external' || spec?.existing !== undefined) {
      return Arn.format({ service: 'dynamodb', resource: 'table', resourceName: spec.tableName }, Stack.of(this));
    }
    return this.#table(name).tableArn;
  }
}
