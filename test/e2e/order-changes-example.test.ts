import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { seededRandom } from '../../shared/util/random.js';
import { eddy, readJsonLines } from '../helpers/eddy-cli.js';

/**
 * examples/order-changes.ts through `eddy run` on the embedded stack: an orders table on DynamoDB
 * Local takes placed, re-priced and cancelled (deleted) orders; its stream feeds the per-customer
 * hourly spend view (toDynamoDb) and the OrderCancelled events (toEventBridge). Both files are
 * compared with what the table holds at the end, computed here without the pipeline's deltas.
 */
interface Order {
  readonly id: string;
  readonly customer: string;
  readonly amount: number;
  readonly ts: number;
}
type Line = Order | { $delete: { id: string } };

const hour = 3_600_000;
const start = Date.UTC(2026, 0, 1);

/** Orders a minute apart; some re-priced, some cancelled, each within 4 minutes (the source allows 5 out of order). */
function orderHistory(seed: number, orders: number): Line[] {
  const random = seededRandom(seed);
  const timed: { at: number; line: Line }[] = [];
  for (let n = 0; n < orders; n += 1) {
    const placed: Order = {
      id: `o${n}`,
      customer: `customer-${Math.floor(random() * 6)}`,
      amount: 1 + Math.floor(random() * 200),
      ts: start + n * 60_000 + Math.floor(random() * 30_000),
    };
    timed.push({ at: placed.ts, line: placed });
    let last = placed.ts;
    if (random() < 0.3) {
      last += 1 + Math.floor(random() * 120_000);
      timed.push({ at: last, line: { ...placed, amount: placed.amount + 1 + Math.floor(random() * 50) } });
    }
    if (random() < 0.15)
      timed.push({ at: last + 1 + Math.floor(random() * 100_000), line: { $delete: { id: placed.id } } });
  }
  // The end of the file closes every hour, the last one too (the table stream's end-of-input mark).
  return timed.sort((a, b) => a.at - b.at).map((t) => t.line);
}

/** The view from the table's final state: each hour's surviving orders summed per customer (0 when all were cancelled). */
function expectedView(lines: readonly Line[]) {
  const table = new Map<string, Order>();
  const hours = new Map<string, { customer: string; windowStart: number; spend: number }>();
  for (const line of lines) {
    if ('$delete' in line) {
      table.delete(line.$delete.id);
      continue;
    }
    table.set(line.id, line);
    const windowStart = Math.floor(line.ts / hour) * hour;
    hours.set(`${line.customer}|${windowStart}`, { customer: line.customer, windowStart, spend: 0 });
  }
  for (const order of table.values()) {
    const entry = hours.get(`${order.customer}|${Math.floor(order.ts / hour) * hour}`);
    if (entry !== undefined) entry.spend += order.amount;
  }
  return [...hours.values()].map((h) => ({ ...h, windowEnd: h.windowStart + hour }));
}

/** The cancelled orders as they were when deleted. */
function expectedCancellations(lines: readonly Line[]) {
  const table = new Map<string, Order>();
  const cancelled: { orderId: string; customer: string; amount: number }[] = [];
  for (const line of lines) {
    if (!('$delete' in line)) table.set(line.id, line);
    else {
      const order = table.get(line.$delete.id) as Order;
      cancelled.push({ orderId: order.id, customer: order.customer, amount: order.amount });
      table.delete(order.id);
    }
  }
  return cancelled;
}

const byKey = (a: { customer: string; windowStart?: number; orderId?: string }, b: typeof a) =>
  `${a.customer}|${a.windowStart ?? a.orderId}`.localeCompare(`${b.customer}|${b.windowStart ?? b.orderId}`);

describe("examples/order-changes.ts: a table's changes to a DynamoDB view and an EventBridge bus", () => {
  const dir = mkdtempSync(join(tmpdir(), 'eddy-order-changes-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("keeps each customer's hourly spend and sends one OrderCancelled event per deleted order", async () => {
    // Prepare
    const lines = orderHistory(16, 240);
    const input = join(dir, 'orders.jsonl');
    writeFileSync(input, `${lines.map((line) => JSON.stringify(line)).join('\n')}\n`);
    const file = (name: string) => join(dir, `${name}.jsonl`);
    const read = (name: string) => readJsonLines(file(name));

    // Act
    await eddy(
      'run',
      'examples/order-changes.ts',
      '--input',
      `orders=${input}`,
      ...['customer-spend-per-hour', 'shop-events', 'order-changes-dead-letters', 'late-order-changes'].flatMap(
        (name) => ['--output', `${name}=${file(name)}`],
      ),
    );

    // Assess
    const view = read('customer-spend-per-hour').map(({ customer, windowStart, windowEnd, spend }) => ({
      customer,
      windowStart,
      windowEnd,
      spend,
    }));
    const expected = expectedView(lines);
    expect(expected.length).toBeGreaterThanOrEqual(20); // 6 customers over 4 hours
    expect(view.sort(byKey as never)).toEqual(expected.sort(byKey));
    const events = read('shop-events');
    expect(events.every((e) => e.source === 'shop.orders' && e.detailType === 'OrderCancelled')).toBe(true);
    const cancellations = events.map((e) => {
      const { eddyId: _, ...detail } = e.detail as Record<string, unknown>;
      return detail;
    });
    const cancelled = expectedCancellations(lines);
    expect(cancelled.length).toBeGreaterThan(20);
    expect(cancellations.sort(byKey as never)).toEqual(cancelled.sort(byKey));
    expect(read('order-changes-dead-letters')).toEqual([]);
    expect(read('late-order-changes')).toEqual([]);
  });
});
