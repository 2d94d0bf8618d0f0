import type { KinesisClient, PutRecordsCommand, PutRecordsResultEntry } from '@aws-sdk/client-kinesis';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { pipeline } from '../../../shared/index.js';
import { DeadLetterReasons } from '../../../shared/operators/record-errors.js';
import { KinesisRecordWriter } from '../../../shared/runtime/io/kinesis-record-writer.js';
import { MemoryRecordWriter } from '../../../shared/runtime/io/memory-record-writer.js';
import { MemoryWindowStore } from '../../../shared/runtime/io/memory-window-store.js';
import type { InputRecord } from '../../../shared/runtime/records.js';
import { StageRunner } from '../../../shared/runtime/stage-runner.js';
import { CONTROL_PARTITION_KEY, END_OF_INPUT_DATA } from '../../../shared/runtime/watermark-records.js';
import { seededRandom } from '../../../shared/util/random.js';
import { tumbling } from '../../../shared/windows/index.js';
import { expectIdWindows, IdEvent, ids } from '../../helpers/id-windows.js';
import { runInProcess } from '../../helpers/in-process-pipeline.js';
import { aggregateOfBody, kplAggregate } from '../../helpers/kpl.js';
import { deliver, UnreliableKinesis } from '../../helpers/unreliable-kinesis.js';

const Click = z.object({ user: z.string(), page: z.string() });

function clicksToSink() {
  return pipeline('kpl')
    .source('clicks', { schema: Click })
    .map((c) => ({ page: c.page }))
    .sink('pages');
}

function windowedIds(shuffleShards: number) {
  return pipeline('p')
    .source('events', { schema: IdEvent, eventTime: (e) => e.t, maxOutOfOrderness: 1000 })
    .keyBy((e) => e.key, { name: 'by-key', shards: shuffleShards })
    .window(tumbling(100))
    .aggregate(ids)
    .sink('out');
}

/** One shard of the source stream: the events in KPL aggregates of the given sizes, then the end of input. */
function aggregatedShard(events: readonly IdEvent[], sizes: readonly number[]): InputRecord[] {
  const records: InputRecord[] = [];
  const shardId = 'shardId-000000000000';
  let next = 0;
  for (let i = 0; next < events.length; i += 1) {
    const size = Math.max(1, sizes[i % sizes.length] ?? 1);
    const users = events.slice(next, next + size).map((e) => ({ partitionKey: e.key, data: JSON.stringify(e) }));
    next += size;
    const { partitionKey, data } = kplAggregate(users);
    records.push({
      position: { stream: 'events', shardId, sequenceNumber: String(1_000_000 + i * 7), partitionKey, arrivalTime: 0 },
      data,
    });
  }
  records.push({
    position: {
      stream: 'events',
      shardId,
      sequenceNumber: String(1_000_000 + records.length * 7),
      partitionKey: CONTROL_PARTITION_KEY,
      arrivalTime: 0,
    },
    data: Buffer.from(END_OF_INPUT_DATA),
  });
  return records;
}

/**
 * Kinesis PutRecords for one single-shard stream that fails each entry whose data holds `failing`
 * (a ProvisionedThroughputExceededException of that entry alone), until told to stop, and keeps the others.
 */
class FailingKinesis {
  readonly written: Uint8Array[] = [];
  failures = 0;

  constructor(public failing: string | undefined) {}

  async send(command: PutRecordsCommand): Promise<{ FailedRecordCount: number; Records: PutRecordsResultEntry[] }> {
    const results: PutRecordsResultEntry[] = [];
    for (const entry of command.input.Records ?? []) {
      const data = entry.Data as Uint8Array;
      if (this.failing !== undefined && Buffer.from(data).toString().includes(this.failing)) {
        this.failures += 1;
        results.push({ ErrorCode: 'ProvisionedThroughputExceededException', ErrorMessage: 'Rate exceeded for shard' });
        continue;
      }
      this.written.push(data);
      results.push({ SequenceNumber: String(2000 + this.written.length), ShardId: 'shardId-000000000000' });
    }
    return { FailedRecordCount: results.filter((r) => r.ErrorCode !== undefined).length, Records: results };
  }
}

/** The source stage of `windowedIds`, writing through a fake Kinesis client without backoff. */
function sourceStageOver(p: ReturnType<typeof windowedIds>, kinesis: object, maxPackBytes: number): StageRunner {
  return new StageRunner({
    pipeline: p,
    stageId: 'from-events',
    maxPackBytes,
    writer: new KinesisRecordWriter({
      client: kinesis as KinesisClient,
      backoff: { baseMs: 0, capMs: 0 },
      safetyMarginMs: 0,
    }),
  });
}

describe('a source stage reads KPL aggregates', () => {
  it('runs each user record on its own and dead-letters the bad ones alone, with their sub-sequence numbers', async () => {
    // Prepare: three valid clicks around a schema violation and a record that is not JSON.
    const aggregate = kplAggregate([
      { partitionKey: 'u1', data: JSON.stringify({ user: 'u1', page: '/a' }) },
      { partitionKey: 'u2', data: JSON.stringify({ user: 'u2' }) },
      { partitionKey: 'u3', data: JSON.stringify({ user: 'u3', page: '/c' }) },
      { partitionKey: 'u4', data: 'not json' },
      { partitionKey: 'u5', data: JSON.stringify({ user: 'u5', page: '/e' }) },
    ]);

    // Act
    const run = await runInProcess(clicksToSink(), {
      clicks: [{ partitionKey: aggregate.partitionKey, sequenceNumber: '4900', data: aggregate.data }],
    });

    // Assess
    expect(run.values('pages')).toEqual([{ page: '/a' }, { page: '/c' }, { page: '/e' }]);
    const letters = run.deadLetters();
    expect(
      letters.map((l) => [l.error.reason, l.correlationId, l.source.subSequenceNumber, l.source.partitionKey]),
    ).toEqual([
      [DeadLetterReasons.schemaViolation, 'clicks/shardId-000000000000/4900:1', 1, 'u2'],
      [DeadLetterReasons.malformedJson, 'clicks/shardId-000000000000/4900:3', 3, 'u4'],
    ]);
    // The letter keeps the user record's bytes, not the aggregate's.
    expect(Buffer.from(letters[1]?.payload ?? '', 'base64').toString()).toBe('not json');
    expect(run.responses.get('from-clicks')?.flatMap((r) => r.batchItemFailures)).toEqual([]);
  });

  it('dead-letters a corrupt aggregate once, as a whole, with its own reason', async () => {
    // Prepare: a bad MD5, a truncated protobuf, and a partition key index outside its table.
    const good = kplAggregate([{ partitionKey: 'u1', data: JSON.stringify({ user: 'u1', page: '/a' }) }]).data;
    const badDigest = Buffer.from(good);
    badDigest[badDigest.length - 1] = (badDigest[badDigest.length - 1] as number) ^ 0xff;
    const body = good.subarray(4, good.length - 16);
    const truncated = aggregateOfBody(body.subarray(0, body.length - 3));
    const badIndex = aggregateOfBody(Buffer.from([0x0a, 0x01, 0x61, 0x1a, 0x06, 0x08, 0x07, 0x1a, 0x02, 0x7b, 0x7d]));

    // Act
    const run = await runInProcess(clicksToSink(), {
      clicks: [badDigest, truncated, badIndex].map((data, i) => ({ sequenceNumber: String(100 + i), data })),
    });

    // Assess
    expect(run.values('pages')).toEqual([]);
    const letters = run.deadLetters();
    expect(letters.map((l) => [l.error.reason, l.correlationId, l.source.subSequenceNumber])).toEqual([
      [DeadLetterReasons.malformedAggregate, 'clicks/shardId-000000000000/100', undefined],
      [DeadLetterReasons.malformedAggregate, 'clicks/shardId-000000000000/101', undefined],
      [DeadLetterReasons.malformedAggregate, 'clicks/shardId-000000000000/102', undefined],
    ]);
    expect(letters.map((l) => l.error.message)).toEqual([
      expect.stringMatching(/KPL aggregate is corrupt: MD5 of the protobuf is/),
      expect.stringMatching(/KPL aggregate is corrupt: protobuf is truncated/),
      'KPL aggregate is corrupt: user record 0 has partition_key_index 7; the table has 1 keys',
    ]);
    expect(Buffer.from(letters[0]?.payload ?? '', 'base64')).toEqual(badDigest);
  });

  it('re-delivers the whole aggregate when the output of a middle user record fails, and the windows count each once', async () => {
    // Prepare: one aggregate of five events; the output of the third (sub-sequence 2) fails once.
    const events: IdEvent[] = ['a', 'b', 'a', 'b', 'a'].map((key, i) => ({ key, t: i * 10, id: `e${i}` }));
    const records = aggregatedShard(events, [5]);
    const aggregateSequence = records[0]?.position.sequenceNumber as string;
    const p = windowedIds(1);
    const kinesis = new FailingKinesis(`"id":"events/shardId-000000000000/${aggregateSequence}:2"`);
    // Packs of one envelope each, so that the failure hits the middle user record's output alone.
    const upstream = sourceStageOver(p, kinesis, 200);
    const sink = new MemoryRecordWriter();
    const store = new MemoryWindowStore();
    const downstream = new StageRunner({ pipeline: p, stageId: 'from-p-by-key', writer: sink, store });

    // Act: Lambda's partial batch response names the aggregate; the batch resumes from it.
    // The writer retries the failed entry until the invocation's deadline, then reports it.
    const first = await upstream.run(records, Date.now() + 300);
    kinesis.failing = undefined;
    const retry = await upstream.run(records, Date.now() + 60_000);
    // The shuffle stream's one shard, as the consumer reads it: both attempts' packs, in order.
    const shuffled = kinesis.written.map((data, i) => ({
      position: {
        stream: 'p-by-key',
        shardId: 'shardId-000000000000',
        sequenceNumber: String(2000 + i),
        partitionKey: 'p',
        arrivalTime: 0,
      },
      data,
    }));
    const consumed = await downstream.run(shuffled, Date.now() + 60_000);

    // Assess
    expect(kinesis.failures).toBeGreaterThan(0);
    expect(first.failedSequenceNumbers).toEqual([aggregateSequence]);
    expect(retry.failedSequenceNumbers).toEqual([]);
    // User records 0 and 1 were written by both attempts (the lane stops at the failed pack): skipped once.
    expect(consumed.report.duplicates).toBe(2);
    expectIdWindows(sink.values('out'), events, tumbling(100));
  });

  it('windows count each user record once under partial failures, retries and crashes of the source stage', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ key: fc.constantFrom('a', 'b', 'c'), t: fc.integer({ min: 0, max: 900 }) }), {
          minLength: 1,
          maxLength: 60,
        }),
        fc.array(fc.integer({ min: 1, max: 8 }), { minLength: 1, maxLength: 5 }),
        fc.integer(),
        async (raw, sizes, seed) => {
          // Prepare
          const events = raw.map((e, i) => ({ key: e.key, t: e.t + i * 5, id: `e${i}` }));
          const random = seededRandom(seed);
          const p = windowedIds(2);
          const kinesis = new UnreliableKinesis('p-by-key', 2, random);
          const upstream = sourceStageOver(p, kinesis, 400);
          const sink = new MemoryRecordWriter();
          const downstream = new StageRunner({
            pipeline: p,
            stageId: 'from-p-by-key',
            writer: sink,
            store: new MemoryWindowStore(),
          });

          // Act
          await deliver(upstream, aggregatedShard(events, sizes), random);
          for (const records of kinesis.shards) await deliver(downstream, records, random);

          // Assess
          expectIdWindows(sink.values('out'), events, tumbling(100));
        },
      ),
      { numRuns: 150 },
    );
  });
});
