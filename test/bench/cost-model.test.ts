import { describe, expect, it } from 'vitest';
import {
  ALL_LEVERS,
  BilledSqsQueue,
  chooseMode,
  DEFAULT_ASSUMPTIONS,
  DEFAULT_LEVERS,
  estimate,
  JOBS,
  type Job,
  type Measured,
  measure,
  type StageUse,
  type StreamTraffic,
  streamCostPerHour,
  withoutOneShardShuffles,
} from '../../bench/cost-model.js';
import { SqsDeadLetterSink } from '../../shared/runtime/io/sqs-dead-letter-sink.js';
import { deadLetter } from '../helpers/dead-letters.js';

const HOUR = 3600;

function stream(role: StreamTraffic['role'], records: number, shards = 1): StreamTraffic {
  return {
    records,
    bytes: records * 80,
    putPayloadUnits: records,
    roundedBytes: records * 1024,
    readers: 1,
    shards,
    role,
  };
}

function stage(stageId: string, input: string, outputs: string[], stateful: boolean): StageUse {
  return {
    pipeline: 'p',
    stageId,
    stateful,
    input,
    outputs,
    metrics: new Set(['RecordsIn', `${stageId}-op/OperatorRecordsIn`]),
    operatorLogBytes: 1000,
    invocations: HOUR,
    events: 10 * HOUR,
    cpuMs: HOUR,
    writeUnits: 5 * HOUR,
    readUnits: HOUR,
    dynamoRequests: HOUR,
  };
}

/** page-view-counts' shape at 10 events/s over an hour: source, shuffle, late output, sink, dead letters. */
function measured(sourceShards: number): Measured {
  return {
    job: 'page-view-counts',
    rate: 10,
    events: 10 * HOUR,
    seconds: HOUR,
    streams: new Map([
      ['clicks', stream('source', 10 * HOUR, sourceShards)],
      ['shuffle', stream('shuffle', HOUR)],
      ['late', stream('side-output', 0)],
      ['counts', stream('sink', HOUR)],
      ['dead', stream('dead-letter', 0)],
    ]),
    stages: [
      stage('from-clicks', 'clicks', ['shuffle', 'dead'], false),
      stage('from-shuffle', 'shuffle', ['counts', 'late', 'dead'], true),
    ],
    deadLetterMessages: 0,
    deadLetterRequests: 0,
    tracesByDefault: true,
  };
}

const job = JOBS.find((j) => j.name === 'page-view-counts');
if (job === undefined) throw new Error('no page-view-counts job');

describe('cost model', () => {
  it('prices a quiet one-shard stream cheaper provisioned, an over-provisioned one cheaper on demand', () => {
    const quiet = stream('source', 10 * HOUR);
    expect(chooseMode(quiet, HOUR, 'cheaper per stream')).toBe('provisioned');
    expect(streamCostPerHour(quiet, HOUR, 'provisioned').hours).toBeCloseTo(0.015);
    const overProvisioned = stream('source', 10 * HOUR, 20);
    expect(chooseMode(overProvisioned, HOUR, 'cheaper per stream')).toBe('on-demand');
    expect(chooseMode(overProvisioned, HOUR, 'provisioned')).toBe('provisioned');
  });

  it('leaves out a shuffle only behind a one-shard stream, fusing its reader into its writer', () => {
    const fused = withoutOneShardShuffles(measured(1));
    expect([...fused.streams.keys()]).not.toContain('shuffle');
    expect(fused.stages).toHaveLength(1);
    expect(fused.stages[0]).toMatchObject({
      stageId: 'from-clicks+from-shuffle',
      input: 'clicks',
      stateful: true,
      cpuMs: 2 * HOUR,
      writeUnits: 10 * HOUR,
    });
    expect(fused.stages[0]?.outputs).toEqual(['dead', 'counts', 'late']);

    const twoShards = withoutOneShardShuffles(measured(2));
    expect([...twoShards.streams.keys()]).toContain('shuffle');
    expect(twoShards.stages).toHaveLength(2);
  });

  it('charges the late and dead-letter streams the plan has, empty or not, and the shared streams to both sides', () => {
    const defaults = estimate(job, measured(1), DEFAULT_LEVERS);
    const streams = new Map([...measured(1).streams].filter(([name]) => name !== 'late' && name !== 'dead'));
    // Late records and dead letters in SQS: the plan has neither stream; 36 letters an hour in 4 requests.
    const inSqs = estimate(
      job,
      { ...measured(1), streams, deadLetterMessages: 36, deadLetterRequests: 4 },
      DEFAULT_LEVERS,
    );
    const total = (lines: readonly { perHour: number }[]) => lines.reduce((sum, line) => sum + line.perHour, 0);
    // Two empty one-shard streams: two shard-hours, against 4 SQS requests.
    expect(total(defaults.eddy) - total(inSqs.eddy)).toBeCloseTo(2 * 0.015 - (4 / 1e6) * 0.4, 9);
    // Input and sink: one shard each and a PUT payload unit per record, on both sides.
    expect(defaults.sharedStreamsPerHour).toBeCloseTo(2 * 0.015 + ((11 * HOUR) / 1e6) * 0.014, 9);
    expect(total(defaults.flink) - defaults.sharedStreamsPerHour).toBeCloseTo(2 * 0.11 + (50 * 0.1) / 730, 9);
  });

  it('costs no more with every lever than with the defaults, and drops X-Ray with tracing off', () => {
    const defaults = estimate(job, measured(1), DEFAULT_LEVERS);
    const all = estimate(job, measured(1), ALL_LEVERS);
    expect(all.eddyPerMillion).toBeLessThan(defaults.eddyPerMillion);
    expect(all.eddy.find((line) => line.item === 'X-Ray traces')?.perHour).toBe(0);
    expect(defaults.eddy.find((line) => line.item === 'X-Ray traces')?.perHour).toBeGreaterThan(0);
  });

  it("traces as EddyPipeline does when tracing is not given: not for a plan with profile: 'cost'", () => {
    const xray = (m: Measured, levers = DEFAULT_LEVERS) =>
      estimate(job, m, levers).eddy.find((line) => line.item === 'X-Ray traces')?.perHour;
    expect(xray({ ...measured(1), tracesByDefault: false })).toBe(0);
    expect(xray({ ...measured(1), tracesByDefault: false }, { ...DEFAULT_LEVERS, tracing: true })).toBeGreaterThan(0);
  });

  it('measures each option-built variant from its own plan: no late or dead-letter stream, no operator metrics', async () => {
    const variant = (name: string) => JOBS.find((j) => j.name === name) as Job;
    const cost = await measure(variant("page-view-counts, profile: 'cost'"), 100, 3000, DEFAULT_ASSUMPTIONS);
    expect([...cost.streams.values()].map((t) => t.role).sort()).toEqual(['shuffle', 'sink', 'source']);
    expect(cost.tracesByDefault).toBe(false);
    for (const stage of cost.stages) {
      expect([...stage.metrics].filter((name) => name.includes('/'))).toEqual([]);
      expect(stage.operatorLogBytes).toBe(0);
    }
    const defaults = await measure(job, 100, 3000, DEFAULT_ASSUMPTIONS);
    expect([...defaults.streams.values()].map((t) => t.role).sort()).toEqual([
      'dead-letter',
      'shuffle',
      'side-output',
      'sink',
      'source',
    ]);
    expect(defaults.stages.some((stage) => stage.operatorLogBytes > 0)).toBe(true);
  });

  it('prices dead letters in SQS as the sender sends them: 10 a SendMessageBatch, each 64 KiB of one a request', async () => {
    const queue = new BilledSqsQueue();
    const sink = new SqsDeadLetterSink({ client: queue, queueUrl: 'q' });
    // 23 small letters of one batch: calls of 10, 10 and 3, each under 64 KiB.
    await sink.send(
      Array.from({ length: 23 }, (_, n) => deadLetter(n)),
      Date.now() + 60_000,
    );
    expect(queue).toMatchObject({ messages: 23, billedRequests: 3 });
    // Four letters of about 100 KiB (base64 of 75 KiB): two a call (256 KiB at most), each call
    // over 192 KiB, so billed as 4 requests.
    await sink.send(
      [1, 2, 3, 4].map((n) => deadLetter(n, 75 * 1024)),
      Date.now() + 60_000,
    );
    expect(queue).toMatchObject({ messages: 27, billedRequests: 3 + 2 * 4 });
  });
});
