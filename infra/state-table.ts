import { RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { StateTableSchema } from '../shared/runtime/io/state-table-schema.js';

/** DynamoDB table names: 3-255 characters of `[a-zA-Z0-9_.-]` (DynamoDB API reference, CreateTable). */
const TABLE_NAME = /^[a-zA-Z0-9_.-]{3,255}$/;

/**
 * What `DynamoDbWindowStore` sends to the table, nothing more: BatchGetItem and Query (window
 * loads), GetItem and PutItem (channel watermarks), UpdateItem and DeleteItem (conditional window
 * writes). It uses no transactions (so no ConditionCheckItem), no Scan and no table management.
 */
export const STATE_TABLE_ACTIONS: readonly string[] = [
  'dynamodb:BatchGetItem',
  'dynamodb:DeleteItem',
  'dynamodb:GetItem',
  'dynamodb:PutItem',
  'dynamodb:Query',
  'dynamodb:UpdateItem',
];
/** The only request the store sends to the fire-time index: the Query for due windows. */
export const STATE_INDEX_ACTIONS: readonly string[] = ['dynamodb:Query'];

/** Checks the physical name of the state table: the runtime gets it literally, so it must be known at synth time. */
export function validateStateTableName(tableName: string): void {
  if (Token.isUnresolved(tableName) || !TABLE_NAME.test(tableName)) {
    throw new Error(
      `state table name ${JSON.stringify(tableName)} is invalid: DynamoDB table names are 3 to 255 letters, digits, '_', '.' and '-'`,
    );
  }
}

/**
 * Checks that the table can be encrypted with the key: CDK renders a `TableV2`'s customer managed key
 * per replica region, so it needs a stack with an explicit region (`env: { region }`).
 */
export function validateStateTableKey(scope: Construct, encryptionKey: kms.IKey | undefined): void {
  if (encryptionKey !== undefined && Token.isUnresolved(Stack.of(scope).region)) {
    throw new Error(
      `encryptionKey: the state table of a windowed pipeline can use a customer managed key only in a stack ` +
        `with an explicit region (env: { region }); stack ${Stack.of(scope).stackName} is region-agnostic`,
    );
  }
}

/**
 * What every table of a pipeline has: point-in-time recovery, encryption (the AWS managed key, or the
 * customer key), and deletion protection when the removal policy retains it.
 */
export function durableTableProps(
  encryptionKey: kms.IKey | undefined,
  removalPolicy: RemovalPolicy,
): Pick<
  dynamodb.TablePropsV2,
  'pointInTimeRecoverySpecification' | 'encryption' | 'deletionProtection' | 'removalPolicy'
> {
  return {
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    encryption:
      encryptionKey === undefined
        ? dynamodb.TableEncryptionV2.awsManagedKey()
        : dynamodb.TableEncryptionV2.customerManagedKey(encryptionKey),
    deletionProtection:
      removalPolicy === RemovalPolicy.RETAIN || removalPolicy === RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
    removalPolicy,
  };
}

export interface PipelineStateTableProps {
  /** Physical table name: the stream name prefix and the plan's `stateTable`; see {@link validateStateTableName}. */
  readonly tableName: string;
  /**
   * Customer managed key (the stack then needs an explicit region, see {@link validateStateTableKey});
   * without one the table uses the AWS managed key `alias/aws/dynamodb`.
   */
  readonly encryptionKey?: kms.IKey;
  /** RETAIN (or RETAIN_ON_UPDATE_OR_DELETE) also turns deletion protection on. */
  readonly removalPolicy: RemovalPolicy;
}

/**
 * The state table of a pipeline's stateful stages, the schema of `shared/runtime/io/state-table-schema.ts`
 * (the same constants, so that the deployed table and the one the local runner creates cannot drift):
 * string keys `pk`/`sk`, the fire-time GSI projecting everything, TTL on `expiresAt`, on-demand,
 * point-in-time recovery on, encrypted.
 */
export class PipelineStateTable extends Construct {
  readonly table: dynamodb.TableV2;
  readonly #encryptionKey: kms.IKey | undefined;

  constructor(scope: Construct, id: string, props: PipelineStateTableProps) {
    super(scope, id);
    validateStateTableName(props.tableName);
    validateStateTableKey(this, props.encryptionKey);
    const { partitionKey, sortKey, fireTimeIndex, timerAttribute, fireAtAttribute, ttlAttribute } = StateTableSchema;
    this.#encryptionKey = props.encryptionKey;
    this.table = new dynamodb.TableV2(this, 'Table', {
      tableName: props.tableName,
      partitionKey: { name: partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: sortKey, type: dynamodb.AttributeType.STRING },
      globalSecondaryIndexes: [
        {
          indexName: fireTimeIndex,
          partitionKey: { name: timerAttribute, type: dynamodb.AttributeType.STRING },
          sortKey: { name: fireAtAttribute, type: dynamodb.AttributeType.NUMBER },
          projectionType: dynamodb.ProjectionType.ALL,
        },
      ],
      billing: dynamodb.Billing.onDemand(),
      timeToLiveAttribute: ttlAttribute,
      ...durableTableProps(props.encryptionKey, props.removalPolicy),
    });
  }

  /**
   * Lets a stage function use the table as `DynamoDbWindowStore` does: {@link STATE_TABLE_ACTIONS} on
   * the table, {@link STATE_INDEX_ACTIONS} on the fire-time index, and, with a customer key, Decrypt
   * on it (DynamoDB decrypts the table key with the caller's permissions). Not CDK's
   * `grantReadWriteData`: that adds Scan, DescribeTable and every index (`index/*`).
   */
  grantStateAccess(grantee: iam.IGrantable): iam.Grant {
    const tableArn = this.table.tableArn;
    let grant = iam.Grant.addToPrincipal({ grantee, actions: [...STATE_TABLE_ACTIONS], resourceArns: [tableArn] });
    grant = grant.combine(
      iam.Grant.addToPrincipal({
        grantee,
        actions: [...STATE_INDEX_ACTIONS],
        resourceArns: [`${tableArn}/index/${StateTableSchema.fireTimeIndex}`],
      }),
    );
    if (this.#encryptionKey !== undefined) grant = grant.combine(this.#encryptionKey.grantDecrypt(grantee));
    return grant;
  }
}
