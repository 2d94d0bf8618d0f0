import { ArnFormat, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kinesis from 'aws-cdk-lib/aws-kinesis';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { IConstruct } from 'constructs';
import type { SecretRef } from '../shared/index.js';

/**
 * What Eddy's own functions send to a stream they write: PutRecords (`KinesisRecordWriter`, the only
 * writer) and ListShards (`KinesisShardDirectory`, to send watermarks to every shard). Never PutRecord.
 */
export const STREAM_WRITE_ACTIONS: readonly string[] = ['kinesis:ListShards', 'kinesis:PutRecords'];

/** What a producer outside the pipeline may send to a source stream: either put call, and ListShards. */
export const PRODUCER_ACTIONS: readonly string[] = ['kinesis:ListShards', 'kinesis:PutRecord', 'kinesis:PutRecords'];

/**
 * With a customer managed key, what a writer needs on it: Kinesis (and SQS) call GenerateDataKey with
 * the caller's permissions to encrypt what it puts. Not CDK's `grantWrite`, which adds `kms:Encrypt`,
 * `kms:ReEncrypt*` and `kms:GenerateDataKey*`, none of which a producer needs.
 */
export const KEY_WRITE_ACTIONS: readonly string[] = ['kms:GenerateDataKey'];

/**
 * What a sender to an SQS queue encrypted with a customer managed key needs on the key (SQS developer
 * guide, "Key management": producers need GenerateDataKey and Decrypt).
 */
export const QUEUE_KEY_ACTIONS: readonly string[] = ['kms:Decrypt', 'kms:GenerateDataKey'];

/**
 * Lets a principal write a stream: `actions` on the stream's ARN only, and {@link KEY_WRITE_ACTIONS} on
 * its key when it has a customer managed one (the AWS managed `alias/aws/kinesis` needs no permission).
 */
export function grantStreamWrite(
  stream: kinesis.IStream,
  grantee: iam.IGrantable,
  actions: readonly string[] = STREAM_WRITE_ACTIONS,
): iam.Grant {
  const grant = iam.Grant.addToPrincipal({ grantee, actions: [...actions], resourceArns: [stream.streamArn] });
  return stream.encryptionKey === undefined
    ? grant
    : grant.combine(stream.encryptionKey.grant(grantee, ...KEY_WRITE_ACTIONS));
}

/**
 * The on-failure destination of a Kinesis event source mapping: an SQS queue the function's role may
 * send to, as the Lambda developer guide lists it (`sqs:SendMessage`, and with a customer managed key
 * {@link QUEUE_KEY_ACTIONS}). CDK's `SqsDlq` would add `sqs:GetQueueAttributes`, `sqs:GetQueueUrl`
 * and, with a key, `kms:Encrypt`, `kms:ReEncrypt*` and `kms:GenerateDataKey*`.
 */
export class FailureQueueDestination implements lambda.IEventSourceDlq {
  readonly #queue: sqs.IQueue;

  constructor(queue: sqs.IQueue) {
    this.#queue = queue;
  }

  bind(_target: lambda.IEventSourceMapping, targetHandler: lambda.IFunction): lambda.DlqDestinationConfig {
    grantQueueSend(this.#queue, targetHandler);
    return { destination: this.#queue.queueArn };
  }
}

/**
 * Lets a principal send to a queue and nothing else: `sqs:SendMessage` on the queue's ARN (which
 * also allows SendMessageBatch, as the dead-letter queue's sink sends), and with a customer managed
 * key {@link QUEUE_KEY_ACTIONS} on it. CDK's `grantSendMessages` adds `sqs:GetQueueAttributes` and
 * `sqs:GetQueueUrl`, and with a key `kms:Encrypt`, `kms:ReEncrypt*` and `kms:GenerateDataKey*`.
 */
export function grantQueueSend(queue: sqs.IQueue, grantee: iam.IGrantable): iam.Grant {
  const grant = iam.Grant.addToPrincipal({ grantee, actions: ['sqs:SendMessage'], resourceArns: [queue.queueArn] });
  const key = queue.encryptionMasterKey;
  return key === undefined ? grant : grant.combine(key.grant(grantee, ...QUEUE_KEY_ACTIONS));
}

/**
 * What a stage function sends to read its secrets (tokenize's key): GetParameter with decryption,
 * nothing else (no GetParameters, no GetParametersByPath, no DescribeParameters).
 */
export const SECRET_READ_ACTIONS: readonly string[] = ['ssm:GetParameter'];

/**
 * The ARN of a secret's parameter: `arn:<partition>:ssm:<region>:<account>:parameter/<name>` in the
 * stack's account and region, or the ARN given. A pinned version is not part of it (IAM does not
 * tell versions apart).
 */
export function secretParameterArn(scope: IConstruct, ref: SecretRef): string {
  if (ref.name.startsWith('arn:')) return ref.name;
  return Stack.of(scope).formatArn({
    service: 'ssm',
    resource: 'parameter',
    resourceName: ref.name.replace(/^\//, ''),
    arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
  });
}

/**
 * Lets a function read exactly these parameters: {@link SECRET_READ_ACTIONS} on their ARNs. A
 * SecureString encrypted with the AWS managed key `alias/aws/ssm` needs no KMS permission (its key
 * policy admits callers through SSM in the account); with a customer managed key, the function's
 * role needs `kms:Decrypt` on that key as well (docs/security.md). Nothing is granted for none.
 */
export function grantSecretRead(
  scope: IConstruct,
  grantee: iam.IGrantable,
  secrets: readonly SecretRef[],
): iam.Grant | undefined {
  const arns = [...new Set(secrets.map((ref) => secretParameterArn(scope, ref)))];
  if (arns.length === 0) return undefined;
  return iam.Grant.addToPrincipal({ grantee, actions: [...SECRET_READ_ACTIONS], resourceArns: arns });
}
