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
import { describeStages, runPipelineWithFaults } from '../helpers/pipeline-run.js';
import orderDestinations from './fixtures/order-destinations.js';

const pipelineModule = fileURLToPath(new URL('./fixtures/order-destinations.ts', import.meta.url));

/**
 * test/e2e/fixtures/order-destinations.ts on kinesalite, its destinations on the local stand-in
 * failing a third of the calls (throttled, entries failed, or taken with the response lost), and
 * either Lambda retries after batches that had written (crashes after the batch) or workers killed
 * in the middle of batches. FIFO: each order exactly once (deduplication id); the bus and the
 * delivery stream: the distinct ids are exactly the orders, each id always with its order.
 */
describe('toSqs, toEventBridge, toFirehose under faults and kills', () => {
  const emulators = useEmulators({ engines: 'kinesalite+dynalite' });
  const dir = mkdtempSync(join(tmpdir(), 'eddy-destination-sinks-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const random = seededRandom(11);
  const orders: Order[] = Array.from({ length: 500 }, (_, n) => ({
    id: `o${n}`,
    account: `acct-${Math.floor(random() * 40)}`,
    amount: Math.floor(random() * 100),
    ts: 1_700_000_000_000 + n * 1000,
  }));
  const input = join(dir, 'orders.jsonl');
  writeFileSync(input, orders.map((order) => JSON.stringify(order)).join('\n'));

  const cases: [string, Partial<LocalPipelineOptions>][] = [
    ['Lambda retries after batches that wrote', { crashAfterBatchRate: 0.3, faultSeed: 3 }],
    [
      'workers killed in the middle of batches',
      { pipelineModule, sandboxes: 'worker', killWorkers: { rate: 0.3, seed: 5, atLeast: 2 } },
    ],
  ];

  it.each(cases)('%s', async (name, options) => {
    // Act
    const run = await runPipelineWithFaults({
      ...options,
      pipeline: orderDestinations,
      endpoint: emulators().kinesisEndpoint,
      dynamodbEndpoint: emulators().dynamodbEndpoint ?? '',
      directKinesisEndpoint: emulators().kinesisEndpoint,
      destinationFaults: { rate: 0.3, seed: 17 },
      inputs: [{ stream: 'orders', file: input }],
      outputs: [],
      destinations: ['orders-by-account.fifo', 'shop-events', 'orders-archive'],
    });

    // Assess: FIFO each order once, in its account's group; the bus and the delivery stream at least
    // once with a deterministic id.
    type Line = Order & { eddyId: string };
    const at = <T>(destination: string) => (run.destinations.get(destination) ?? []) as T[];
    const figures = {
      fifo: expectDelivered('fifo', queued(at<StoredMessage>('orders-by-account.fifo'), true), orders, {
        exactlyOnce: true,
      }),
      bus: expectDelivered(
        'bus',
        withId(at<{ detail: Line }>('shop-events').map((event) => event.detail)),
        orders.filter((o) => o.amount >= 50),
      ),
      firehose: expectDelivered('firehose', withId(at<Line>('orders-archive')), orders),
    };
    console.log(
      `${name}: ${run.fed} orders in ${(run.elapsedMs / 1000).toFixed(1)} s; taken / distinct / duplicates ` +
        `${JSON.stringify(figures)}; stand-in calls ${JSON.stringify(run.destinationCalls)}; ` +
        `workers killed ${run.workerKills}\n${describeStages(run.stages)}`,
    );
    expect(run.failedBatches).toEqual([]);
    expect(run.destinationCalls?.faults ?? 0).toBeGreaterThan(0);
    if (options.killWorkers !== undefined) expect(run.workerKills).toBeGreaterThanOrEqual(2);
  });
});
