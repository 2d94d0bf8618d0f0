import type { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { GetRecordsCommand, GetShardIteratorCommand, type _Record as KinesisRecord } from '@aws-sdk/client-kinesis';
import { describe, expect, it } from 'vitest';
import { dynamoDbStreamAsKinesis } from '../../../../local/event-source-mapping/dynamodb-streams-reader.js';
import {
  fromDynamoDbStreamEventRecord,
  TABLE_END_OF_INPUT_EVENT,
} from '../../../../shared/runtime/dynamodb-stream-event.js';
import { isEndOfInput } from '../../../../shared/runtime/watermark-records.js';

const streamArn = 'arn:aws:dynamodb:us-east-1:000000000000:table/orders/stream/2026-12-06T00:00:00.000';

/**
 * DynamoDB Streams with one open shard holding `changes` (their sequence numbers), read a page at a
 * time; the iterator says where it is. It records the positions it was asked to start after.
 */
function fakeStreams(changes: string[]) {
  const asked: { type: string; after?: string }[] = [];
  const client = {
    send: async (command: { input: Record<string, unknown>; constructor: { name: string } }) => {
      if (command.constructor.name === 'GetShardIteratorCommand') {
        const { ShardIteratorType: type, SequenceNumber: after } = command.input as {
          ShardIteratorType: string;
          SequenceNumber?: string;
        };
        asked.push({ type, ...(after !== undefined && { after }) });
        const from =
          type === 'AFTER_SEQUENCE_NUMBER'
            ? changes.indexOf(after as string) + 1
            : type === 'LATEST'
              ? changes.length
              : 0;
        return { ShardIterator: `it-${from}-0` };
      }
      const [, from, page] = String(command.input.ShardIterator).split('-');
      const start = Number(from);
      const records = changes.slice(start, start + 2).map((sequenceNumber) => ({
        eventID: sequenceNumber,
        eventName: 'INSERT',
        dynamodb: {
          Keys: { id: { S: sequenceNumber } },
          SequenceNumber: sequenceNumber,
          ApproximateCreationDateTime: new Date(0),
        },
      }));
      return { Records: records, NextShardIterator: `it-${start + records.length}-${Number(page) + 1}` };
    },
  } as unknown as DynamoDBStreamsClient;
  return { client, asked };
}

async function readAll(kinesis: ReturnType<typeof dynamoDbStreamAsKinesis>['kinesis'], after?: string) {
  const { ShardIterator } = await kinesis.send(
    new GetShardIteratorCommand({
      StreamName: 'orders',
      ShardId: 'shard-1',
      ShardIteratorType: after === undefined ? 'TRIM_HORIZON' : 'AFTER_SEQUENCE_NUMBER',
      ...(after !== undefined && { StartingSequenceNumber: after }),
    }),
  );
  let iterator = ShardIterator;
  const read: KinesisRecord[] = [];
  for (let page = 0; page < 5; page += 1) {
    const output = await kinesis.send(new GetRecordsCommand({ ShardIterator: iterator }));
    read.push(...(output.Records ?? []));
    iterator = output.NextShardIterator;
  }
  return read;
}

const eventRecordOf = (record: KinesisRecord) => JSON.parse(Buffer.from(record.Data ?? []).toString('utf8'));

describe("a table stream's end of input, in the local mapping's reader", () => {
  it('gives nothing past the last change until the input ends, then one mark at the next sequence number, once', async () => {
    const streams = fakeStreams(['0100', '0101', '0102']);
    const input = dynamoDbStreamAsKinesis(streams.client, streamArn, { awsRegion: 'us-east-1' });

    const before = await readAll(input.kinesis);
    input.endInput();
    const rest = await readAll(input.kinesis, '0102');

    expect(before.map((r) => r.SequenceNumber)).toEqual(['0100', '0101', '0102']);
    expect(rest.map((r) => r.SequenceNumber)).toEqual(['0103']);
    const mark = eventRecordOf(rest[0] as KinesisRecord);
    expect([mark.eventName, mark.eventSourceARN, mark.dynamodb.SequenceNumber]).toEqual([
      TABLE_END_OF_INPUT_EVENT,
      streamArn,
      '0103',
    ]);
    // The stage reads it as a Kinesis source's end-of-input record: its watermark goes to the end of time.
    const inputRecord = fromDynamoDbStreamEventRecord(mark, 'shard-1');
    expect(isEndOfInput(inputRecord.position.partitionKey, inputRecord.data)).toBe(true);
    expect(inputRecord.position.sequenceNumber).toBe('0103');
  });

  it('reads on after a mark from the change before it, which DynamoDB Streams knows (an expired iterator, a checkpoint)', async () => {
    const streams = fakeStreams(['0100', '0101']);
    const input = dynamoDbStreamAsKinesis(streams.client, streamArn, { awsRegion: 'us-east-1' });
    input.endInput();
    const first = await readAll(input.kinesis);
    expect(first.map((r) => r.SequenceNumber)).toEqual(['0100', '0101', '0102']);

    const again = await readAll(input.kinesis, '0102');

    expect(again).toEqual([]);
    expect(streams.asked.at(-1)).toEqual({ type: 'AFTER_SEQUENCE_NUMBER', after: '0101' });
  });

  it('marks an empty shard too, and reads on from its tip', async () => {
    const streams = fakeStreams([]);
    const input = dynamoDbStreamAsKinesis(streams.client, streamArn, { awsRegion: 'us-east-1' });
    input.endInput();

    const read = await readAll(input.kinesis);
    await readAll(input.kinesis, read[0]?.SequenceNumber);

    expect(read.map((r) => eventRecordOf(r).eventName)).toEqual([TABLE_END_OF_INPUT_EVENT]);
    expect(streams.asked.at(-1)).toEqual({ type: 'LATEST' });
  });
});
