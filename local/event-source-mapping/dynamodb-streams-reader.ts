import {
  DescribeStreamCommand,
  type DynamoDBStreamsClient,
  type _Record as StreamRecord,
  GetRecordsCommand as StreamsGetRecordsCommand,
  GetShardIteratorCommand as StreamsGetShardIteratorCommand,
} from '@aws-sdk/client-dynamodb-streams';
import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  type KinesisClient,
  type _Record as KinesisRecord,
  ListShardsCommand,
  type Shard,
} from '@aws-sdk/client-kinesis';
import type { DynamoDBRecord, KinesisStreamEvent } from 'aws-lambda';
import {
  type DynamoDbStreamWindowEvent,
  TABLE_END_OF_INPUT_EVENT,
  TABLE_STREAM_TUMBLING_WINDOW_SECONDS,
} from '../../shared/runtime/dynamodb-stream-event.js';

/** DynamoDB Streams answers at most 1,000 records per GetRecords (Kinesis 10,000). */
const maxStreamsGetRecords = 1000;

/** A table's stream as the Kinesis client the mapping reads, and the end of the run's input on it. */
export interface TableStreamInput {
  readonly kinesis: KinesisClient;
  /**
   * The run's writes to the table are done: each open shard, once read to its tip, gives one more
   * record, the end-of-input mark (TABLE_END_OF_INPUT_EVENT), after its last change.
   */
  endInput(): void;
}

/**
 * A table's stream (DynamoDB Streams) read through the calls the local event source mapping makes
 * to Kinesis: DescribeStream for ListShards, and GetShardIterator and GetRecords, which both APIs
 * share. Both have shards with parents, iterators per shard and sequence numbers, and Lambda polls
 * them with the same batching, retry, bisect and partial batch response rules (with-ddb.html), so the
 * mapping's shard, lineage and retry logic is reused as it is. Each stream record travels as a
 * Kinesis record whose data is the record Lambda puts in a DynamoDB stream event;
 * {@link toDynamoDbStreamEvent} turns the mapping's event back into that event.
 *
 * A bounded run ends a Kinesis source by writing END_OF_INPUT_DATA on its shards; nothing but
 * DynamoDB writes a table's stream, so here the mark is added by the reader (`endInput`): it goes
 * through the mapping as any record (batches, retries, checkpoints, kills), at the sequence number
 * after the shard's last change.
 */
export function dynamoDbStreamAsKinesis(
  streams: DynamoDBStreamsClient,
  streamArn: string,
  context: { readonly awsRegion: string },
): TableStreamInput {
  const marks = new EndOfInputMarks();
  const send = async (command: unknown, options?: { abortSignal?: AbortSignal }): Promise<unknown> => {
    const abort = { abortSignal: options?.abortSignal };
    if (command instanceof ListShardsCommand) {
      return { Shards: await describeAll(streams, streamArn, options?.abortSignal) };
    }
    if (command instanceof GetShardIteratorCommand) {
      const input = command.input;
      const shardId = input.ShardId ?? '';
      const position = marks.startAfter(
        shardId,
        input.ShardIteratorType ?? 'TRIM_HORIZON',
        input.StartingSequenceNumber,
      );
      const output = await streams.send(
        new StreamsGetShardIteratorCommand({
          StreamArn: streamArn,
          ShardId: shardId,
          ShardIteratorType: position.type as never,
          ...(position.after !== undefined && { SequenceNumber: position.after }),
        }),
        abort,
      );
      if (output.ShardIterator !== undefined) marks.noteIterator(output.ShardIterator, shardId);
      return { ShardIterator: output.ShardIterator };
    }
    if (command instanceof GetRecordsCommand) {
      const iterator = command.input.ShardIterator ?? '';
      const limit = Math.min(maxStreamsGetRecords, command.input.Limit ?? maxStreamsGetRecords);
      const output = await streams.send(new StreamsGetRecordsCommand({ ShardIterator: iterator, Limit: limit }), abort);
      const records = (output.Records ?? []).map((record) => asKinesisRecord(record, streamArn, context.awsRegion));
      const shardId = marks.follow(iterator, output.NextShardIterator, records);
      // Only at the tip of an open shard: a closed shard's children carry the later changes.
      const mark =
        records.length === 0 && output.NextShardIterator !== undefined && shardId !== undefined
          ? marks.take(shardId, streamArn, context.awsRegion)
          : undefined;
      return { Records: mark === undefined ? records : [mark], NextShardIterator: output.NextShardIterator };
    }
    throw new Error(`a DynamoDB stream cannot answer ${(command as object).constructor.name}`);
  };
  return {
    kinesis: { send, destroy: () => undefined } as unknown as KinesisClient,
    endInput: () => marks.end(),
  };
}

/**
 * Where each shard's reading stands, for the end-of-input marks: the shard of each iterator, the
 * last sequence number read in each shard, and the marks given. A mark's sequence number is the
 * last change's plus one (DynamoDB gives the next change a higher one; the run writes none after
 * its end), and an iterator asked for after a mark is one after the change before it.
 */
class EndOfInputMarks {
  #ended = false;
  readonly #shardOfIterator = new Map<string, string>();
  readonly #lastRead = new Map<string, string>();
  /** Each mark's sequence number, by shard, and what was read before it (undefined: nothing). */
  readonly #given = new Map<string, { readonly sequenceNumber: string; readonly after: string | undefined }>();

  end(): void {
    this.#ended = true;
  }

  /** The position to ask DynamoDB Streams for, in place of one after a mark (which it does not know). */
  startAfter(shardId: string, type: string, after: string | undefined): { type: string; after?: string } {
    if (type !== 'AFTER_SEQUENCE_NUMBER' || after === undefined) return { type };
    const given = this.#given.get(shardId);
    if (given?.sequenceNumber !== after) {
      this.#lastRead.set(shardId, after);
      return { type, after };
    }
    // Nothing was read before the mark: the run's input was all read at its end, so the tip is where to go on.
    return given.after === undefined ? { type: 'LATEST' } : { type, after: given.after };
  }

  noteIterator(iterator: string, shardId: string): void {
    this.#shardOfIterator.set(iterator, shardId);
  }

  /** Moves the iterator's shard to the next iterator and notes the last record read; returns the shard. */
  follow(iterator: string, next: string | undefined, records: readonly KinesisRecord[]): string | undefined {
    const shardId = this.#shardOfIterator.get(iterator);
    this.#shardOfIterator.delete(iterator);
    if (shardId === undefined) return undefined;
    if (next !== undefined) this.#shardOfIterator.set(next, shardId);
    const last = records.at(-1)?.SequenceNumber;
    if (last !== undefined) this.#lastRead.set(shardId, last);
    return shardId;
  }

  /** The shard's end-of-input mark, once, after the input ended. */
  take(shardId: string, streamArn: string, awsRegion: string): KinesisRecord | undefined {
    if (!this.#ended || this.#given.has(shardId)) return undefined;
    const after = this.#lastRead.get(shardId);
    const sequenceNumber = after === undefined ? '0' : (BigInt(after) + 1n).toString().padStart(after.length, '0');
    this.#given.set(shardId, { sequenceNumber, after });
    const now = new Date();
    const mark: DynamoDBRecord = {
      eventID: TABLE_END_OF_INPUT_EVENT,
      eventName: TABLE_END_OF_INPUT_EVENT as DynamoDBRecord['eventName'],
      eventSource: 'aws:dynamodb',
      awsRegion,
      eventSourceARN: streamArn,
      dynamodb: { SequenceNumber: sequenceNumber, ApproximateCreationDateTime: now.getTime() / 1000 },
    };
    return {
      SequenceNumber: sequenceNumber,
      PartitionKey: TABLE_END_OF_INPUT_EVENT,
      ApproximateArrivalTimestamp: now,
      Data: Buffer.from(JSON.stringify(mark)),
    };
  }
}

async function describeAll(streams: DynamoDBStreamsClient, streamArn: string, abort?: AbortSignal): Promise<Shard[]> {
  const shards: Shard[] = [];
  let start: string | undefined;
  do {
    const { StreamDescription } = await streams.send(
      new DescribeStreamCommand({ StreamArn: streamArn, ...(start !== undefined && { ExclusiveStartShardId: start }) }),
      { abortSignal: abort },
    );
    for (const shard of StreamDescription?.Shards ?? []) {
      shards.push({
        ShardId: shard.ShardId,
        ...(shard.ParentShardId !== undefined && { ParentShardId: shard.ParentShardId }),
        HashKeyRange: { StartingHashKey: '0', EndingHashKey: '0' },
        SequenceNumberRange: {
          StartingSequenceNumber: shard.SequenceNumberRange?.StartingSequenceNumber,
          EndingSequenceNumber: shard.SequenceNumberRange?.EndingSequenceNumber,
        },
      } as Shard);
    }
    start = StreamDescription?.LastEvaluatedShardId;
  } while (start !== undefined);
  return shards;
}

/** The record as Lambda's event has it (with-ddb.html, "Example event"): DynamoDB JSON, binary as base64, seconds. */
function asKinesisRecord(record: StreamRecord, streamArn: string, awsRegion: string): KinesisRecord {
  const dynamodb = record.dynamodb ?? {};
  const created = dynamodb.ApproximateCreationDateTime ?? new Date(0);
  const eventRecord: DynamoDBRecord = {
    eventID: record.eventID,
    eventName: record.eventName,
    eventVersion: record.eventVersion ?? '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion,
    dynamodb: {
      ...(JSON.parse(JSON.stringify(dynamodb, binaryAsBase64)) as object),
      ApproximateCreationDateTime: created.getTime() / 1000,
    },
    eventSourceARN: streamArn,
  };
  return {
    SequenceNumber: dynamodb.SequenceNumber,
    PartitionKey: JSON.stringify(dynamodb.Keys ?? {}),
    ApproximateArrivalTimestamp: created,
    Data: Buffer.from(JSON.stringify(eventRecord)),
  };
}

function binaryAsBase64(_key: string, value: unknown): unknown {
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  // JSON.stringify hands a Buffer to the replacer already turned into { type: 'Buffer', data }.
  const buffer = value as { type?: unknown; data?: unknown };
  if (buffer?.type === 'Buffer' && Array.isArray(buffer.data)) return Buffer.from(buffer.data).toString('base64');
  return value;
}

/**
 * The mapping's event for a table's stream, as the DynamoDB stream event Lambda sends through the
 * mapping the construct builds, with a tumbling window (services-ddb-windows.html): the records, and
 * the batch's shard, stream ARN, window and state. The window is the clock's current one of
 * `windowSeconds`; this mapping makes no final invokes (Lambda's may carry no records, which the
 * stage answers without running: they carry nothing the stage uses), and the stage's `state` answer
 * is read as any partial batch response. A bounded run's end comes as a record instead, the
 * end-of-input mark ({@link dynamoDbStreamAsKinesis}).
 */
export function toDynamoDbStreamEvent(
  event: KinesisStreamEvent,
  now: number = Date.now(),
  windowSeconds: number = TABLE_STREAM_TUMBLING_WINDOW_SECONDS,
): DynamoDbStreamWindowEvent {
  const records = event.Records.map(
    (record) => JSON.parse(Buffer.from(record.kinesis.data, 'base64').toString('utf8')) as DynamoDBRecord,
  );
  const first = event.Records[0];
  const windowMs = windowSeconds * 1000;
  const start = Math.floor(now / windowMs) * windowMs;
  return {
    Records: records,
    // A Kinesis event record's eventID is `<shard id>:<sequence number>`.
    ...(first !== undefined && { shardId: first.eventID.split(':')[0] as string }),
    ...(records[0]?.eventSourceARN !== undefined && { eventSourceARN: records[0].eventSourceARN }),
    window: { start: new Date(start).toISOString(), end: new Date(start + windowMs).toISOString() },
    state: {},
    isFinalInvokeForWindow: false,
    isWindowTerminatedEarly: false,
  };
}

/**
 * Lambda's reading of the answer to a windowed event: one without `state` (an object) is a failed
 * invocation (services-ddb-windows.html), retried as any function error. Returns the answer.
 */
export function requireWindowState<R>(response: R): R {
  const state = (response as { state?: unknown } | null | undefined)?.state;
  if (typeof state !== 'object' || state === null || Array.isArray(state)) {
    throw new Error(
      `the function answered a tumbling-window event without a state object (${JSON.stringify(response) ?? String(response)}): Lambda counts that as a failed invocation`,
    );
  }
  return response;
}
