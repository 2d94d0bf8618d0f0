import { Arn, ArnFormat, Duration, type RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as firehose from 'aws-cdk-lib/aws-kinesisfirehose';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { DestinationSpec, PipelinePlan } from '../shared/dag/plan-types.js';
import { grantQueueSend } from './grants.js';
import { acceptArchiveBucketWithoutAccessLogs, acceptFirehoseRoles, acceptSinkQueueWithoutDlq } from './nag.js';

/** The environment variable that names each destination's queue URL, bus or delivery stream (JSON). */
export const DESTINATIONS_ENV = 'EDDY_DESTINATIONS';

/** What the sink stages send: one action each, on their destination only. */
export const DESTINATION_ACTIONS = {
  sqs: ['sqs:SendMessage'],
  eventbridge: ['events:PutEvents'],
  firehose: ['firehose:PutRecordBatch'],
} as const;

export interface PipelineDestinationsProps {
  readonly plan: PipelinePlan;
  /** Prepended to the name of each queue, bus and delivery stream the construct creates. */
  readonly namePrefix: string;
  readonly encryptionKey?: kms.IKey;
  readonly removalPolicy: RemovalPolicy;
}

interface Built {
  readonly spec: DestinationSpec;
  /** The queue's URL, the bus's name or ARN, the delivery stream's name: what the API takes. */
  readonly target: string;
  readonly arn: string;
  readonly queue?: sqs.IQueue;
}

/**
 * The queues, buses and delivery streams of the message sinks (docs/sinks.md): each created,
 * encrypted (an SQS queue with SSE-SQS or the pipeline's key, TLS only; a bus with the pipeline's
 * key or an AWS owned one; a delivery stream encrypted, into an S3 bucket of its own, encrypted,
 * public access blocked, TLS only), or an existing one the user names, by name or ARN. Only the
 * stages that send to one learn its target and may send to it, with one action.
 */
export class PipelineDestinations extends Construct {
  readonly #built = new Map<string, Built>();

  constructor(scope: Construct, id: string, props: PipelineDestinationsProps) {
    super(scope, id);
    for (const spec of props.plan.destinations ?? []) {
      const built = spec.existing === undefined ? this.#create(spec, props) : this.#existing(spec, spec.existing.arn);
      this.#built.set(spec.name, built);
    }
  }

  /** The targets of the stage's destinations by name, for DESTINATIONS_ENV; undefined when it has none. */
  targetsFor(stage: { readonly destinations?: readonly string[] }): Record<string, string> | undefined {
    if (stage.destinations === undefined) return undefined;
    return Object.fromEntries(stage.destinations.map((name) => [name, this.#get(name).target]));
  }

  /** Lets the stage send to its destinations, and nothing else of them. */
  grantStageAccess(grantee: iam.IGrantable, stage: { readonly destinations?: readonly string[] }): void {
    for (const name of stage.destinations ?? []) {
      const built = this.#get(name);
      if (built.queue !== undefined) grantQueueSend(built.queue, grantee);
      else {
        iam.Grant.addToPrincipal({
          grantee,
          actions: [...DESTINATION_ACTIONS[built.spec.service]],
          resourceArns: [built.arn],
        });
      }
    }
  }

  #get(name: string): Built {
    const built = this.#built.get(name);
    if (built === undefined) throw new Error(`no destination '${name}'`);
    return built;
  }

  #create(spec: DestinationSpec, props: PipelineDestinationsProps): Built {
    const name = `${props.namePrefix}${spec.name}`;
    const key = props.encryptionKey;
    switch (spec.service) {
      case 'sqs': {
        const queue = new sqs.Queue(this, spec.name, {
          queueName: name,
          ...(spec.fifo === true && { fifo: true }),
          enforceSSL: true,
          removalPolicy: props.removalPolicy,
          ...(key === undefined
            ? { encryption: sqs.QueueEncryption.SQS_MANAGED }
            : { encryption: sqs.QueueEncryption.KMS, encryptionMasterKey: key }),
        });
        acceptSinkQueueWithoutDlq(queue);
        return { spec, target: queue.queueUrl, arn: queue.queueArn, queue };
      }
      case 'eventbridge': {
        const bus = new events.EventBus(this, spec.name, {
          eventBusName: name,
          ...(key !== undefined && { kmsKey: key }),
        });
        bus.applyRemovalPolicy(props.removalPolicy);
        return { spec, target: bus.eventBusName, arn: bus.eventBusArn };
      }
      case 'firehose': {
        const bucket = new s3.Bucket(this, `${spec.name}-Bucket`, {
          blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
          enforceSSL: true,
          removalPolicy: props.removalPolicy,
          ...(key === undefined
            ? { encryption: s3.BucketEncryption.S3_MANAGED }
            : { encryption: s3.BucketEncryption.KMS, encryptionKey: key }),
        });
        acceptArchiveBucketWithoutAccessLogs(bucket);
        const stream = new firehose.DeliveryStream(this, spec.name, {
          deliveryStreamName: name,
          destination: new firehose.S3Bucket(bucket, {
            bufferingInterval: Duration.seconds(60),
            ...(key !== undefined && { encryptionKey: key }),
          }),
          encryption:
            key === undefined
              ? firehose.StreamEncryption.awsOwnedKey()
              : firehose.StreamEncryption.customerManagedKey(key),
        });
        stream.applyRemovalPolicy(props.removalPolicy);
        acceptFirehoseRoles(stream);
        return { spec, target: stream.deliveryStreamName, arn: stream.deliveryStreamArn };
      }
    }
  }

  /** An existing destination: by its ARN, or by name in the stack's account and region. */
  #existing(spec: DestinationSpec, arn: string | undefined): Built {
    const stack = Stack.of(this);
    switch (spec.service) {
      case 'sqs': {
        const queueArn =
          arn ?? Arn.format({ service: 'sqs', resource: spec.name, arnFormat: ArnFormat.NO_RESOURCE_NAME }, stack);
        const queue = sqs.Queue.fromQueueAttributes(this, spec.name, {
          queueArn,
          ...(spec.fifo === true && { fifo: true }),
        });
        return { spec, target: queue.queueUrl, arn: queue.queueArn, queue };
      }
      case 'eventbridge': {
        const busArn = arn ?? Arn.format({ service: 'events', resource: 'event-bus', resourceName: spec.name }, stack);
        // PutEvents takes the bus's ARN: it may be in another account.
        return { spec, target: busArn, arn: busArn };
      }
      case 'firehose': {
        const streamArn =
          arn ?? Arn.format({ service: 'firehose', resource: 'deliverystream', resourceName: spec.name }, stack);
        return { spec, target: spec.name, arn: streamArn };
      }
    }
  }
}
