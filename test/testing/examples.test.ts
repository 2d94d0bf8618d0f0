/**
 * The examples' semantics, run through the test driver (in memory, the stage runners Lambda runs)
 * and compared with the batch references of test/reference. What needs Kinesis (several shards,
 * resharding, retries, the CLI) stays in test/e2e.
 */
import { describe, expect, it } from 'vitest';
import { generateClickLines } from '../../examples/data/click-generator.js';
import { generateOrders } from '../../examples/data/order-generator.js';
import { generateProfileLines } from '../../examples/data/profile-generator.js';
import { generateTransactionLines } from '../../examples/data/transaction-generator.js';
import fraudAlerts, { type Transaction } from '../../examples/fraud-alerts.js';
import ordersPayments from '../../examples/orders-payments.js';
import pageViewCounts from '../../examples/page-view-counts.js';
import pageViews from '../../examples/page-views.js';
import viewsByCountry from '../../examples/views-by-country.js';
import viewsPerUserMinute, { type UserMinute } from '../../examples/views-per-user-minute.js';
import type { PatternMatch } from '../../shared/index.js';
import { tumbling } from '../../shared/windows/index.js';
import { PipelineTestDriver, type TestInput } from '../../testing/index.js';
import { expectedFraudAlerts, showMatch } from '../reference/fraud-alerts.js';
import { joinOrdersPayments, type Order, type PaidOrder, type Payment } from '../reference/orders-payments.js';
import { expectedPageViews, groupByPage } from '../reference/page-views.js';
import { expectedCountryViews } from '../reference/views-by-country.js';
import { type Click, reference } from '../reference/windows.js';

/** Pipes lines in chunks, as a producer's batches arrive. */
async function pipeInChunks(input: TestInput<unknown>, lines: readonly string[], chunk = 250): Promise<void> {
  for (let from = 0; from < lines.length; from += chunk) await input.pipeRaw(lines.slice(from, from + chunk));
}

const clickLines = (events: number, seed: number) => [
  ...generateClickLines({ events, seed, users: 200, pages: 20, badLineRate: 0.01 }),
];

describe('examples through the test driver, equal to their batch references', () => {
  it('page-views: every valid view once, in order per page; every bad line dead-lettered', async () => {
    // Prepare
    const lines = clickLines(3_000, 5);
    const driver = new PipelineTestDriver(pageViews);

    // Act
    await pipeInChunks(driver.input('clicks'), lines);

    // Assess
    const expected = expectedPageViews(lines);
    const emitted = driver.output<{ page: string }>('page-views-by-page').readValuesToList();
    expect(groupByPage(emitted as never)).toEqual(groupByPage(expected.views));
    expect(driver.deadLetters().readValuesToList()).toHaveLength(expected.rejectedLines.length);
  });

  it('page-view-counts: the windows equal the batch computation, nothing late', async () => {
    // Prepare: the generator's disorder (under 5 s) is within the source's bound.
    const lines = clickLines(5_000, 11);
    const driver = new PipelineTestDriver(pageViewCounts);

    // Act
    await pipeInChunks(driver.input('clicks'), lines);
    await driver.endInput();

    // Assess
    const views = expectedPageViews(lines).views.map((v): Click => ({ ...v, kind: 'view' }));
    const windows = new Map(
      driver
        .output<{ key: string; windowStart: number; windowEnd: number; value: number }>('page-view-counts')
        .readValuesToList()
        .map((w) => [`${w.key}|${w.windowStart}|${w.windowEnd}`, w.value]),
    );
    expect(windows.size).toBeGreaterThan(30);
    expect(windows).toEqual(
      reference(
        views,
        (c) => c.page,
        tumbling('1m'),
        () => 1,
      ),
    );
    expect(driver.lateOutput('late-clicks').isEmpty()).toBe(true);
  });

  it('views-per-user-minute: the process function emits each user-minute once, equal to a tumbling count', async () => {
    // Prepare
    const lines = clickLines(4_000, 13);
    const driver = new PipelineTestDriver(viewsPerUserMinute);

    // Act
    await pipeInChunks(driver.input('clicks'), lines);
    await driver.endInput();

    // Assess: the process function's timers fire each minute once the watermark passes it.
    const views = expectedPageViews(lines).views.map((v): Click => ({ ...v, kind: 'view' }));
    const emitted = driver.output<UserMinute>('views-per-user-minute').readValuesToList();
    const counts = new Map(emitted.map((m) => [`${m.user}|${m.minute}|${m.minute + 60_000}`, m.views]));
    expect(counts.size).toBe(emitted.length);
    expect(counts.size).toBeGreaterThan(100);
    expect(counts).toEqual(
      reference(
        views,
        (c) => c.user,
        tumbling('1m'),
        () => 1,
      ),
    );
    expect(driver.output('page-views-per-user-late').isEmpty()).toBe(true);
  });

  it('orders-payments: the interval join equals the nested loop, the two sources arriving interleaved', async () => {
    // Prepare
    const sample = generateOrders({ orders: 400, seed: 9, lateRate: 0 });
    const driver = new PipelineTestDriver(ordersPayments);
    const orders = driver.input('orders');
    const payments = driver.input('payments');

    // Act: 50 orders, then 50 payments, and so on.
    for (let from = 0; from < Math.max(sample.orders.length, sample.payments.length); from += 50) {
      await orders.pipeRaw(sample.orders.slice(from, from + 50));
      await payments.pipeRaw(sample.payments.slice(from, from + 50));
    }
    await driver.endInput();

    // Assess
    const expected = joinOrdersPayments(
      sample.orders.map((line) => JSON.parse(line) as Order),
      sample.payments.map((line) => JSON.parse(line) as Payment),
    );
    const paid = driver.output<PaidOrder>('paid-orders').readValuesToList();
    expect(new Map(paid.map((row) => [`${row.orderId}|${row.paymentId ?? ''}`, row]))).toEqual(expected);
    expect(paid).toHaveLength(expected.size);
    expect(paid.some((row) => row.paymentId === null) && paid.some((row) => row.paymentId !== null)).toBe(true);
    expect(driver.lateOutput('late-orders-payments').isEmpty()).toBe(true);
    expect(driver.deadLetters().isEmpty()).toBe(true);
  });

  it("views-by-country: each view enriched with its user's newest profile, once the changelog is in", async () => {
    // Prepare
    const profiles = [...generateProfileLines({ updates: 1_500, seed: 4, users: 150 })];
    const clicks = clickLines(2_000, 3);
    const driver = new PipelineTestDriver(viewsByCountry);

    // Act
    await pipeInChunks(driver.input('user-profiles'), profiles);
    await pipeInChunks(driver.input('clicks'), clicks);

    // Assess
    const byView = (rows: readonly { user: string; ts: number; page: string }[]) =>
      [...rows].map((r) => JSON.stringify(r)).sort();
    expect(
      byView(driver.output<{ user: string; ts: number; page: string }>('views-by-country').readValuesToList()),
    ).toEqual(byView(expectedCountryViews(clicks, profiles)));
  });

  it('fraud-alerts: the CEP pattern equals the brute-force matcher, matches and timed-out small charges', async () => {
    // Prepare: disorder under 5 s, within the source's 10 s bound: nothing is late.
    const lines = [...generateTransactionLines({ transactions: 3_000, cards: 30, seed: 4 })];
    const driver = new PipelineTestDriver(fraudAlerts);

    // Act
    await pipeInChunks(driver.input('transactions'), lines);
    await driver.endInput();

    // Assess
    const expected = expectedFraudAlerts(lines);
    const alerts = driver.output<PatternMatch<Transaction>>('fraud-alerts').readValuesToList().map(showMatch);
    const unconfirmed = driver
      .output<{ value: PatternMatch<Transaction> }>('fraud-alerts-unconfirmed')
      .readValuesToList()
      .map((r) => showMatch(r.value));
    expect(alerts.sort()).toEqual(expected.matches);
    expect(unconfirmed.sort()).toEqual(expected.timedOut);
    expect(expected.matches.length).toBeGreaterThan(20);
    expect(driver.output('fraud-alerts-late').readValuesToList()).toEqual([]);
  });
});
