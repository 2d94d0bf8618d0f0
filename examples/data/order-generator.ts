import { writeFileSync } from 'node:fs';
import { seededRandom } from '../../shared/util/random.js';

export interface OrderSampleOptions {
  readonly orders: number;
  readonly seed?: number;
  /** Event time of the first order, epoch ms. @default 2026-01-01T00:00:00Z */
  readonly startTime?: number;
  /** Orders and payments are out of order by up to this much event time. @default 4000 */
  readonly maxDisorderMs?: number;
  /** Share of records held back far behind the others: they arrive late. @default 0.002 */
  readonly lateRate?: number;
}

export interface OrderSample {
  readonly orders: string[];
  readonly payments: string[];
}

/**
 * Orders and their payments as JSON lines, in arrival order: an order every 50 ms of event time;
 * most are paid within 10 minutes, some later (too late to join), some twice, some never; a few
 * payments name no order. Records arrive out of order within `maxDisorderMs`, and a few far later.
 */
export function generateOrders(options: OrderSampleOptions): OrderSample {
  const random = seededRandom(options.seed ?? 7);
  const start = options.startTime ?? Date.UTC(2026, 0, 1);
  const disorder = options.maxDisorderMs ?? 4000;
  const lateRate = options.lateRate ?? 0.002;
  const orders: { ts: number; line: string }[] = [];
  const payments: { ts: number; line: string }[] = [];
  let paymentNumber = 0;
  const pay = (orderId: string, amount: number, ts: number) => {
    paymentNumber += 1;
    payments.push({ ts, line: JSON.stringify({ paymentId: `p${paymentNumber}`, orderId, amount, ts }) });
  };
  for (let i = 0; i < options.orders; i += 1) {
    const ts = start + i * 50;
    const orderId = `o${i}`;
    const amount = 1 + Math.floor(random() * 500);
    orders.push({ ts, line: JSON.stringify({ orderId, customer: `c${Math.floor(random() * 1000)}`, amount, ts }) });
    const fate = random();
    if (fate < 0.8) pay(orderId, amount, ts + Math.floor(random() * 9 * 60_000));
    else if (fate < 0.85) pay(orderId, amount, ts + 10 * 60_000 + 1 + Math.floor(random() * 60_000));
    else if (fate < 0.9) {
      pay(orderId, amount, ts + Math.floor(random() * 60_000));
      pay(orderId, amount, ts + Math.floor(random() * 60_000));
    } else if (fate < 0.93) pay(`missing-${i}`, amount, ts + Math.floor(random() * 60_000));
  }
  return {
    orders: arrivalOrder(orders, random, disorder, lateRate),
    payments: arrivalOrder(payments, random, disorder, lateRate),
  };
}

/** Sorted by event time, then shuffled within the disorder bound; a few records held back far. */
function arrivalOrder(
  records: { ts: number; line: string }[],
  random: () => number,
  disorder: number,
  lateRate: number,
): string[] {
  const arrival = records.map((r) => ({
    line: r.line,
    at: random() < lateRate ? r.ts + 60_000 + random() * 60_000 : r.ts + random() * disorder,
  }));
  return arrival.sort((a, b) => a.at - b.at).map((r) => r.line);
}

export function writeOrderSample(ordersFile: string, paymentsFile: string, options: OrderSampleOptions): OrderSample {
  const sample = generateOrders(options);
  writeFileSync(ordersFile, `${sample.orders.join('\n')}\n`);
  writeFileSync(paymentsFile, `${sample.payments.join('\n')}\n`);
  return sample;
}
