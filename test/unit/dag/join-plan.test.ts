import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { pipeline } from '../../../shared/index.js';
import { tumbling } from '../../../shared/windows/index.js';

const Event = z.object({ id: z.string(), ts: z.number() });

function shop(options: { eventTime?: boolean } = {}) {
  const p = pipeline('shop');
  const withTime = { schema: Event, ...(options.eventTime !== false && { eventTime: (e: { ts: number }) => e.ts }) };
  const orders = p.source('orders', withTime);
  const payments = p.source('payments', { schema: Event, eventTime: (e) => e.ts, shards: 2 });
  return { p, orders, payments };
}

describe('planning a join', () => {
  it('re-partitions both sides into one join stream, read by one stateful stage', () => {
    const { p, orders, payments } = shop();
    orders
      .join(payments, { name: 'paid', left: (o) => o.id, right: (x) => x.id, within: { after: '10m' }, shards: 3 })
      .map(([o, x]) => ({ order: o.id, payment: x.id }))
      .sink('paid-orders');

    const plan = p.plan();

    expect(plan.stages.map((s) => [s.id, s.input, s.stateful])).toEqual([
      ['from-orders', 'orders', false],
      ['from-payments', 'payments', false],
      ['from-shop-paid', 'shop-paid', true],
    ]);
    expect(plan.streams.find((s) => s.name === 'shop-paid')).toMatchObject({
      role: 'shuffle',
      shardCount: 3,
      producers: ['from-orders', 'from-payments'],
      consumers: ['from-shop-paid'],
    });
    expect(plan.streams.find((s) => s.name === 'shop-paid-late')).toMatchObject({ role: 'side-output' });
    expect(plan.stages[2]?.outputs).toEqual(['shop-paid-late', 'paid-orders', 'shop-dead-letters']);
    expect(plan.stateTable).toBe('shop-state');
  });

  it('refuses a join without event time, without a condition, or with both conditions', () => {
    const untimed = shop({ eventTime: false });
    untimed.orders.join(untimed.payments, { left: (o) => o.id, right: (x) => x.id, within: {} }).sink('out');
    expect(() => untimed.p.plan()).toThrow(
      /join 'join-1': a join needs watermarks .* source 'orders' has no eventTime/,
    );

    const { orders: o, payments: x } = shop();
    expect(() => o.join(x, { left: (a) => a.id, right: (b) => b.id })).toThrow(/needs either `within`/);
    expect(() => o.join(x, { left: (a) => a.id, right: (b) => b.id, within: {}, window: tumbling(10) })).toThrow(
      /needs either `within`/,
    );
    expect(() => o.join(x, { left: (a) => a.id, right: (b) => b.id, window: tumbling(10), type: 'left' })).toThrow(
      /a window join is inner only/,
    );
  });
});
