import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { PipelineDefinitionError, pipeline } from '../../../shared/index.js';
import type { DeadLetterEnvelope } from '../../../shared/runtime/dead-letter.js';
import { DynamoDbStreamShards } from '../../../shared/runtime/io/dynamodb-stream-shards.js';
import { MemoryRecordWriter } from '../../../shared/runtime/io/memory-record-writer.js';
import { createLambdaStageHandler } from '../../../shared/runtime/lambda-handler.js';
import { toTableChange } from '../../../shared/runtime/table-change.js';
import { lambdaContext } from '../../helpers/kinesis-events.js';

process.env.POWERTOOLS_METRICS_DISABLED = 'true';
const quiet = () => ({ logger: new Logger({ logLevel: 'SILENT' }), metrics: new Metrics({ namespace: 'test' }) });

const Order = z.object({ id: z.string(), amount: z.number(), ts: z.number() });
const streamArn = 'arn:aws:dynamodb:us-east-1:000000000000:table/orders/stream/2026-12-06T00:00:00.000';

function changes() {
  const p = pipeline('order-changes');
  return { p, orders: changesOf(p) };
}

function changesOf(p: ReturnType<typeof pipeline>) {
  return p.source('orders', {
    dynamoDbStream: { table: 'orders', partitionKey: { name: 'id' } },
    schema: Order,
    eventTime: (change) => (change.newImage ?? change.oldImage)?.ts ?? 0,
  });
}

/** DescribeStream of a stream with one closed shard and its open child. */
function streamShards(): DynamoDbStreamShards {
  const describe = async () => ({
    Shards: [
      {
        ShardId: 'shardId-parent',
        SequenceNumberRange: { StartingSequenceNumber: '100', EndingSequenceNumber: '199' },
      },
      {
        ShardId: 'shardId-child',
        ParentShardId: 'shardId-parent',
        SequenceNumberRange: { StartingSequenceNumber: '200' },
      },
    ],
  });
  return new DynamoDbStreamShards({ describe, streams: { orders: streamArn } });
}

let sequence = 200;
function streamRecord(
  eventName: 'INSERT' | 'MODIFY' | 'REMOVE',
  images: { old?: object; new?: object },
): DynamoDBRecord {
  sequence += 1;
  const item = (images.new ?? images.old) as { id: string };
  return {
    eventID: `event-${sequence}`,
    eventName,
    eventVersion: '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: 'us-east-1',
    eventSourceARN: streamArn,
    dynamodb: {
      ApproximateCreationDateTime: 1_700_000_000,
      Keys: { id: { S: item.id } },
      ...(images.old !== undefined && { OldImage: marshall(images.old) as never }),
      ...(images.new !== undefined && { NewImage: marshall(images.new) as never }),
      SequenceNumber: String(sequence),
      SizeBytes: 100,
      StreamViewType: 'NEW_AND_OLD_IMAGES',
    },
  };
}

describe('a dynamoDbStream source', () => {
  it('gives INSERT, MODIFY and REMOVE with keys and unmarshalled images, on the channel of the batch shard', async () => {
    const writer = new MemoryRecordWriter();
    const { p, orders } = changes();
    orders
      .map((change) => ({ name: change.eventName, keys: change.keys, old: change.oldImage, new: change.newImage }))
      .keyBy((c) => String(c.keys.id))
      .sink('out');
    const handler = createLambdaStageHandler(p, {
      stageId: 'from-orders',
      writer,
      dynamoDbStreams: streamShards(),
      ...quiet(),
    });
    const a = { id: 'a', amount: 5, ts: 1000 };
    const event: DynamoDBStreamEvent = {
      Records: [
        streamRecord('INSERT', { new: a }),
        streamRecord('MODIFY', { old: a, new: { ...a, amount: 7 } }),
        streamRecord('REMOVE', { old: { ...a, amount: 7 } }),
      ],
    };

    const response = await handler(event, lambdaContext());

    expect(response).toEqual({ batchItemFailures: [] });
    const packs = (writer.streams.get('order-changes-keyBy-1') ?? []).map((record) => JSON.parse(record.data));
    expect(packs.map((pack) => pack.ch)).toEqual(['from-orders/shardId-child']);
    expect(packs[0].e.map((envelope: { v: unknown; t: number }) => [envelope.v, envelope.t])).toEqual([
      [{ name: 'INSERT', keys: { id: 'a' }, new: a }, 1000],
      [{ name: 'MODIFY', keys: { id: 'a' }, old: a, new: { ...a, amount: 7 } }, 1000],
      [{ name: 'REMOVE', keys: { id: 'a' }, old: { ...a, amount: 7 } }, 1000],
    ]);
  });

  it('dead-letters a change whose image is bad, naming the record and the field, and goes on with the rest', async () => {
    const writer = new MemoryRecordWriter();
    const { p, orders } = changes();
    orders.map((change) => change.newImage?.amount ?? 0).sink('amounts');
    const handler = createLambdaStageHandler(p, {
      stageId: 'from-orders',
      writer,
      dynamoDbStreams: streamShards(),
      ...quiet(),
    });
    const wrongType = streamRecord('INSERT', { new: { id: 'b', amount: 'ten', ts: 1 } });
    const notDynamoJson = streamRecord('INSERT', { new: { id: 'c', amount: 1, ts: 1 } });
    (notDynamoJson.dynamodb as { NewImage: unknown }).NewImage = { id: { S: 'c' }, amount: { N: 1 }, ts: { N: '1' } };
    const keysOnly = streamRecord('MODIFY', { new: { id: 'd', amount: 1, ts: 1 } });
    const good = streamRecord('INSERT', { new: { id: 'e', amount: 3, ts: 1 } });

    const response = await handler({ Records: [wrongType, notDynamoJson, keysOnly, good] }, lambdaContext());

    expect(response).toEqual({ batchItemFailures: [] });
    expect(writer.values('amounts')).toEqual([3]);
    const dead = writer.values('order-changes-dead-letters') as DeadLetterEnvelope[];
    expect(dead.map((letter) => [letter.correlationId, letter.error.reason, letter.error.issues?.[0]?.field])).toEqual([
      [`orders/shardId-child/${wrongType.dynamodb?.SequenceNumber}`, 'schema-violation', 'newImage.amount'],
      [
        `orders/shardId-child/${notDynamoJson.dynamodb?.SequenceNumber}`,
        'malformed-change',
        'dynamodb.NewImage.amount',
      ],
      [`orders/shardId-child/${keysOnly.dynamodb?.SequenceNumber}`, 'malformed-change', 'dynamodb.OldImage'],
    ]);
    // The dead letter keeps the stream record as it came.
    const payload = JSON.parse(Buffer.from(dead[0]?.payload ?? '', 'base64').toString('utf8'));
    expect(payload.dynamodb.NewImage.amount).toEqual({ S: 'ten' });
  });

  it('fails the batch, for Lambda to retry, when its shard cannot be told', async () => {
    const { p, orders } = changes();
    orders.sink('all');
    const handler = createLambdaStageHandler(p, {
      stageId: 'from-orders',
      writer: new MemoryRecordWriter(),
      dynamoDbStreams: streamShards(),
      ...quiet(),
    });
    const stray = streamRecord('INSERT', { new: { id: 'x', amount: 1, ts: 1 } });
    (stray.dynamodb as { SequenceNumber: string }).SequenceNumber = '5';

    await expect(handler({ Records: [stray] }, lambdaContext())).rejects.toThrow(/lies in no shard/);
  });

  it('refuses Kinesis-only options', () => {
    const define = () =>
      pipeline('x').source('orders', { dynamoDbStream: 'orders', schema: Order, idleTimeout: '1m' } as never);
    expect(define).toThrow(PipelineDefinitionError);
  });

  it('unmarshals any item the schema accepts back to itself (property)', () => {
    const Item = z.object({
      id: z.string(),
      amount: z.number(),
      tags: z.array(z.string()),
      nested: z.object({ flag: z.boolean(), note: z.string().nullable() }),
    });
    const item = fc.record({
      id: fc.string({ minLength: 1 }),
      amount: fc.integer({ min: -1e9, max: 1e9 }),
      tags: fc.array(fc.string()),
      nested: fc.record({ flag: fc.boolean(), note: fc.option(fc.string(), { nil: null }) }),
    });
    fc.assert(
      fc.property(item, item, (before, after) => {
        const json = JSON.parse(
          JSON.stringify({
            eventName: 'MODIFY',
            dynamodb: {
              Keys: marshall({ id: before.id }),
              OldImage: marshall(before),
              NewImage: marshall(after),
              SequenceNumber: '42',
              ApproximateCreationDateTime: 1_700_000_000.5,
            },
          }),
        );
        const change = toTableChange(json, Item, 'source', 'orders');
        expect(change).toEqual({
          eventName: 'MODIFY',
          keys: { id: before.id },
          oldImage: before,
          newImage: after,
          sequenceNumber: '42',
          approximateCreationTime: 1_700_000_000_500,
        });
      }),
    );
  });
});
