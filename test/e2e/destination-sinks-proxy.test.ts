import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { StoredMessage } from '../../local/destinations/destination-stand-in.js';
import type { LocalPipelineOptions } from '../../local/runner/local-pipeline.js';
import { seededRandom } from '../../shared/util/random.js';
import { expectDelivered, type Order, queued, withId } from '../helpers/destination-check.js';
import { useEmulators } from '../helpers/emulators.js';
import { type FaultProxy, type FaultRule, owingHits, startFaultProxy } from '../helpers/fault-proxy.js';
import { BATCH_TARGETS } from '../helpers/partial-batches.js';
import { describeStages, runPipelineWithFaults } from '../helpers/pipeline-run.js';
import orderMessages from './fixtures/order-messages.js';

const pipelineModule = fileURLToPath(new URL('./fixtures/order-messages.ts', import.meta.url));
const BATCH_CALLS = Object.values(BATCH_TARGETS);
const FIFO = 'orders-by-account.fifo';
const FIFO_STAGE = 'from-order-messages-keyBy-1';
const SOURCE_STAGE = 'from-orders';

interface ProxyCase {
  readonly rules: FaultRule[];
  /** Hits each labelled rule must have made, so that the run tested what it says. */
  readonly atLeast: Readonly<Record<string, number>>;
  readonly options?: Partial<LocalPipelineOptions>;
  /** Workers the run must have killed in each sink stage: the FIFO queue's, and the source's (the others). */
  readonly killsPerStage?: number;
}

/**
 * test/e2e/fixtures/order-messages.ts (a FIFO queue, a standard queue, a bus, a delivery stream) on
 * kinesalite, every SendMessageBatch, PutEvents and PutRecordBatch through the fault proxy in front of
 * the local stand-in: throttled, 500/503, connections cut after the call took effect, partial batch
 * failures; and both sink stages with their workers killed mid-batch (the FIFO queue's, after the
 * shuffle, and the source stage, which writes the standard queue, the bus and the delivery stream).
 * Each destination's effect
 * against the pipeline's output: the FIFO queue holds each order exactly once (deduplication id); the
 * standard queue, the bus and the delivery stream hold every output at least once, a repeat with the
 * same id and value.
 */
describe('message sinks through the fault proxy and under worker kills: effect against the pipeline output', () => {
  const emulators = useEmulators({ engines: 'kinesalite+dynalite' });
  const dir = mkdtempSync(join(tmpdir(), 'eddy-destination-proxy-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const random = seededRandom(23);
  const orders: Order[] = Array.from({ length: 300 }, (_, n) => ({
    id: `o${n}`,
    account: `acct-${Math.floor(random() * 30)}`,
    amount: Math.floor(random() * 100),
    ts: 1_700_000_000_000 + n * 1000,
  }));
  const input = join(dir, 'orders.jsonl');
  writeFileSync(input, orders.map((order) => JSON.stringify(order)).join('\n'));

  const cases: [string, ProxyCase][] = [
    [
      'throttled, 500 and 503',
      {
        rules: [
          { label: 'throttle', kind: 'throttle', targets: BATCH_CALLS, rate: 0.2 },
          { label: '500', kind: 'internalError', targets: BATCH_CALLS, rate: 0.15 },
          { label: '503', kind: 'unavailable', targets: BATCH_CALLS, rate: 0.15 },
        ],
        atLeast: { throttle: 3, '500': 3, '503': 3 },
      },
    ],
    [
      'connections cut after the call took effect, and partial batch failures',
      {
        rules: [
          { label: 'cut after', kind: 'cutAfterForward', targets: BATCH_CALLS, rate: 0.25 },
          { label: 'partial', kind: 'partialBatch', targets: BATCH_CALLS, rate: 0.3, recordFailureRate: 0.5 },
        ],
        atLeast: { 'cut after': 5, partial: 5 },
      },
    ],
    [
      'both sink stages killed mid-batch, connections cut after calls took effect',
      {
        rules: [{ label: 'cut after', kind: 'cutAfterForward', targets: BATCH_CALLS, rate: 0.2 }],
        atLeast: { 'cut after': 3 },
        options: {
          pipelineModule,
          sandboxes: 'worker',
          killWorkers: { rate: 0.4, seed: 12, stages: [SOURCE_STAGE, FIFO_STAGE], atLeast: 1 },
        },
        killsPerStage: 1,
      },
    ],
  ];

  it.each(cases)('%s', async (name, { rules, atLeast, options, killsPerStage }) => {
    // Prepare: the proxy starts once the stand-in has, in front of it.
    let proxy: FaultProxy | undefined;
    try {
      // Act
      const run = await runPipelineWithFaults({
        ...options,
        pipeline: orderMessages,
        endpoint: emulators().kinesisEndpoint,
        dynamodbEndpoint: emulators().dynamodbEndpoint ?? '',
        directKinesisEndpoint: emulators().kinesisEndpoint,
        destinationEndpoint: async (standIn) => {
          // Each rule owes the hits asserted below: the draws alone can fall short on a short run.
          proxy = await startFaultProxy({
            upstream: { destinations: standIn },
            rules: owingHits(rules, atLeast),
            seed: 29,
          });
          return proxy.endpoint;
        },
        inputs: [{ stream: 'orders', file: input }],
        outputs: [],
        destinations: [FIFO, 'orders-queue', 'shop-events', 'orders-archive'],
      });

      // Assess
      const counts = proxy?.counts();
      const at = <T>(destination: string) => (run.destinations.get(destination) ?? []) as T[];
      type Line = Order & { eddyId: string };
      const big = orders.filter((order) => order.amount >= 50);
      const figures = {
        fifo: expectDelivered(FIFO, queued(at<StoredMessage>(FIFO), true), orders, { exactlyOnce: true }),
        standard: expectDelivered('orders-queue', queued(at<StoredMessage>('orders-queue'), false), orders),
        bus: expectDelivered('shop-events', withId(at<{ detail: Line }>('shop-events').map((e) => e.detail)), big),
        firehose: expectDelivered('orders-archive', withId(at<Line>('orders-archive')), orders),
      };
      console.log(
        `${name}: ${run.fed} orders in ${(run.elapsedMs / 1000).toFixed(1)} s; rule hits ${JSON.stringify(counts?.byLabel)}; ` +
          `entries failed in partial batches ${counts?.partialRecords.failed ?? 0}; workers killed ${run.workerKills}; ` +
          `FIFO repeats dropped by deduplication ${run.destinationCalls?.deduplicated ?? 0}\n` +
          `taken / distinct / duplicates: ${JSON.stringify(figures)}\n${describeStages(run.stages)}`,
      );
      expect(run.failedBatches).toEqual([]);
      for (const [label, minimum] of Object.entries(atLeast)) {
        expect(counts?.byLabel[label] ?? 0, `hits of '${label}'`).toBeGreaterThanOrEqual(minimum);
      }
      if (killsPerStage !== undefined) {
        for (const stageId of [SOURCE_STAGE, FIFO_STAGE]) {
          const stage = run.stages.find((status) => status.stage.id === stageId);
          expect(stage?.stats.sandboxKills ?? 0, `${stageId} workers killed`).toBeGreaterThanOrEqual(killsPerStage);
        }
      }
    } finally {
      await proxy?.stop();
    }
  });
});
