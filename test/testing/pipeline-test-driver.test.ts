import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import pageViewCounts from '../../examples/page-view-counts.js';
import { pipeline } from '../../shared/index.js';
import { count, tumblingProcessingTime } from '../../shared/windows/index.js';
import { PipelineTestDriver } from '../../testing/index.js';

interface Click {
  user: string;
  page: string;
  kind: string;
  ts: number;
}
interface Counted {
  key: string;
  windowStart: number;
  windowEnd: number;
  value: number;
}
const Click = z.object({ user: z.string(), page: z.string(), kind: z.string(), ts: z.number() });
const view = (page: string, ts: number): Click => ({ user: 'u1', page, kind: 'view', ts });
const MINUTE = 60_000;

describe('PipelineTestDriver: event time', () => {
  it('fires a window only once the watermark passes its end plus the allowed lateness', async () => {
    // Prepare: page-view-counts, 1-minute windows, 5 s out of order, 30 s allowed lateness.
    const driver = new PipelineTestDriver(pageViewCounts);
    const clicks = driver.input<Click>('clicks');
    const counts = driver.output<Counted>('page-view-counts');

    // Act / Assess: step by step.
    expect((await clicks.pipeAll([view('/a', 1_000), view('/a', 2_000), view('/b', 3_000)])).outputs).toEqual({});
    expect((await driver.advanceWatermark('clicks', MINUTE + 29_999 - 1)).outputs).toEqual({});
    expect(counts.isEmpty()).toBe(true);
    const fired = await driver.advanceWatermark('clicks', MINUTE + 29_999);
    expect(fired.outputs['page-view-counts']).toHaveLength(2);
    expect(counts.readValuesToList().map((c) => [c.key, c.windowStart, c.windowEnd, c.value])).toEqual([
      ['/a', 0, MINUTE, 2],
      ['/b', 0, MINUTE, 1],
    ]);
    expect(driver.watermarkOf('from-clicks')).toBe(MINUTE + 29_999);
  });

  it('moves the watermark with event times too: max event time minus maxOutOfOrderness', async () => {
    // Prepare
    const driver = new PipelineTestDriver(pageViewCounts);
    const clicks = driver.input<Click>('clicks');

    // Act: a click at 95 s puts the watermark at 90 s, past the first minute's 89,999.
    await clicks.pipe(view('/a', 10_000));
    const fired = await clicks.pipe(view('/a', 95_000));

    // Assess
    expect(fired.outputs['page-view-counts']).toMatchObject([{ key: '/a', windowStart: 0, value: 1 }]);
    expect(driver.watermarkOf('from-clicks')).toBe(90_000);
  });

  it('sends a record too late for its window to the late output, with the watermark and the reason', async () => {
    // Prepare
    const driver = new PipelineTestDriver(pageViewCounts);
    const clicks = driver.input<Click>('clicks');
    await clicks.pipe(view('/a', 1_000));
    await driver.advanceWatermark('clicks', 2 * MINUTE);

    // Act
    const step = await clicks.pipe(view('/a', 2_000));

    // Assess
    const late = driver.lateOutput<Click>('late-clicks');
    expect(step.outputs['late-clicks']).toHaveLength(1);
    expect(late.readValue()).toMatchObject({
      key: '/a',
      time: 2_000,
      watermark: 2 * MINUTE,
      windows: [{ start: 0, end: MINUTE }],
      value: view('/a', 2_000),
      reason: expect.stringContaining('too late'),
    });
    expect(driver.output('page-view-counts').allValues()).toHaveLength(1);
  });

  it('ends the input: every open window fires', async () => {
    // Prepare
    const driver = new PipelineTestDriver(pageViewCounts);
    await driver.input<Click>('clicks').pipeAll([view('/a', 1_000), view('/a', 61_000)]);

    // Act
    const step = await driver.endInput();

    // Assess
    expect(step.outputs['page-view-counts']).toMatchObject([
      { key: '/a', windowStart: 0, value: 1 },
      { key: '/a', windowStart: MINUTE, value: 1 },
    ]);
  });
});

describe('PipelineTestDriver: processing time', () => {
  const perMinute = () =>
    pipeline('processing-time-counts')
      .source('clicks', { schema: Click })
      .keyBy((c) => c.page)
      .window(tumblingProcessingTime('1m'))
      .aggregate(count())
      .sink('counts');

  it('fires a processing-time window when the clock reaches its last millisecond, with no record coming', async () => {
    // Prepare: the clock starts at 10 s; event times play no part.
    const driver = new PipelineTestDriver(perMinute(), { startTime: 10_000 });
    const clicks = driver.input<Click>('clicks');
    await clicks.pipe(view('/a', 999_999_999));
    await driver.advanceClock('20s');
    await clicks.pipe(view('/a', 0));

    // Act / Assess
    expect((await driver.advanceClock(29_998)).outputs).toEqual({});
    expect(driver.now).toBe(MINUTE - 2);
    // As Flink's processing-time trigger: at the window's last millisecond, end - 1.
    const fired = await driver.advanceClock('1ms');

    // Assess
    expect(fired.outputs.counts).toMatchObject([{ key: '/a', windowStart: 0, windowEnd: MINUTE, value: 2 }]);
  });
});

describe('PipelineTestDriver: dead letters', () => {
  it('keeps every bad record with its reason, stage and operator, and the rest goes on', async () => {
    // Prepare
    const p = pipeline('dead-letters');
    p.source('clicks', { schema: Click, eventTime: (c) => c.ts })
      .map((c) => {
        if (c.user === 'boom') throw new Error('cannot map boom');
        return { page: c.page };
      })
      .sink('pages');
    const driver = new PipelineTestDriver(p);
    const clicks = driver.input<Click>('clicks');

    // Act
    const step = await clicks.pipeRaw([
      '{not json',
      JSON.stringify({ user: 'u', page: '/a', kind: 'view', ts: 'noon' }),
      JSON.stringify({ ...view('/a', 1), user: 'boom' }),
      JSON.stringify(view('/b', 2)),
    ]);

    // Assess
    expect(step.outputs).toEqual({ pages: [{ page: '/b' }] });
    const letters = driver.deadLetters().readValuesToList();
    expect(letters.map((l) => [l.error.reason, l.stage, l.error.operator])).toEqual([
      ['malformed-json', 'from-clicks', 'clicks'],
      ['schema-violation', 'from-clicks', 'clicks'],
      ['operator-error', 'from-clicks', 'map-1'],
    ]);
    expect(letters[2]?.error.message).toContain('cannot map boom');
    expect(Buffer.from(letters[0]?.payload ?? '', 'base64').toString()).toBe('{not json');
    expect(step.deadLetters).toEqual(letters);
  });

  it('names what is wrong when a test asks for a source or output the pipeline lacks', () => {
    const driver = new PipelineTestDriver(pageViewCounts);
    expect(() => driver.input('click')).toThrow(/has no source 'click' \(sources: clicks\)/);
    expect(() => driver.output('counts')).toThrow(/has no output 'counts' \(outputs: .*page-view-counts/);
  });
});

describe('PipelineTestDriver: joins', () => {
  const Order = z.object({ id: z.string(), ts: z.number() });
  const Payment = z.object({ order: z.string(), ts: z.number() });
  const paidOrders = () => {
    const p = pipeline('paid-orders');
    const orders = p.source('orders', { schema: Order, eventTime: (o) => o.ts });
    const payments = p.source('payments', { schema: Payment, eventTime: (x) => x.ts });
    orders
      .join(payments, {
        left: (o) => o.id,
        right: (x) => x.order,
        within: { after: '1m' },
        type: 'left',
        lateOutput: 'late-payments',
      })
      .map(([o, x]) => ({ order: o.id, paidAt: x?.ts ?? null }))
      .sink('paid');
    return p;
  };

  it('pairs within the interval at once, and emits an unpaid order once both watermarks pass its interval', async () => {
    // Prepare
    const driver = new PipelineTestDriver(paidOrders());
    const orders = driver.input<z.infer<typeof Order>>('orders');
    const payments = driver.input<z.infer<typeof Payment>>('payments');
    const paid = driver.output<{ order: string; paidAt: number | null }>('paid');

    // Act / Assess: arrival order across the two sources is the order of the calls.
    await orders.pipeAll([
      { id: 'o1', ts: 1_000 },
      { id: 'o2', ts: 2_000 },
    ]);
    await payments.pipe({ order: 'o1', ts: 30_000 });
    expect(paid.readValuesToList()).toEqual([{ order: 'o1', paidAt: 30_000 }]);
    await driver.advanceWatermark('orders', 70_000);
    expect(paid.isEmpty()).toBe(true);
    await driver.advanceWatermark('payments', 70_000);
    expect(paid.readValuesToList()).toEqual([{ order: 'o2', paidAt: null }]);
  });

  it('sends a payment that comes after its order was emitted unpaid to the late output', async () => {
    // Prepare
    const driver = new PipelineTestDriver(paidOrders());
    await driver.input<z.infer<typeof Order>>('orders').pipe({ id: 'o1', ts: 1_000 });
    await driver.advanceWatermark('orders', 5 * MINUTE);
    await driver.advanceWatermark('payments', 5 * MINUTE);

    // Act
    const step = await driver.input<z.infer<typeof Payment>>('payments').pipe({ order: 'o1', ts: 20_000 });

    // Assess
    expect(driver.output('paid').allValues()).toEqual([{ order: 'o1', paidAt: null }]);
    expect(step.outputs['late-payments']).toHaveLength(1);
  });
});

describe("PipelineTestDriver: the README's example", () => {
  it('counts views per page per minute, and sends late clicks aside', async () => {
    const driver = new PipelineTestDriver(pageViewCounts);
    const clicks = driver.input<Click>('clicks');
    const counts = driver.output<{ key: string; windowStart: number; value: number }>('page-view-counts');

    await clicks.pipeAll([
      { user: 'u1', page: '/a', kind: 'view', ts: 1_000 },
      { user: 'u2', page: '/a', kind: 'view', ts: 2_000 },
    ]);
    expect(counts.isEmpty()).toBe(true);
    await driver.advanceWatermark('clicks', 90_000);
    expect(counts.readValue()).toMatchObject({ key: '/a', windowStart: 0, value: 2 });

    await clicks.pipe({ user: 'u3', page: '/a', kind: 'view', ts: 3_000 });
    expect(driver.lateOutput('late-clicks').readValue()).toMatchObject({ time: 3_000, watermark: 90_000 });

    await clicks.pipeRaw(['{not json']);
    expect(driver.deadLetters().readValue().error.reason).toBe('malformed-json');
  });
});
