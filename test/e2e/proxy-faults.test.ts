import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeClickSample } from '../../examples/data/click-generator.js';
import { useEmulators } from '../helpers/emulators.js';
import { type FaultRule, startFaultProxy } from '../helpers/fault-proxy.js';
import { describeStages, PAGE_VIEW_COUNTS_LATE as LATE, runPageViewCounts } from '../helpers/pipeline-run.js';

/** The shuffle stream the stateless source stage writes and the windowed stage reads. */
const SHUFFLE = 'page-view-counts-keyBy-1';

const PUT_RECORDS = 'Kinesis_20131202.PutRecords';
/** Every other API the pipeline's stages, mappings and state store call while records flow. */
const READS_AND_STATE = [
  'Kinesis_20131202.GetRecords',
  'DynamoDB_20120810.UpdateItem',
  'DynamoDB_20120810.BatchGetItem',
  'DynamoDB_20120810.Query',
  'DynamoDB_20120810.PutItem',
  'DynamoDB_20120810.GetItem',
];
const STATE_WRITES = ['DynamoDB_20120810.UpdateItem', 'DynamoDB_20120810.PutItem'];
const onShuffle = ({ body }: { body: Readonly<Record<string, unknown>> }) =>
  String(body.StreamName ?? '').endsWith(SHUFFLE);

interface Case {
  readonly name: string;
  /** PutRecords calls are few (a few per batch): they get a higher rate than the rest. */
  readonly rules: FaultRule[];
  /** Hits each labelled rule must have made, so that the run tested what it says. */
  readonly atLeast: Readonly<Record<string, number>>;
}

const cases: Case[] = [
  {
    name: 'throttling (400 ProvisionedThroughputExceededException) of every call',
    rules: [
      { label: 'PutRecords', kind: 'throttle', targets: [PUT_RECORDS], rate: 0.5 },
      { label: 'reads and state', kind: 'throttle', targets: READS_AND_STATE, rate: 0.2 },
    ],
    atLeast: { PutRecords: 5, 'reads and state': 20 },
  },
  {
    name: '500 InternalFailure and 503 ServiceUnavailable on every call',
    rules: [
      { label: 'PutRecords 500', kind: 'internalError', targets: [PUT_RECORDS], rate: 0.25 },
      { label: 'PutRecords 503', kind: 'unavailable', targets: [PUT_RECORDS], rate: 0.3 },
      { label: 'reads and state 500', kind: 'internalError', targets: READS_AND_STATE, rate: 0.1 },
      { label: 'reads and state 503', kind: 'unavailable', targets: READS_AND_STATE, rate: 0.1 },
    ],
    atLeast: { 'PutRecords 500': 2, 'PutRecords 503': 2, 'reads and state 500': 5, 'reads and state 503': 5 },
  },
  {
    name: 'connections cut after the call took effect, on every write (shuffle PutRecords included)',
    rules: [
      { label: 'shuffle PutRecords', kind: 'cutAfterForward', targets: [PUT_RECORDS], rate: 0.5, when: onShuffle },
      { label: 'other writes', kind: 'cutAfterForward', targets: [PUT_RECORDS, ...STATE_WRITES], rate: 0.15 },
    ],
    atLeast: { 'shuffle PutRecords': 3, 'other writes': 5 },
  },
  {
    name: 'connections cut after the call took effect, on state calls and the windowed stage’s writes only',
    rules: [
      {
        label: 'sink PutRecords',
        kind: 'cutAfterForward',
        targets: [PUT_RECORDS],
        rate: 0.5,
        when: (call) => !onShuffle(call),
      },
      {
        label: 'state',
        kind: 'cutAfterForward',
        targets: [...STATE_WRITES, 'DynamoDB_20120810.BatchGetItem'],
        rate: 0.15,
      },
    ],
    atLeast: { state: 5 },
  },
  {
    name: 'PutRecords partial failures (the failed records not written)',
    rules: [
      { label: 'PutRecords', kind: 'partialPutRecords', targets: [PUT_RECORDS], rate: 0.6, recordFailureRate: 0.5 },
    ],
    atLeast: { PutRecords: 5 },
  },
];

/**
 * examples/page-view-counts.ts with every call of its stages, their event source mappings and the
 * state store going through the fault proxy (test/helpers/fault-proxy.ts), one fault type per run.
 * The input is fed and the outputs read past the proxy. Every window must equal the batch
 * computation: nothing lost, nothing counted twice.
 */
describe('page-view-counts through a fault-injecting proxy: every window equals the batch computation', () => {
  const emulators = useEmulators();
  const dir = mkdtempSync(join(tmpdir(), 'eddy-proxy-faults-'));
  const input = join(dir, 'clicks.jsonl');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  beforeAll(async () => {
    await writeClickSample(input, { events: 5_000, seed: 31, users: 200, pages: 20, badLineRate: 0.002 });
  });

  it.each(cases.map((c) => [c.name, c] as const))(
    '%s',
    async (_name, { rules, atLeast }) => {
      // Prepare: one proxy in front of both emulators, routed on X-Amz-Target.
      const proxy = await startFaultProxy({
        upstream: { kinesis: emulators().kinesisEndpoint, dynamodb: emulators().dynamodbEndpoint ?? '' },
        rules,
        seed: 17,
      });
      try {
        // Act
        const { run, comparison } = await runPageViewCounts({
          endpoint: proxy.endpoint,
          dynamodbEndpoint: proxy.endpoint,
          directKinesisEndpoint: emulators().kinesisEndpoint,
          input,
        });

        // Assess
        const counts = proxy.counts();
        console.log(
          `${run.fed} clicks in ${(run.elapsedMs / 1000).toFixed(1)} s; rule hits ${JSON.stringify(counts.byLabel)}; ` +
            `faults injected: ${JSON.stringify(counts.faults)}` +
            (counts.partialRecords.failed > 0 ? `; records failed ${counts.partialRecords.failed}` : '') +
            `\n${comparison.windows} windows, ${comparison.repeats} repeated results, ${comparison.lost} records lost, ` +
            `${comparison.duplicated} counted twice\n${describeStages(run.stages)}`,
        );
        for (const difference of comparison.differences) console.log(difference);
        for (const [label, minimum] of Object.entries(atLeast)) {
          expect(counts.byLabel[label] ?? 0, `hits of '${label}'`).toBeGreaterThanOrEqual(minimum);
        }
        expect(comparison.differences).toEqual([]);
        expect(run.outputs.get(LATE)).toEqual([]);
        expect(run.failedBatches).toEqual([]);
      } finally {
        await proxy.stop();
      }
    },
    180_000,
  );
});
