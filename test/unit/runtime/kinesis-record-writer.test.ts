import type { KinesisClient, PutRecordsCommand, PutRecordsCommandOutput } from '@aws-sdk/client-kinesis';
import { describe, expect, it } from 'vitest';
import { KinesisRecordWriter } from '../../../shared/runtime/io/kinesis-record-writer.js';
import type { OutputRecord } from '../../../shared/runtime/records.js';

type Put = { stream: string; keys: string[] };

/** A Kinesis client whose PutRecords answers come from a script: per call, which entries fail. */
function scriptedClient(failures: (call: number, entries: string[]) => boolean[] | Error): {
  client: KinesisClient;
  calls: Put[];
} {
  const calls: Put[] = [];
  const client = {
    async send(command: PutRecordsCommand): Promise<Partial<PutRecordsCommandOutput>> {
      const entries = (command.input.Records ?? []).map((r) => Buffer.from(r.Data ?? new Uint8Array()).toString());
      calls.push({ stream: command.input.StreamName ?? '', keys: entries });
      const outcome = failures(calls.length, entries);
      if (outcome instanceof Error) throw outcome;
      return {
        FailedRecordCount: outcome.filter(Boolean).length,
        Records: outcome.map((failed, i) =>
          failed
            ? { ErrorCode: 'ProvisionedThroughputExceededException', ErrorMessage: 'slow down' }
            : { ShardId: 'shardId-000000000000', SequenceNumber: String(i) },
        ),
      };
    },
  } as unknown as KinesisClient;
  return { client, calls };
}

const out = (stream: string, data: string, origin = data): OutputRecord => ({
  stream,
  partitionKey: 'k',
  data,
  origin,
});
const fastBackoff = { baseMs: 1, capMs: 2 };

describe('KinesisRecordWriter', () => {
  it('retries exactly the entries PutRecords reports as failed until they are written', async () => {
    // Prepare: the first call fails b and d, the second fails d again, the third succeeds.
    const { client, calls } = scriptedClient((call, entries) =>
      entries.map((e) => (call === 1 && (e === 'b' || e === 'd')) || (call === 2 && e === 'd')),
    );
    const writer = new KinesisRecordWriter({ client, streamPrefix: 'dev-', backoff: fastBackoff, safetyMarginMs: 0 });

    // Act
    const outcome = await writer.write(
      ['a', 'b', 'c', 'd'].map((d) => out('s', d)),
      Date.now() + 10_000,
    );

    // Assess
    expect(calls).toEqual([
      { stream: 'dev-s', keys: ['a', 'b', 'c', 'd'] },
      { stream: 'dev-s', keys: ['b', 'd'] },
      { stream: 'dev-s', keys: ['d'] },
    ]);
    expect(outcome).toEqual({ failed: [], requests: 3 });
  });

  it('gives back what is still unwritten when the deadline leaves no time to retry', async () => {
    const { client } = scriptedClient((_, entries) => entries.map((e) => e === 'b'));
    const writer = new KinesisRecordWriter({
      client,
      backoff: { baseMs: 1000, capMs: 1000, random: () => 1 },
      safetyMarginMs: 0,
    });

    const outcome = await writer.write([out('s', 'a'), out('s', 'b')], Date.now() + 500);

    expect(outcome.failed.map((r) => r.data)).toEqual(['b']);
  });

  it('retries a whole call that failed with a retryable error, and surfaces one that is not', async () => {
    const throttled = Object.assign(new Error('throttled'), { name: 'ProvisionedThroughputExceededException' });
    const retried = scriptedClient((call, entries) => (call === 1 ? throttled : entries.map(() => false)));
    await expect(
      new KinesisRecordWriter({ client: retried.client, backoff: fastBackoff, safetyMarginMs: 0 }).write(
        [out('s', 'a')],
        Date.now() + 5000,
      ),
    ).resolves.toEqual({ failed: [], requests: 2 });

    const missing = Object.assign(new Error('Stream s not found'), { name: 'ResourceNotFoundException' });
    const broken = scriptedClient(() => missing);
    await expect(
      new KinesisRecordWriter({ client: broken.client, backoff: fastBackoff }).write(
        [out('s', 'a')],
        Date.now() + 5000,
      ),
    ).rejects.toThrow('Stream s not found');
  });

  it('splits calls at 500 records and 5 MiB, keeping the order of a stream', async () => {
    const { client, calls } = scriptedClient((_, entries) => entries.map(() => false));
    const writer = new KinesisRecordWriter({ client });
    const small = Array.from({ length: 1201 }, (_, i) => out('small', String(i)));
    const big = Array.from({ length: 12 }, (_, i) => out('big', `${i}`.padEnd(1024 * 1024, 'x')));

    await writer.write([...small, ...big], Date.now() + 5000);

    const smallCalls = calls.filter((c) => c.stream === 'small');
    expect(smallCalls.map((c) => c.keys.length)).toEqual([500, 500, 201]);
    expect(smallCalls.flatMap((c) => c.keys)).toEqual(small.map((r) => r.data));
    expect(calls.filter((c) => c.stream === 'big').map((c) => c.keys.length)).toEqual([4, 4, 4]);
  });

  it('writes the records of a lane strictly in order: one waits until the one before it is in', async () => {
    // Prepare: lane x's first record fails twice; lane y and the loose record go through at once.
    const { client, calls } = scriptedClient((call, entries) => entries.map((e) => e === 'x1' && call <= 2));
    const writer = new KinesisRecordWriter({ client, backoff: fastBackoff, safetyMarginMs: 0 });
    // A lane is `<stream>/<shard id>`; the scripted client writes everything to shard 0.
    const laned = (data: string, lane: string): OutputRecord => ({
      ...out('s', data),
      lane: `${lane}/shardId-000000000000`,
    });

    // Act
    const outcome = await writer.write(
      [laned('x1', 'x'), laned('x2', 'x'), laned('y1', 'y'), laned('y2', 'y'), out('s', 'loose')],
      Date.now() + 10_000,
    );

    // Assess: x2 is never sent before x1 is in, and y does not wait for x.
    expect(outcome.failed).toEqual([]);
    expect(calls.map((c) => c.keys)).toEqual([['loose', 'x1', 'y1'], ['x1', 'y2'], ['x1'], ['x2']]);
  });

  it('gives back the rest of a lane when its head cannot be written in time', async () => {
    const { client } = scriptedClient((_, entries) => entries.map((e) => e === 'x1'));
    const writer = new KinesisRecordWriter({ client, backoff: { baseMs: 50, capMs: 50 }, safetyMarginMs: 0 });
    const laned = (data: string): OutputRecord => ({ ...out('s', data), lane: 's/shardId-000000000000' });

    const outcome = await writer.write([laned('x1'), laned('x2'), laned('x3')], Date.now() + 120);

    expect(outcome.failed.map((r) => r.data)).toEqual(['x1', 'x2', 'x3']);
  });

  it('stops a lane whose record landed in another shard than its own (a stale shard list), and says so', async () => {
    // Prepare: the client writes everything to shard 0; lane b is meant for shard 1.
    const { client, calls } = scriptedClient((_, entries) => entries.map(() => false));
    const writer = new KinesisRecordWriter({ client, backoff: fastBackoff, safetyMarginMs: 0 });
    const laned = (data: string, shard: string): OutputRecord => ({ ...out('s', data), lane: `s/${shard}` });

    // Act
    const outcome = await writer.write(
      [laned('a1', 'shardId-000000000000'), laned('b1', 'shardId-000000000001'), laned('b2', 'shardId-000000000001')],
      Date.now() + 10_000,
    );

    // Assess: b1 was written where its consumer drops it; b2 is never sent; both are reported.
    expect(calls.map((c) => c.keys)).toEqual([['a1', 'b1']]);
    expect(outcome.failed.map((r) => r.data)).toEqual(['b1', 'b2']);
    expect(outcome.misrouted).toEqual(['s']);
  });
});
