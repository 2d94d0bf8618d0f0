import { readFileSync } from 'node:fs';

/**
 * examples/orders-payments.ts computed over the whole input by plain loops, apart from Eddy: a left
 * outer interval join of orders with the payments that come within 10 minutes after them. What the
 * e2e test and the join benchmark compare `eddy run`'s output with.
 */
export interface Order {
  orderId: string;
  customer: string;
  amount: number;
  ts: number;
}
export interface Payment {
  paymentId: string;
  orderId: string;
  amount: number;
  ts: number;
}
export interface PaidOrder {
  orderId: string;
  customer: string;
  amount: number;
  paymentId: string | null;
  paidAt: number | null;
}

export const PAYMENT_WINDOW_MS = 10 * 60_000;
/** The sources' maxOutOfOrderness in the example. */
export const BOUND_MS = 5000;

export function readLines<T>(file: string): T[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as T);
}

/**
 * The join over the records that were not late: per order id, every order with every payment at
 * or up to 10 minutes after it (a nested loop within the key); an order with none, alone.
 */
export function joinOrdersPayments(orders: readonly Order[], payments: readonly Payment[]): Map<string, PaidOrder> {
  const paymentsOf = new Map<string, Payment[]>();
  for (const p of payments) paymentsOf.set(p.orderId, [...(paymentsOf.get(p.orderId) ?? []), p]);
  const out = new Map<string, PaidOrder>();
  for (const o of orders) {
    let paid = false;
    for (const p of paymentsOf.get(o.orderId) ?? []) {
      if (p.ts < o.ts || p.ts > o.ts + PAYMENT_WINDOW_MS) continue;
      paid = true;
      const row = { orderId: o.orderId, customer: o.customer, amount: o.amount, paymentId: p.paymentId, paidAt: p.ts };
      out.set(`${o.orderId}|${p.paymentId}`, row);
    }
    if (!paid) {
      const row = { orderId: o.orderId, customer: o.customer, amount: o.amount, paymentId: null, paidAt: null };
      out.set(`${o.orderId}|`, row);
    }
  }
  return out;
}

/**
 * A record can only be late if it is more than the bound behind a record of its own file that came
 * before it: the join's watermark is at most its own channel's, the highest time before it minus
 * the bound. Returns the late records that break this (none, when lateness is right).
 */
export function unjustifiedLate(file: string, late: readonly { value: { ts: number } }[]): unknown[] {
  const lines = readLines<{ ts: number }>(file);
  const highestBefore = new Map<string, number>();
  let highest = Number.NEGATIVE_INFINITY;
  for (const record of lines) {
    highestBefore.set(JSON.stringify(record), highest);
    highest = Math.max(highest, record.ts);
  }
  return late.filter((l) => {
    const before = highestBefore.get(JSON.stringify(l.value));
    return before === undefined || !(l.value.ts < before - BOUND_MS);
  });
}

export interface RunCheck {
  /** Rows of the nested-loop join over the records that were not late. */
  readonly expected: Map<string, PaidOrder>;
  /** Rows the run emitted, by identity (a repeat must be the same row: `conflicts` counts those that are not). */
  readonly emitted: Map<string, PaidOrder>;
  readonly conflicts: number;
  readonly missing: string[];
  readonly extra: string[];
  readonly late: number;
  /** Late records that were not more than the bound behind their own stream. */
  readonly unjustifiedLate: number;
}

/** Compares an `eddy run` of examples/orders-payments.ts (its output and late files) with the reference. */
export function checkOrdersPaymentsRun(files: {
  orders: string;
  payments: string;
  output: string;
  late: string;
}): RunCheck {
  const late = readLines<{ side: 'left' | 'right'; value: Order & Payment }>(files.late);
  const lateOrders = new Set(late.filter((l) => l.side === 'left').map((l) => l.value.orderId));
  const latePayments = new Set(late.filter((l) => l.side === 'right').map((l) => l.value.paymentId));
  const expected = joinOrdersPayments(
    readLines<Order>(files.orders).filter((o) => !lateOrders.has(o.orderId)),
    readLines<Payment>(files.payments).filter((p) => !latePayments.has(p.paymentId)),
  );
  const emitted = new Map<string, PaidOrder>();
  let conflicts = 0;
  for (const row of readLines<PaidOrder>(files.output)) {
    const id = `${row.orderId}|${row.paymentId ?? ''}`;
    const seen = emitted.get(id);
    if (seen !== undefined && JSON.stringify(seen) !== JSON.stringify(row)) conflicts += 1;
    emitted.set(id, row);
  }
  return {
    expected,
    emitted,
    conflicts,
    missing: [...expected.keys()].filter((id) => !emitted.has(id)),
    extra: [...emitted.keys()].filter((id) => !expected.has(id)),
    late: late.length,
    unjustifiedLate:
      unjustifiedLate(
        files.orders,
        late.filter((l) => l.side === 'left'),
      ).length +
      unjustifiedLate(
        files.payments,
        late.filter((l) => l.side === 'right'),
      ).length,
  };
}
