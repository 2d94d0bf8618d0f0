import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import * as z from 'zod';
import { PipelineDefinitionError, pipeline, versions } from '../../../shared/index.js';
import type { DeadLetterEnvelope } from '../../../shared/runtime/dead-letter.js';
import type { DynamoDbStreamWindowEvent } from '../../../shared/runtime/dynamodb-stream-event.js';
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

/** The handler of the source stage `from-orders`, finding shards with `dynamoDbStreams`. */
function sourceStage(
  p: ReturnType<typeof pipeline>,
  dynamoDbStreams: DynamoDbStreamShards,
  writer: MemoryRecordWriter,
) {
  return createLambdaStageHandler(p, { stageId: 'from-orders', writer, dynamoDbStreams, ...quiet() });
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
    const handler = sourceStage(p, streamShards(), writer);
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
    const handler = sourceStage(p, streamShards(), writer);
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
    const handler = sourceStage(p, streamShards(), new MemoryRecordWriter());
    const stray = streamRecord('INSERT', { new: { id: 'x', amount: 1, ts: 1 } });
    (stray.dynamodb as { SequenceNumber: string }).SequenceNumber = '5';

    await expect(handler({ Records: [stray] }, lambdaContext())).rejects.toThrow(/lies in no shard/);
  });

  describe("with the mapping's tumbling window, which names the batch's shard", () => {
    /** Two open shards with no end, as a table with two partitions has: every later sequence number lies in both. */
    function twoOpenShards(): DynamoDbStreamShards {
      const describe = async () => ({
        Shards: [
          { ShardId: 'shardId-a', SequenceNumberRange: { StartingSequenceNumber: '100' } },
          { ShardId: 'shardId-b', SequenceNumberRange: { StartingSequenceNumber: '150' } },
        ],
      });
      return new DynamoDbStreamShards({ describe, streams: { orders: streamArn } });
    }
    const windowOf = (records: DynamoDBRecord[], final = false): DynamoDbStreamWindowEvent => ({
      Records: records,
      shardId: 'shardId-b',
      eventSourceARN: streamArn,
      window: { start: '2026-12-06T22:00:00Z', end: '2026-12-06T22:15:00Z' },
      state: {},
      isFinalInvokeForWindow: final,
      isWindowTerminatedEarly: false,
    });

    it('puts the batch on the channel of event.shardId, without looking it up by sequence number, and answers with a state', async () => {
      const writer = new MemoryRecordWriter();
      const { p, orders } = changes();
      orders.keyBy((change) => String(change.keys.id)).sink('out');
      const shards = twoOpenShards();
      const shardOf = vi.spyOn(shards, 'shardOf');
      const handler = sourceStage(p, shards, writer);

      const response = await handler(
        windowOf([streamRecord('INSERT', { new: { id: 'a', amount: 1, ts: 1 } })]),
        lambdaContext(),
      );

      expect(response).toEqual({ state: {}, batchItemFailures: [] });
      const packs = (writer.streams.get('order-changes-keyBy-1') ?? []).map((record) => JSON.parse(record.data));
      expect(packs.map((pack) => pack.ch)).toEqual(['from-orders/shardId-b']);
      expect(shardOf).not.toHaveBeenCalled();
    });

    it("answers a window's final invoke with no records with an empty state and no failures, writing nothing", async () => {
      const writer = new MemoryRecordWriter();
      const { p, orders } = changes();
      orders.sink('all');
      const shards = twoOpenShards();
      const shardOf = vi.spyOn(shards, 'shardOf');
      const handler = sourceStage(p, shards, writer);

      const response = await handler(windowOf([], true), lambdaContext());

      expect(response).toEqual({ state: {}, batchItemFailures: [] });
      expect(writer.streams.size).toBe(0);
      expect(shardOf).not.toHaveBeenCalled();
    });

    it('without event.shardId, fails the batch over open shards, saying to enable the tumbling window', async () => {
      const { p, orders } = changes();
      orders.sink('all');
      const handler = sourceStage(p, twoOpenShards(), new MemoryRecordWriter());
      const late = streamRecord('INSERT', { new: { id: 'x', amount: 1, ts: 1 } });
      (late.dynamodb as { SequenceNumber: string }).SequenceNumber = '500';

      await expect(handler({ Records: [late] }, lambdaContext())).rejects.toThrow(
        /several shards \(shardId-a, shardId-b\).*tumbling window \(TumblingWindowInSeconds 1-900\).*event\.shardId/,
      );
    });
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

  describe('with schema versions (versions())', () => {
    // v1 had `price` in cents; v2 has `amount` in units and a `v`; v3 adds a currency.
    const OrderV1 = z.object({ id: z.string(), price: z.number().int(), ts: z.number() });
    const OrderV2 = z.object({ v: z.literal(2), id: z.string(), amount: z.number(), ts: z.number() });
    const OrderV3 = OrderV2.extend({ v: z.literal(3), currency: z.string().length(3) });
    const VersionedOrder = versions({ versionOf: (raw) => (raw as { v?: unknown }).v ?? 1 })
      .add(1, OrderV1)
      .add(2, OrderV2, ({ price, ...v1 }) => ({ ...v1, v: 2 as const, amount: price / 100 }))
      .add(3, OrderV3, (v2) => ({ ...v2, v: 3 as const, currency: 'EUR' }));
    const v1 = fc.record({ id: fc.string({ minLength: 1 }), price: fc.integer({ min: 0, max: 1e7 }), ts: fc.nat() });
    const v2 = fc.record({
      v: fc.constant(2),
      id: fc.string({ minLength: 1 }),
      amount: fc.integer({ min: 0, max: 1e5 }),
      ts: fc.nat(),
    });
    const v3 = v2.map((order) => ({ ...order, v: 3, currency: 'USD' }));
    const json = (old: object, neu: object) =>
      JSON.parse(
        JSON.stringify({
          eventName: 'MODIFY',
          dynamodb: {
            Keys: marshall({ id: 'k' }),
            OldImage: marshall(old),
            NewImage: marshall(neu),
            SequenceNumber: '7',
            ApproximateCreationDateTime: 1,
          },
        }),
      );

    it('upgrades old and new images of every older version, each on its own, to ones the newest schema passes (property)', () => {
      fc.assert(
        fc.property(fc.oneof(v1, v2, v3), fc.oneof(v1, v2, v3), (before, after) => {
          const change = toTableChange(json(before, after), VersionedOrder, 'source', 'orders');
          expect(OrderV3.parse(change.oldImage)).toEqual(change.oldImage);
          expect(OrderV3.parse(change.newImage)).toEqual(change.newImage);
          // An image of the newest version is left as it was; an older one keeps its id and time.
          const pairs: [{ id: string; ts: number }, { id?: string; ts?: number } | undefined][] = [
            [before, change.oldImage as { id?: string; ts?: number }],
            [after, change.newImage as { id?: string; ts?: number }],
          ];
          for (const [raw, image] of pairs) {
            if ('currency' in raw) expect(image).toEqual(raw);
            expect([image?.id, image?.ts]).toEqual([raw.id, raw.ts]);
          }
        }),
        { numRuns: 300 },
      );
    });

    it('dead-letters a change with an image of an unknown version, naming the image and its version, and an upgraded image the newest schema refuses', async () => {
      const writer = new MemoryRecordWriter();
      const p = pipeline('order-changes');
      p.source('orders', { dynamoDbStream: { table: 'orders', partitionKey: { name: 'id' } }, schema: VersionedOrder })
        .map((change) => [change.oldImage?.amount ?? null, change.newImage?.amount ?? null, change.newImage?.currency])
        .sink('amounts');
      const handler = sourceStage(p, streamShards(), writer);
      const newUnknown = streamRecord('INSERT', { new: { v: 9, id: 'a', amount: 1, ts: 1 } });
      const oldUnknown = streamRecord('REMOVE', { old: { v: 'beta', id: 'b', amount: 1, ts: 1 } });
      const badV1 = streamRecord('INSERT', { new: { id: 'c', price: 1.5, ts: 1 } });
      const upgraded = streamRecord('MODIFY', {
        old: { id: 'd', price: 250, ts: 1 },
        new: { v: 2, id: 'd', amount: 4, ts: 2 },
      });

      const response = await handler({ Records: [newUnknown, oldUnknown, badV1, upgraded] }, lambdaContext());

      expect(response).toEqual({ batchItemFailures: [] });
      expect(writer.values('amounts')).toEqual([[2.5, 4, 'EUR']]);
      const dead = writer.values('order-changes-dead-letters') as DeadLetterEnvelope[];
      expect(dead.map((letter) => [letter.correlationId, letter.error.reason, letter.error.issues?.[0]])).toEqual([
        [
          `orders/shardId-child/${newUnknown.dynamodb?.SequenceNumber}`,
          'unknown-schema-version',
          { field: 'newImage.(version)', message: 'unknown version 9' },
        ],
        [
          `orders/shardId-child/${oldUnknown.dynamodb?.SequenceNumber}`,
          'unknown-schema-version',
          { field: 'oldImage.(version)', message: 'unknown version "beta"' },
        ],
        [
          `orders/shardId-child/${badV1.dynamodb?.SequenceNumber}`,
          'schema-violation',
          { field: 'newImage.price', message: expect.stringMatching(/^version 1: /) },
        ],
      ]);
      expect(dead[0]?.error.message).toMatch(/newImage of a INSERT of source 'orders'.*accepts versions 1, 2, 3/);
    });
  });
});
