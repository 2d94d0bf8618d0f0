import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';

/** A user record as the KPL takes it. */
export interface KplUserRecord {
  readonly partitionKey: string;
  readonly explicitHashKey?: string;
  readonly data: Uint8Array | string;
}

interface RecordAggregator {
  addUserRecord(record: { partitionKey: string; explicitHashKey?: string; data: Buffer }): void;
  build(): { partitionKey: string; data: Buffer } | undefined;
}

// aws-kinesis-agg is CommonJS, and its typings leave out RecordAggregator and need the v2 SDK's types.
const { RecordAggregator } = createRequire(import.meta.url)('aws-kinesis-agg') as {
  RecordAggregator: new () => RecordAggregator;
};

/**
 * One KPL aggregate of the user records, built by aws-kinesis-agg (awslabs/kinesis-aggregation, the
 * KPL's format): the Kinesis record's data, and the partition key it is put with (the first record's).
 */
export function kplAggregate(records: readonly KplUserRecord[]): { partitionKey: string; data: Buffer } {
  const aggregator = new RecordAggregator();
  for (const record of records) {
    aggregator.addUserRecord({
      partitionKey: record.partitionKey,
      ...(record.explicitHashKey !== undefined && { explicitHashKey: record.explicitHashKey }),
      data: Buffer.from(record.data),
    });
  }
  const built = aggregator.build();
  if (built === undefined) throw new Error('an aggregate needs at least one user record');
  return built;
}

/** An aggregate with the given protobuf body and a correct digest: for bodies the KPL never writes. */
export function aggregateOfBody(body: Uint8Array): Buffer {
  const magic = Buffer.from('f3899ac2', 'hex');
  return Buffer.concat([magic, body, createHash('md5').update(body).digest()]);
}
