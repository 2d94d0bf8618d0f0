import type { CfnResource } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { NagSuppressions } from 'cdk-nag';
import type { IConstruct } from 'constructs';

/**
 * Every cdk-nag (AwsSolutions) finding Eddy accepts, with the reason, each attached to the one
 * resource it is about by the functions below. docs/security.md lists them; test/infra/nag.test.ts
 * checks that these are the only suppressions and that nothing else is found.
 */
export const NagReasons = {
  /** AwsSolutions-IAM5 on `Resource::*`, in the policy of a function with active tracing. */
  tracingWildcard:
    'Active X-Ray tracing needs xray:PutTraceSegments and xray:PutTelemetryRecords, which support no ' +
    'resource-level permissions (Service Authorization Reference for AWS X-Ray), so they can only be ' +
    "allowed on '*'; they let the function send its own trace data and nothing else. These two are the " +
    "only actions on '*' in the policy: test/infra/least-privilege.ts fails on any other.",
  /**
   * AwsSolutions-IAM5 on `Resource::*`, in the policy of a traced function triggered by a table's
   * stream (a `dynamoDbStream` source): X-Ray's two actions, and dynamodb:ListStreams.
   */
  tracingAndListStreamsWildcard:
    'Active X-Ray tracing needs xray:PutTraceSegments and xray:PutTelemetryRecords, and the DynamoDB ' +
    'stream event source mapping needs dynamodb:ListStreams; none of the three supports resource-level ' +
    'permissions (Service Authorization Reference for AWS X-Ray and Amazon DynamoDB), so they can only be ' +
    "allowed on '*'. ListStreams only lists stream ARNs; reading a stream (DescribeStream, GetRecords, " +
    "GetShardIterator) is allowed on the source table's stream alone.",
  /** AwsSolutions-L1 on every Eddy function. */
  runtime:
    'The functions run nodejs22.x, a supported Lambda runtime (Node.js 22 LTS, deprecation scheduled for ' +
    '30 April 2027) whose security patches Lambda applies automatically. The bundle targets node22 and ' +
    'the code is tested on Node 20 and 22; moving to nodejs24.x is a runtime upgrade to plan and test, ' +
    'not a configuration fix.',
  /** AwsSolutions-SQS3 on the failure queue. */
  failureQueue:
    "This queue is itself a dead-letter queue: the on-failure destination of the stages' Kinesis event " +
    'source mappings, which send it the position of every batch they gave up on. Nothing consumes it ' +
    'automatically, so no receive count could move a message on to a further queue; operators read it ' +
    'by hand (docs/operations.md) within its 14-day retention, and an alarm fires when it holds a message.',
  /** AwsSolutions-SQS3 on the dead-letter queue (a pipeline with `deadLetter: { queue: true }`). */
  deadLetterQueue:
    'This queue is itself a dead-letter queue: the stages send it the records they could not process, each ' +
    'with its error and source position. Nothing consumes it automatically, so no receive count could move ' +
    'a message on to a further queue; operators read it (docs/operations.md, "Dead letters") within its ' +
    '14-day retention, and an alarm fires while it holds a message.',
  /** AwsSolutions-KDS3 on every stream, only when the deployer gives a customer managed key. */
  customerKey:
    'The stream uses the customer managed key the deployer chose with the encryptionKey option, to ' +
    'control its key policy, rotation and audit; without that option the streams use the AWS managed key ' +
    'alias/aws/kinesis, which this rule asks for.',
  /** AwsSolutions-SQS3 on a queue the pipeline sends to (`toSqs`). */
  sinkQueue:
    "This queue is the pipeline's output (a toSqs sink), not a queue Eddy consumes: the redrive policy " +
    'belongs to its consumers, who choose how many receives a message gets before it moves on and where to; ' +
    'give the construct an existing queue (toSqs existing) to configure it.',
  /** AwsSolutions-S1 on the bucket of a delivery stream the pipeline creates (`toFirehose`). */
  archiveBucket:
    "The bucket receives only what its Firehose delivery stream delivers, by the stream's role; nothing " +
    'else writes it and public access is blocked. Access logs would need a further bucket per pipeline; ' +
    'CloudTrail data events cover its access where an audit needs them.',
  /** AwsSolutions-IAM5 on the roles CDK makes for a delivery stream the pipeline creates (`toFirehose`). */
  firehoseRoles:
    "The roles of the pipeline's own Firehose delivery stream, made by CDK's S3 destination: the S3 " +
    "actions on its bucket's objects (<bucket>/*, objects have no names known in advance) and the KMS " +
    "data-key actions on the pipeline's key, which Firehose needs to write encrypted objects. They name " +
    'only that bucket and that key; no stage role has them.',
} as const;

/** What CDK's Firehose S3 destination grants its roles: the only wildcards accepted on them. */
const FIREHOSE_ROLE_FINDINGS = [
  'Action::kms:GenerateDataKey*',
  'Action::kms:ReEncrypt*',
  'Action::s3:Abort*',
  'Action::s3:DeleteObject*',
  'Action::s3:GetBucket*',
  'Action::s3:GetObject*',
  'Action::s3:List*',
  { regex: '/^Resource::<.*Bucket[0-9A-F]{8}\\.Arn>\\/\\*$/g' },
];

/** Accepts the wildcards of CDK's Firehose S3 destination in the roles of a `toFirehose` delivery stream. */
export function acceptFirehoseRoles(stream: IConstruct): void {
  NagSuppressions.addResourceSuppressions(
    stream,
    [{ id: 'AwsSolutions-IAM5', reason: NagReasons.firehoseRoles, appliesTo: FIREHOSE_ROLE_FINDINGS }],
    true,
  );
}

/** The only finding ids the suppressions below accept, so that a new wildcard is still reported. */
export const TRACING_WILDCARD_FINDING = 'Resource::*';

/**
 * Accepts X-Ray's `Resource::*` (and nothing else of AwsSolutions-IAM5) in the default policy of a
 * traced function's role. Call it once the role has its policy.
 */
export function acceptTracingWildcard(role: iam.Role, reason: string = NagReasons.tracingWildcard): void {
  const policy = role.node.tryFindChild('DefaultPolicy');
  if (policy === undefined) throw new Error(`role ${role.node.path} has no default policy to suppress a finding on`);
  NagSuppressions.addResourceSuppressions(
    cfnResource(policy),
    [{ id: 'AwsSolutions-IAM5', reason, appliesTo: [TRACING_WILDCARD_FINDING] }],
    false,
  );
}

/** Accepts AwsSolutions-L1 (not the latest runtime) on an Eddy function. */
export function acceptRuntime(fn: lambda.Function): void {
  NagSuppressions.addResourceSuppressions(cfnResource(fn), [{ id: 'AwsSolutions-L1', reason: NagReasons.runtime }]);
}

/** Accepts AwsSolutions-SQS3 (no dead-letter queue) on the queue that is the pipeline's dead-letter queue. */
export function acceptFailureQueueWithoutDlq(queue: IConstruct): void {
  NagSuppressions.addResourceSuppressions(cfnResource(queue), [
    { id: 'AwsSolutions-SQS3', reason: NagReasons.failureQueue },
  ]);
}

/** Accepts AwsSolutions-SQS3 (no dead-letter queue) on a queue a `toSqs` sink sends to. */
export function acceptSinkQueueWithoutDlq(queue: IConstruct): void {
  NagSuppressions.addResourceSuppressions(cfnResource(queue), [
    { id: 'AwsSolutions-SQS3', reason: NagReasons.sinkQueue },
  ]);
}

/** Accepts AwsSolutions-S1 (no server access logs) on the bucket of a `toFirehose` delivery stream. */
export function acceptArchiveBucketWithoutAccessLogs(bucket: IConstruct): void {
  NagSuppressions.addResourceSuppressions(cfnResource(bucket), [
    { id: 'AwsSolutions-S1', reason: NagReasons.archiveBucket },
  ]);
}

/** Accepts AwsSolutions-SQS3 (no dead-letter queue) on the pipeline's dead-letter queue, itself one. */
export function acceptDeadLetterQueueWithoutDlq(queue: IConstruct): void {
  NagSuppressions.addResourceSuppressions(cfnResource(queue), [
    { id: 'AwsSolutions-SQS3', reason: NagReasons.deadLetterQueue },
  ]);
}

/** Accepts AwsSolutions-KDS3 (not `alias/aws/kinesis`) on a stream encrypted with the deployer's key. */
export function acceptCustomerKey(stream: IConstruct): void {
  NagSuppressions.addResourceSuppressions(cfnResource(stream), [
    { id: 'AwsSolutions-KDS3', reason: NagReasons.customerKey },
  ]);
}

/** The CloudFormation resource of an L2 construct (or the resource itself): the narrowest scope there is. */
function cfnResource(construct: IConstruct): CfnResource {
  const resource = construct.node.defaultChild ?? construct;
  if (!('cfnResourceType' in resource)) throw new Error(`${construct.node.path} is no CloudFormation resource`);
  return resource as CfnResource;
}
