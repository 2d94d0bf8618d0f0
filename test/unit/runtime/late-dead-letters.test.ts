import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { type PipelineOptions, pipeline } from '../../../shared/index.js';
import type { DeadLetterEnvelope } from '../../../shared/runtime/dead-letter.js';
import type { LateOutputRecord } from '../../../shared/runtime/window-stage.js';
import { count, tumbling } from '../../../shared/windows/index.js';
import { PipelineTestDriver } from '../../../testing/index.js';

const Click = z.object({ page: z.string(), ts: z.number() });
type Click = z.infer<typeof Click>;
const MINUTE = 60_000;

/** Counts per page and minute; late clicks to `lateOutput` when named, else where the options say. */
function counts(options: PipelineOptions, lateOutput?: string) {
  return pipeline('counts', options)
    .source('clicks', { schema: Click, eventTime: (c) => c.ts })
    .keyBy((c) => c.page, { name: 'by-page' })
    .window(tumbling('1m'), { allowedLateness: '10s', ...(lateOutput !== undefined && { lateOutput }) })
    .aggregate(count(), { name: 'per-minute' })
    .sink('counts');
}

const Order = z.object({ id: z.string(), ts: z.number() });
const Payment = z.object({ order: z.string(), ts: z.number() });

function paidOrders(options: PipelineOptions) {
  const p = pipeline('paid-orders', options);
  const orders = p.source('orders', { schema: Order, eventTime: (o) => o.ts });
  const payments = p.source('payments', { schema: Payment, eventTime: (x) => x.ts });
  orders
    .join(payments, { name: 'paid', left: (o) => o.id, right: (x) => x.order, within: { after: '1m' }, type: 'left' })
    .map(([o, x]) => ({ order: o.id, paidAt: x?.ts ?? null }))
    .sink('paid');
  return p;
}

/** The late record's event time, watermark and key, from a late-stream record or a late dead letter. */
function lateOf(letter: DeadLetterEnvelope) {
  expect(letter.error.reason).toBe('late');
  return letter.error.late;
}

describe("lateRecords: 'dead-letter'", () => {
  it('plans no late stream for a window or join that names none, and keeps a named one', () => {
    const streams = (p: ReturnType<typeof counts>) => p.plan().streams.map((s) => `${s.name}:${s.role}`);
    expect(streams(counts({}))).toContain('counts-per-minute-late:side-output');
    expect(streams(counts({ lateRecords: 'dead-letter' })).filter((s) => s.endsWith('side-output'))).toEqual([]);
    expect(streams(counts({ lateRecords: 'dead-letter' }, 'late-clicks'))).toContain('late-clicks:side-output');
    expect(
      paidOrders({ lateRecords: 'dead-letter' })
        .plan()
        .streams.map((s) => s.role),
    ).not.toContain('side-output');
    expect(
      paidOrders({})
        .plan()
        .streams.map((s) => s.name),
    ).toContain('paid-orders-paid-late');
  });

  it('sends a late click to the dead letters, naming the window, its event time and the watermark', async () => {
    // Prepare
    const driver = new PipelineTestDriver(counts({ lateRecords: 'dead-letter', deadLetter: { queue: true } }));
    const clicks = driver.input<Click>('clicks');
    await clicks.pipe({ page: '/a', ts: 1_000 });
    await driver.advanceWatermark('clicks', 2 * MINUTE);

    // Act
    const step = await clicks.pipe({ page: '/a', ts: 2_000 });

    // Assess: one dead letter, reason late, nothing else written; the window's count unchanged.
    expect(step.outputs).toEqual({});
    expect(step.deadLetters).toHaveLength(1);
    const [letter] = step.deadLetters as [DeadLetterEnvelope];
    expect(lateOf(letter)).toEqual({ key: '/a', time: 2_000, watermark: 2 * MINUTE });
    expect(letter.error.operator).toBe('per-minute');
    expect(letter.error.message).toContain("window 'per-minute' (tumbling 60000 ms)");
    expect(letter.error.message).toContain('event time 2000 (1970-01-01T00:00:02.000Z)');
    expect(letter.error.message).toContain(`watermark ${2 * MINUTE} (1970-01-01T00:02:00.000Z)`);
    expect(letter.stage).toBe(driver.plan.stages.find((stage) => stage.stateful)?.id);
    expect(
      driver
        .output<{ value: number }>('counts')
        .readValuesToList()
        .map((c) => c.value),
    ).toEqual([1]);
  });

  it('sends a payment too late to join to the dead letters, naming the join and its side', async () => {
    // Prepare
    const driver = new PipelineTestDriver(paidOrders({ lateRecords: 'dead-letter' }));
    await driver.input<z.infer<typeof Order>>('orders').pipe({ id: 'o1', ts: 1_000 });
    await driver.advanceWatermark('orders', 5 * MINUTE);
    await driver.advanceWatermark('payments', 5 * MINUTE);

    // Act
    const step = await driver.input<z.infer<typeof Payment>>('payments').pipe({ order: 'o1', ts: 20_000 });

    // Assess
    expect(step.outputs).toEqual({});
    const [letter] = step.deadLetters as [DeadLetterEnvelope];
    expect(lateOf(letter)).toMatchObject({ key: 'o1', time: 20_000 });
    expect(letter.error.message).toContain("join 'paid' (interval -0 ms to +60000 ms) (right side)");
    expect(driver.output('paid').allValues()).toEqual([{ order: 'o1', paidAt: null }]);
  });

  it('puts every late record among the dead letters that a late stream would get, and changes no result', async () => {
    // Clicks on two pages in arrival order, with watermark jumps between them: some come late.
    const steps = fc.array(
      fc.oneof(
        fc.record({ page: fc.constantFrom('/a', '/b'), ts: fc.integer({ min: 0, max: 5 * MINUTE }) }),
        fc.record({ watermark: fc.integer({ min: 0, max: 5 * MINUTE }) }),
      ),
      { maxLength: 25 },
    );
    let runsWithLateRecords = 0;
    await fc.assert(
      fc.asyncProperty(steps, async (script) => {
        const run = async (options: PipelineOptions) => {
          const driver = new PipelineTestDriver(counts(options));
          const clicks = driver.input<Click>('clicks');
          let watermark = 0;
          for (const step of script) {
            if ('watermark' in step) {
              watermark = Math.max(watermark, step.watermark);
              await driver.advanceWatermark('clicks', watermark);
            } else await clicks.pipe(step);
          }
          await driver.endInput();
          return {
            results: driver.output('counts').allValues(),
            late:
              options.lateRecords === 'dead-letter'
                ? []
                : driver
                    .output<LateOutputRecord>('counts-per-minute-late')
                    .allValues()
                    .map(({ key, time, watermark: missed }) => ({ key, time, watermark: missed })),
            letters: driver
              .deadLetters()
              .allValues()
              .map((letter) => lateOf(letter)),
          };
        };
        const stream = await run({});
        const letters = await run({ lateRecords: 'dead-letter' });
        expect(stream.letters).toEqual([]);
        expect(letters.letters).toEqual(stream.late);
        expect(letters.results).toEqual(stream.results);
        if (stream.late.length > 0) runsWithLateRecords += 1;
      }),
      { numRuns: 40 },
    );
    // The scripts do make late records: the property compared some.
    expect(runsWithLateRecords).toBeGreaterThan(0);
  });
});

describe("profile: 'cost'", () => {
  it('sets the cheapest options where the pipeline does not say otherwise', () => {
    const plan = counts({ profile: 'cost' }).plan();
    expect(plan.profile).toBe('cost');
    expect(plan.operatorMetrics).toBe(false);
    expect(plan.deadLetter).toEqual({ kind: 'queue', name: 'counts-dead-letters' });
    expect(plan.streams.map((s) => s.role)).not.toContain('side-output');
    expect(plan.streams.map((s) => s.role)).not.toContain('dead-letter');
    const windowed = plan.stages.find((s) => s.stateful);
    expect(windowed?.eventSource).toMatchObject({ batchSize: 10_000, maxBatchingWindowSeconds: 60 });
  });

  it("yields to the pipeline's own options", () => {
    const plan = counts(
      {
        profile: 'cost',
        batching: 'latency',
        deadLetterStream: 'letters',
        lateRecords: 'stream',
        operatorMetrics: true,
      },
      undefined,
    ).plan();
    expect(plan.operatorMetrics).toBeUndefined();
    expect(plan.deadLetter).toEqual({ kind: 'stream', name: 'letters' });
    expect(plan.streams.map((s) => s.name)).toContain('counts-per-minute-late');
    expect(plan.stages.find((s) => s.stateful)?.eventSource.maxBatchingWindowSeconds).toBe(1);
    expect(counts({ profile: 'cost', deadLetter: { name: 'dlq' } }).plan().deadLetter).toEqual({
      kind: 'queue',
      name: 'dlq',
    });
  });

  it('refuses an unknown profile or lateRecords, naming the pipeline', () => {
    expect(() => counts({ profile: 'cheap' as never })).toThrow(
      /pipeline 'counts'.*profile must be 'default' or 'cost'/,
    );
    expect(() => counts({ lateRecords: 'drop' as never })).toThrow(/lateRecords must be 'stream' or 'dead-letter'/);
    expect(() => counts({ operatorMetrics: 'no' as never })).toThrow(/operatorMetrics must be true or false/);
  });
});
