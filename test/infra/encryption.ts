import { expect } from 'vitest';
import { type CfnTemplate, referencedId, resourcesOfType } from './support.js';

/** Where CloudFormation wants a key's ARN. */
function keyArn(keyId: string): unknown {
  return { 'Fn::GetAtt': [keyId, 'Arn'] };
}

/**
 * Asserts encryption at rest for every stream, queue and table of the template, and for the alarm
 * topic Eddy creates: the AWS managed keys without a customer key (SQS-managed keys for the queue),
 * else that key everywhere. A stack must hold at least one stream and one queue, so that the check
 * cannot pass on an empty template.
 */
export function expectEncryptedAtRest(json: CfnTemplate, keyId?: string): void {
  const streams = resourcesOfType(json, 'AWS::Kinesis::Stream');
  expect(streams.length).toBeGreaterThan(0);
  for (const [id, stream] of streams) {
    expect(stream.Properties.StreamEncryption, id).toEqual({
      EncryptionType: 'KMS',
      KeyId: keyId === undefined ? 'alias/aws/kinesis' : keyArn(keyId),
    });
  }

  const queues = resourcesOfType(json, 'AWS::SQS::Queue');
  expect(queues.length).toBeGreaterThan(0);
  for (const [id, queue] of queues) {
    if (keyId === undefined) {
      expect(queue.Properties.SqsManagedSseEnabled, id).toBe(true);
      expect(queue.Properties.KmsMasterKeyId, id).toBeUndefined();
    } else {
      expect(queue.Properties.KmsMasterKeyId, id).toEqual(keyArn(keyId));
      expect(queue.Properties.SqsManagedSseEnabled, id).toBeUndefined();
    }
  }

  // TableV2 renders AWS::DynamoDB::GlobalTable; a plain table would have escaped these checks.
  expect(resourcesOfType(json, 'AWS::DynamoDB::Table'), 'plain DynamoDB tables').toEqual([]);
  for (const [id, table] of resourcesOfType(json, 'AWS::DynamoDB::GlobalTable')) {
    // SSEType KMS without a key id on the replicas is the AWS managed key alias/aws/dynamodb.
    expect(table.Properties.SSESpecification, id).toEqual({ SSEEnabled: true, SSEType: 'KMS' });
    const replicas = table.Properties.Replicas as { SSESpecification?: unknown }[];
    expect(replicas.length, id).toBeGreaterThan(0);
    for (const replica of replicas) {
      expect(replica.SSESpecification, id).toEqual(keyId === undefined ? undefined : { KMSMasterKeyId: keyArn(keyId) });
    }
  }

  // The alarm topic: encrypted with the customer key when there is one; without one it stays
  // unencrypted on purpose (alias/aws/sns does not admit CloudWatch; docs/security.md).
  for (const [id, topic] of resourcesOfType(json, 'AWS::SNS::Topic')) {
    // Logical ids carry the construct path: Eddy's topic is the one under EddyPipeline's Observability.
    if (!id.includes('ObservabilityAlarmTopic')) continue;
    expect(topic.Properties.KmsMasterKeyId, id).toEqual(keyId === undefined ? undefined : keyArn(keyId));
  }
}

interface PolicyStatement {
  readonly Effect: string;
  readonly Principal?: unknown;
  readonly Action: string | string[];
  readonly Resource: unknown;
  readonly Condition?: unknown;
}

function statementsOf(json: CfnTemplate, policyType: string, listKey: string, resourceId: string): PolicyStatement[] {
  return resourcesOfType(json, policyType)
    .filter(([, policy]) => (policy.Properties[listKey] as unknown[]).map(referencedId).includes(resourceId))
    .flatMap(([, policy]) => (policy.Properties.PolicyDocument as { Statement: PolicyStatement[] }).Statement);
}

/**
 * Asserts that every queue and every topic of the template refuses requests without TLS: a resource
 * policy denying everyone every action (SQS) or Publish (SNS) when `aws:SecureTransport` is false.
 * Kinesis and DynamoDB need no such policy for Eddy's own calls: the AWS SDK v3 speaks HTTPS only.
 */
export function expectTlsOnly(json: CfnTemplate): void {
  const queues = resourcesOfType(json, 'AWS::SQS::Queue');
  expect(queues.length).toBeGreaterThan(0);
  for (const [id] of queues) {
    const statements = statementsOf(json, 'AWS::SQS::QueuePolicy', 'Queues', id);
    expect(statements, `queue ${id} denies requests without TLS`).toContainEqual(
      expect.objectContaining({
        Effect: 'Deny',
        Principal: { AWS: '*' },
        Action: 'sqs:*',
        Resource: { 'Fn::GetAtt': [id, 'Arn'] },
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      }),
    );
  }
  for (const [id] of resourcesOfType(json, 'AWS::SNS::Topic')) {
    const statements = statementsOf(json, 'AWS::SNS::TopicPolicy', 'Topics', id);
    expect(statements, `topic ${id} denies publishing without TLS`).toContainEqual(
      expect.objectContaining({
        Effect: 'Deny',
        Principal: '*',
        Action: 'sns:Publish',
        Resource: { Ref: id },
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      }),
    );
  }
}
