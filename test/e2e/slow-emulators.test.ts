import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeClickSample } from '../../examples/data/click-generator.js';
import pageViewCounts from '../../examples/page-view-counts.js';
import { localRequestTimeoutVariable } from '../../local/aws-clients.js';
import { runPipelineOnFiles } from '../../local/runner/run-files.js';
import { tumbling } from '../../shared/windows/index.js';
import { useEmulators } from '../helpers/emulators.js';
import { startFaultProxy } from '../helpers/fault-proxy.js';
import { reference, views } from '../reference/windows.js';

const EVENTS = 3_000;
const REQUEST_TIMEOUT_MS = 1_000;

/**
 * A loaded machine, made on purpose: a share of every emulator call (Kinesis and DynamoDB, the
 * runner's and the stages') is held for 1.5 to 2.5 s, past the clients' request timeout of 1 s, and
 * then still forwarded, so the timed-out call takes effect after the client gave up on it. The run
 * must neither abort nor feed a line twice: every window exact, nothing discarded.
 */
describe('eddy run on emulators whose calls are slow and time out (page-view-counts)', () => {
  const emulators = useEmulators();
  const dir = mkdtempSync(join(tmpdir(), 'eddy-slow-'));
  const previousTimeout = process.env[localRequestTimeoutVariable];
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
    if (previousTimeout === undefined) delete process.env[localRequestTimeoutVariable];
    else process.env[localRequestTimeoutVariable] = previousTimeout;
  });

  it('completes with every window exact and no batch discarded', async () => {
    const input = join(dir, 'clicks.jsonl');
    const counts = join(dir, 'counts.jsonl');
    await writeClickSample(input, { events: EVENTS, seed: 14, badLineRate: 0 });
    const proxy = await startFaultProxy({
      upstream: { kinesis: emulators().kinesisEndpoint, dynamodb: emulators().dynamodbEndpoint ?? '' },
      rules: [
        {
          // The feeder's rounds into the source: a timed-out PutRecords that lands later must not
          // leave its lines in the stream twice.
          kind: 'delay',
          targets: ['Kinesis_20131202.PutRecords'],
          when: (call) => String(call.body.StreamName).endsWith('clicks'),
          rate: 0.5,
          // Six or more rounds: the draws alone hit only one of them in a CI run.
          atLeast: 2,
          delayMs: [1_500, 2_500],
          label: 'feeder past the timeout',
        },
        {
          kind: 'delay',
          targets: ['Kinesis_20131202.*', 'DynamoDB_20120810.*'],
          rate: 0.05,
          // The assertion below asks for more than 20: owed once 20 calls in a row went unhit.
          atLeast: 21,
          delayMs: [1_500, 2_500],
          label: 'past the timeout',
        },
      ],
      seed: 14,
    });
    // Clients made from now on (the runner's, the feeder's, the stages') give up after 1 s.
    process.env[localRequestTimeoutVariable] = String(REQUEST_TIMEOUT_MS);
    try {
      const summary = await runPipelineOnFiles({
        pipeline: pageViewCounts,
        kinesisEndpoint: proxy.endpoint,
        dynamodbEndpoint: proxy.endpoint,
        streamPrefix: `slow${process.pid}-`,
        inputs: [{ stream: 'clicks', file: input }],
        outputs: [{ stream: 'page-view-counts', file: counts }],
        stallLimitMs: 120_000,
      });
      const hits = proxy.counts().byLabel['past the timeout'] ?? 0;
      const feederHits = proxy.counts().byLabel['feeder past the timeout'] ?? 0;
      expect(hits, 'calls held past the request timeout').toBeGreaterThan(20);
      expect(feederHits, 'feeder PutRecords held past the request timeout').toBeGreaterThanOrEqual(2);
      expect(summary.failedBatches).toEqual([]);
      expect(summary.inputRecords).toBe(EVENTS);
      const want = reference(
        views(input),
        (c) => c.page,
        tumbling('1m'),
        () => 1,
      );
      const got = new Map(
        readFileSync(counts, 'utf8')
          .split('\n')
          .filter((line) => line !== '')
          .map((line) => JSON.parse(line) as { key: string; windowStart: number; windowEnd: number; value: number })
          .map((r) => [`${r.key}|${r.windowStart}|${r.windowEnd}`, r.value]),
      );
      expect(got).toEqual(want);
    } finally {
      await proxy.stop();
    }
  }, 600_000);
});
