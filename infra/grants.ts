import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kinesis from 'aws-cdk-lib/aws-kinesis';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sqs from 'aws-cdk-lib/aws-sqs';

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
    iam.Grant.addToPrincipal({
      grantee: targetHandler,
      actions: ['sqs:SendMessage'],
      resourceArns: [this.#queue.queueArn],
    });
    this.#queue.encryptionMasterKey?.grant(targetHandler, ...QUEUE_KEY_ACTIONS);
    return { destination: this.#queue.queueArn };
  }
}
