import type { _Record as KinesisRecord } from '@aws-sdk/client-kinesis';
import type { KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';

/** Lambda's synchronous invocation payload limit: a batch is cut before it would exceed it. */
export const maxInvokePayloadBytes = 6 * 1024 * 1024;

// `{"Records":[` + `]}`: what an event adds around its records.
const eventEnvelopeBytes = Buffer.byteLength(JSON.stringify({ Records: [] }));

/** A record read from a shard, already in the shape the function receives. */
export interface ShardRecord {
  readonly shardId: string;
  readonly sequenceNumber: string;
  readonly partitionKey: string;
  /** ApproximateArrivalTimestamp in milliseconds since the epoch. */
  readonly arrivalMs: number;
  readonly eventRecord: KinesisStreamRecord;
  /** Bytes of `eventRecord` as JSON in the event, separator included. */
  readonly payloadBytes: number;
}

/** What every record of a mapping shares. */
export interface EventContext {
  readonly awsRegion: string;
  readonly eventSourceArn: string;
  readonly invokeIdentityArn: string;
}

/** Turns a GetRecords record into the record Lambda puts in the event (with-kinesis.html, "Example event"). */
export function toShardRecord(shardId: string, record: KinesisRecord, context: EventContext): ShardRecord {
  const sequenceNumber = required(record.SequenceNumber, 'SequenceNumber');
  const partitionKey = required(record.PartitionKey, 'PartitionKey');
  const arrivalMs = record.ApproximateArrivalTimestamp?.getTime() ?? 0;
  const eventRecord: KinesisStreamRecord = {
    kinesis: {
      kinesisSchemaVersion: '1.0',
      partitionKey,
      sequenceNumber,
      data: Buffer.from(record.Data ?? new Uint8Array()).toString('base64'),
      // Lambda gives seconds with a fraction, not milliseconds.
      approximateArrivalTimestamp: arrivalMs / 1000,
    },
    eventSource: 'aws:kinesis',
    eventVersion: '1.0',
    eventID: `${shardId}:${sequenceNumber}`,
    eventName: 'aws:kinesis:record',
    invokeIdentityArn: context.invokeIdentityArn,
    awsRegion: context.awsRegion,
    eventSourceARN: context.eventSourceArn,
  };
  // +1 for the comma between records; overestimating by one byte per batch is harmless.
  const payloadBytes = Buffer.byteLength(JSON.stringify(eventRecord)) + 1;
  return { shardId, sequenceNumber, partitionKey, arrivalMs, eventRecord, payloadBytes };
}

/** The event for one batch. Records are copied so that a function mutating its event cannot change a retry. */
export function buildEvent(records: readonly ShardRecord[]): KinesisStreamEvent {
  return { Records: records.map((record) => structuredClone(record.eventRecord)) };
}

/** Size of the event of `records` as JSON, near enough to apply the 6 MB limit. */
export function eventPayloadBytes(records: readonly ShardRecord[]): number {
  return records.reduce((total, record) => total + record.payloadBytes, eventEnvelopeBytes);
}

/** Whether one more record still fits in a batch of `currentBytes` (as given by {@link eventPayloadBytes}). */
export function fitsInPayload(currentBytes: number, record: ShardRecord): boolean {
  return currentBytes + record.payloadBytes <= maxInvokePayloadBytes;
}

function required(value: string | undefined, name: string): string {
  if (value === undefined) throw new TypeError(`GetRecords returned a record without ${name}`);
  return value;
}
