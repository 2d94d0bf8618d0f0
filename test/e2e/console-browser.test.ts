import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeOrderSample } from '../../examples/data/order-generator.js';
import ordersPayments from '../../examples/orders-payments.js';
import { DevSession } from '../../local/observability/dev-session.js';
import { drawPipeline } from '../../shared/dag/drawing.js';
import { CHROMIUM_ARGS, requireChromium, skipWithoutChromium } from '../helpers/chromium.js';
import { readConsole, untilShown } from '../helpers/console-page.js';

/**
 * The web console of `eddy dev`, in headless Chromium, during a run of examples/orders-payments.ts
 * (a join, a late output, three stages) on the embedded emulators. Skipped only where there is no
 * Chromium and this is not CI: in CI, a missing Chromium fails.
 */
describe.skipIf(skipWithoutChromium())('the web console in a real browser', () => {
  const dir = mkdtempSync(join(tmpdir(), 'eddy-console-'));
  let session: DevSession;
  let browser: Browser;
  let page: Page;
  /** Records taken in by every stage: what moves while the pipeline works. */
  const processed = () => session.local.status().reduce((sum, s) => sum + s.stats.recordsIn + s.stats.deadLettered, 0);

  beforeAll(async () => {
    const executablePath = requireChromium();
    session = await DevSession.start({ pipeline: ordersPayments, metricsPort: 0 });
    browser = await puppeteer.launch({ executablePath, headless: true, args: CHROMIUM_ARGS });
    page = await browser.newPage();
    await page.setViewport({ width: 1400, height: 1000 });
    await page.goto(`${session.server.url}/`);
  });

  afterAll(async () => {
    await browser?.close();
    await session?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is served on 127.0.0.1 with everything from the package, no CDN', async () => {
    expect(session.server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const external: string[] = [];
    page.on('request', (request) => {
      if (!request.url().startsWith(session.server.url)) external.push(request.url());
    });
    await page.reload();
    await page.waitForSelector('#graph svg .edge');
    expect(external).toEqual([]);
  });

  it('draws every stage, edge and side output of the plan', async () => {
    await page.waitForSelector('#graph svg .edge');
    const shown = await readConsole(page);
    const plan = ordersPayments.plan();
    const drawing = drawPipeline(ordersPayments.graph, plan);
    expect([...shown.stages].sort()).toEqual(plan.stages.map((s) => s.id).sort());
    expect([...shown.edges].sort()).toEqual(drawing.edges.map((e) => `${e.from} -> ${e.to}`).sort());
    for (const stream of plan.streams) expect(shown.nodes).toContain(`stream:${stream.name}`);
    // The join's two sides and its late output, the edges `eddy graph` used to leave out.
    expect(shown.edges).toContain('op:orders -> stream:orders-with-payments-order-payment');
    expect(shown.edges).toContain('op:payments -> stream:orders-with-payments-order-payment');
    expect(shown.edges).toContain('op:order-payment -> stream:late-orders-payments');
  });

  it('shows counters growing, and lag while there is a backlog', async () => {
    const orders = join(dir, 'orders.jsonl');
    const payments = join(dir, 'payments.jsonl');
    writeOrderSample(orders, payments, { orders: 4000, seed: 3, lateRate: 0.01 });
    const backlogSeen: string[] = [];
    const watchBacklog = (shown: Awaited<ReturnType<typeof readConsole>>) => {
      for (const [stage, { lagMs, pending }] of Object.entries(shown.backlog)) {
        // Lag is time behind the newest record (docs/lag.md): above 0 whenever records wait.
        if (lagMs > 0) backlogSeen.push(`${stage}: ${lagMs} ms, ${pending} pending`);
      }
    };
    const feeding = Promise.all([session.feed('orders', orders), session.feed('payments', payments)]);
    const first = await untilShown(page, (s) => (s.recordsIn['from-orders'] ?? 0) > 0, 'records in', processed, {
      onEach: watchBacklog,
    });
    const firstCount = first.recordsIn['from-orders'] ?? 0;
    await untilShown(
      page,
      (s) =>
        (s.recordsIn['from-orders'] ?? 0) > firstCount &&
        (s.recordsIn['from-orders-with-payments-order-payment'] ?? 0) > 0,
      'the counters growing',
      processed,
      { onEach: watchBacklog },
    );
    await feeding;
    await untilShown(page, (s) => (s.recordsIn['from-orders'] ?? 0) >= 4000, 'every order counted', processed, {
      onEach: watchBacklog,
    });
    expect(backlogSeen.length).toBeGreaterThan(0);
    await session.local.waitUntilDrained();
    const drained = await untilShown(
      page,
      (s) => Object.values(s.backlog).every((b) => b.pending === 0 && b.lagMs === 0),
      'no backlog and no lag once drained',
      processed,
    );
    expect(Object.keys(drained.backlog).sort()).toEqual(
      ordersPayments
        .plan()
        .stages.map((s) => s.id)
        .sort(),
    );
    // The drawing's operator boxes carry live figures too.
    expect(drained.operatorMetrics.some((text) => /in \d/.test(text))).toBe(true);
  });

  it('lists a dead letter with its reason', async () => {
    const bad = join(dir, 'bad-orders.jsonl');
    writeFileSync(bad, `${JSON.stringify({ orderId: 'o-bad', customer: 'c', amount: 'not a number', ts: 1 })}\n`);
    await session.feed('orders', bad);
    const shown = await untilShown(
      page,
      (s) => s.deadLetterReasons.includes('schema-violation') && s.deadLetterText.includes('amount'),
      'the dead letter',
      processed,
    );
    expect(shown.deadLetterText).toMatch(/schema-violation in from-orders/);
  });
});
