import { type KinesisClient, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import type { KinesisStreamBatchResponse, KinesisStreamEvent } from 'aws-lambda';
import {
  type EventSourceMappingOptions,
  InMemoryCheckpointStore,
  KinesisEventSourceMapping,
} from '../../local/event-source-mapping/index.js';

/** Settings that make a local mapping react in milliseconds instead of seconds. */
export const fastPolling = { pollIntervalMs: 20, shardDiscoveryIntervalMs: 50, retryDelayMs: 20 } as const;

export interface TestRecord {
  readonly key: string;
  readonly data: string;
  /** Sends the record to the shard owning this hash key, whatever its partition key. */
  readonly explicitHashKey?: string;
}

export interface PutResult extends TestRecord {
  readonly shardId: string;
  readonly sequenceNumber: string;
}

/** `count` records `r<offset>`, `r<offset+1>`..., keyed by `keyOf(index)` (3 keys by default). */
export function makeRecords(count: number, keyOf = (index: number) => `k${index % 3}`, offset = 0): TestRecord[] {
  return Array.from({ length: count }, (_, index) => ({ key: keyOf(index + offset), data: `r${index + offset}` }));
}

/** Puts records in order (PutRecords keeps the order of a request within a shard). */
export async function putRecords(
  kinesis: KinesisClient,
  streamName: string,
  records: readonly TestRecord[],
): Promise<PutResult[]> {
  const results: PutResult[] = [];
  for (let start = 0; start < records.length; start += 500) {
    const chunk = records.slice(start, start + 500);
    const output = await kinesis.send(
      new PutRecordsCommand({
        StreamName: streamName,
        Records: chunk.map((record) => ({
          PartitionKey: record.key,
          Data: Buffer.from(record.data),
          ExplicitHashKey: record.explicitHashKey,
        })),
      }),
    );
    if (output.FailedRecordCount) throw new Error(`${output.FailedRecordCount} records failed to be put`);
    chunk.forEach((record, index) => {
      const entry = output.Records?.[index];
      if (!entry?.ShardId || !entry.SequenceNumber) throw new Error('PutRecords returned no sequence number');
      results.push({ ...record, shardId: entry.ShardId, sequenceNumber: entry.SequenceNumber });
    });
  }
  return results;
}

/** One call of the function, as the test saw it. */
export interface Invocation {
  readonly event: KinesisStreamEvent;
  readonly shardId: string;
  readonly data: readonly string[];
  readonly keys: readonly string[];
  readonly sequenceNumbers: readonly string[];
  readonly startedAtMs: number;
  endedAtMs: number | undefined;
}

export type Responder = (
  invocation: Invocation,
  callIndex: number,
) => KinesisStreamBatchResponse | undefined | unknown | Promise<KinesisStreamBatchResponse | undefined | unknown>;

/** A fake function that records every call; `respond` decides its answer (throw to fail the batch). */
export function recordingInvoker(respond: Responder = () => undefined): {
  readonly invoke: EventSourceMappingOptions['invoke'];
  readonly calls: Invocation[];
  /** Data of every successful call, in call order. */
  readonly delivered: () => string[];
} {
  const calls: Invocation[] = [];
  const succeeded = new Set<Invocation>();
  const invoke = async (event: KinesisStreamEvent): Promise<KinesisStreamBatchResponse | undefined> => {
    const records = event.Records;
    const shardIds = new Set(records.map((record) => record.eventID.split(':')[0] ?? ''));
    if (shardIds.size !== 1) throw new Error(`a batch mixes shards: ${[...shardIds].join(', ')}`);
    const invocation: Invocation = {
      event,
      shardId: [...shardIds][0] ?? '',
      data: records.map((record) => Buffer.from(record.kinesis.data, 'base64').toString()),
      keys: records.map((record) => record.kinesis.partitionKey),
      sequenceNumbers: records.map((record) => record.kinesis.sequenceNumber),
      startedAtMs: Date.now(),
      endedAtMs: undefined,
    };
    calls.push(invocation);
    try {
      const response = await respond(invocation, calls.length - 1);
      succeeded.add(invocation);
      return response as KinesisStreamBatchResponse | undefined;
    } finally {
      invocation.endedAtMs = Date.now();
    }
  };
  return { invoke, calls, delivered: () => calls.filter((call) => succeeded.has(call)).flatMap((call) => call.data) };
}

/** A checkpoint store that also keeps every write, in order. */
export class RecordingCheckpointStore extends InMemoryCheckpointStore {
  readonly puts: { shardId: string; sequenceNumber: string }[] = [];

  override async put(shardId: string, sequenceNumber: string): Promise<void> {
    this.puts.push({ shardId, sequenceNumber });
    await super.put(shardId, sequenceNumber);
  }
}

/** Creates mappings and stops every one of them in `stopAll` (call it in afterEach). */
export function mappingFactory(kinesis: () => KinesisClient): {
  start: (
    options: Omit<EventSourceMappingOptions, 'kinesis'> & Partial<Pick<EventSourceMappingOptions, 'kinesis'>>,
  ) => Promise<KinesisEventSourceMapping>;
  stopAll: () => Promise<void>;
} {
  const mappings: KinesisEventSourceMapping[] = [];
  return {
    start: async (options) => {
      const mapping = new KinesisEventSourceMapping({ kinesis: kinesis(), ...fastPolling, ...options });
      mappings.push(mapping);
      mapping.start();
      await mapping.ready();
      return mapping;
    },
    stopAll: async () => {
      await Promise.all(mappings.splice(0).map((mapping) => mapping.stop()));
    },
  };
}

/** A promise with its resolve function, to hold an invocation open. */
export function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve: () => void = () => undefined;
  const promise = new Promise<void>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
