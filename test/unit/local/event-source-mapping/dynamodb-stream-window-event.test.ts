import type { DynamoDBRecord, KinesisStreamEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import {
  requireWindowState,
  toDynamoDbStreamEvent,
} from '../../../../local/event-source-mapping/dynamodb-streams-reader.js';

const streamArn = 'arn:aws:dynamodb:us-east-1:000000000000:table/orders/stream/2026-12-06T00:00:00.000';

/** The local mapping's Kinesis event whose records carry DynamoDB stream records, as dynamoDbStreamAsKinesis makes them. */
function mappingEvent(shardId: string, sequenceNumbers: string[]): KinesisStreamEvent {
  return {
    Records: sequenceNumbers.map((sequenceNumber) => {
      const record: DynamoDBRecord = {
        eventID: `e-${sequenceNumber}`,
        eventName: 'INSERT',
        eventSource: 'aws:dynamodb',
        eventSourceARN: streamArn,
        dynamodb: { Keys: { id: { S: 'a' } }, SequenceNumber: sequenceNumber },
      };
      return {
        eventID: `${shardId}:${sequenceNumber}`,
        eventSource: 'aws:kinesis',
        eventSourceARN: 'arn:aws:kinesis:us-east-1:000000000000:stream/orders',
        kinesis: {
          sequenceNumber,
          partitionKey: '{}',
          data: Buffer.from(JSON.stringify(record)).toString('base64'),
          approximateArrivalTimestamp: 0,
          kinesisSchemaVersion: '1.0',
        },
      } as KinesisStreamEvent['Records'][number];
    }),
  };
}

describe("the local mapping's event for a table stream, as Lambda sends it with a tumbling window", () => {
  it('names the shard and stream, the current window and an empty state beside the DynamoDB records', () => {
    const now = Date.parse('2026-12-06T22:20:05Z');

    const event = toDynamoDbStreamEvent(mappingEvent('shardId-00000001-abc', ['300', '301']), now, 900);

    expect(event).toEqual({
      Records: [
        expect.objectContaining({
          eventSource: 'aws:dynamodb',
          dynamodb: expect.objectContaining({ SequenceNumber: '300' }),
        }),
        expect.objectContaining({ dynamodb: expect.objectContaining({ SequenceNumber: '301' }) }),
      ],
      shardId: 'shardId-00000001-abc',
      eventSourceARN: streamArn,
      window: { start: '2026-12-06T22:15:00.000Z', end: '2026-12-06T22:30:00.000Z' },
      state: {},
      isFinalInvokeForWindow: false,
      isWindowTerminatedEarly: false,
    });
  });
});

describe("Lambda's reading of a tumbling-window answer", () => {
  it('takes an answer with a state, partial failures included', () => {
    const answer = { state: {}, batchItemFailures: [{ itemIdentifier: '301' }] };
    expect(requireWindowState(answer)).toBe(answer);
  });

  it.each([
    ['no state', { batchItemFailures: [] }],
    ['a state that is not an object', { state: 'x', batchItemFailures: [] }],
    ['no answer', undefined],
  ])('counts an answer with %s as a failed invocation', (_, answer) => {
    expect(() => requireWindowState(answer)).toThrow(/without a state object.*failed invocation/);
  });
});
