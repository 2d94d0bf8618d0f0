import { type ShardRecord, toShardRecord } from '../../../../local/event-source-mapping/index.js';

const context = {
  awsRegion: 'us-east-1',
  eventSourceArn: 'arn:aws:kinesis:us-east-1:000000000000:stream/s',
  invokeIdentityArn: 'arn:aws:iam::000000000000:role/r',
};

/** Realistic 56-digit sequence numbers: beyond Number's precision, as in Kinesis. */
export function sequenceNumber(index: number): string {
  return (49590338271490256608559692538361571095921575989136588898n + BigInt(index) * 2n ** 64n).toString();
}

/** A shard record with sequence number `sequenceNumber(index)`, data `r<index>`, arrival `arrivalMs`. */
export function shardRecord(
  index: number,
  options: { key?: string; arrivalMs?: number; data?: Uint8Array } = {},
): ShardRecord {
  return toShardRecord(
    'shardId-000000000000',
    {
      SequenceNumber: sequenceNumber(index),
      PartitionKey: options.key ?? `k${index % 3}`,
      Data: options.data ?? Buffer.from(`r${index}`),
      ApproximateArrivalTimestamp: new Date(options.arrivalMs ?? 1_700_000_000_000 + index),
    },
    context,
  );
}

export function shardRecords(count: number): ShardRecord[] {
  return Array.from({ length: count }, (_, index) => shardRecord(index));
}

export function indexes(records: readonly ShardRecord[]): number[] {
  return records.map((record) => Number(Buffer.from(record.eventRecord.kinesis.data, 'base64').toString().slice(1)));
}
