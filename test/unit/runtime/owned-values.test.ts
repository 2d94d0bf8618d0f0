import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { pipeline, state } from '../../../shared/index.js';
import { PipelineTestDriver } from '../../../testing/index.js';

// A user function that changes the value it is given must not change what another branch, another
// row of the same buffered record, or a later record enriched with the same row sees: each result
// must equal the one the same pipeline gives with functions that change nothing.

const Click = z.object({ page: z.string(), ts: z.number() });
const Order = z.object({ id: z.string(), tag: z.string(), ts: z.number() });
const Payment = z.object({ order: z.string(), ts: z.number() });
const Account = z.object({ accountId: z.string(), plan: z.string() });

/** Appends '!' to a string field of the value it is given, in place when `mutate`, else on a copy. */
function marked<T extends Record<string, unknown>>(value: T, field: keyof T, mutate: boolean): T {
  const target = mutate ? value : { ...value };
  (target as Record<string, unknown>)[field as string] = `${String(value[field])}!`;
  return target;
}

function branches(mutate: boolean) {
  const p = pipeline('branches');
  const clicks = p.source('clicks', { schema: Click, eventTime: (c) => c.ts });
  clicks.map((c) => marked(c, 'page', mutate)).sink('marked');
  clicks.map((c) => marked(c, 'page', mutate)).sink('marked-again');
  clicks.sink('as-read');
  return p;
}

function paidOrders(mutate: boolean) {
  const p = pipeline('paid');
  const orders = p.source('orders', { schema: Order, eventTime: (o) => o.ts });
  const payments = p.source('payments', { schema: Payment, eventTime: (x) => x.ts });
  orders
    .join(payments, { name: 'paid', left: (o) => o.id, right: (x) => x.order, within: { after: '1m' } })
    .map(([o, x]) => ({ ...marked(o, 'tag', mutate), paidAt: x.ts }))
    .sink('paid');
  return p;
}

function enriched(mutate: boolean) {
  const p = pipeline('enriched');
  const accounts = p.table('accounts', { tableName: 'accounts', partitionKey: 'accountId', schema: Account });
  p.source('clicks', { schema: Click, eventTime: (c) => c.ts })
    .enrich(accounts, { key: (c) => c.page })
    .map(([c, account]) => ({ page: c.page, plan: marked(account, 'plan', mutate).plan }))
    .sink('plans');
  return p;
}

function seen(mutate: boolean) {
  const declared = { pages: state.value<{ pages: string[] }>() };
  const p = pipeline('seen');
  p.source('clicks', { schema: Click, eventTime: (c) => c.ts })
    .keyBy(() => 'all', { name: 'all' })
    .process(
      {
        processElement(c, ctx) {
          const seen = ctx.state.pages.value() ?? { pages: [] };
          seen.pages.push(c.page);
          ctx.state.pages.update(seen);
          // The state's own object, emitted: what the next map does to it must not reach the state.
          ctx.emit(seen);
        },
      },
      { state: declared, name: 'pages-so-far' },
    )
    .map((emitted) => {
      const seen = emitted as { pages: string[] };
      const target = mutate ? seen : { pages: [...seen.pages] };
      target.pages.push('!');
      return target;
    })
    .sink('seen');
  return p;
}

/** Pipes the values in batches cut at the given sizes, and returns everything each sink got. */
async function run(
  driver: PipelineTestDriver,
  inputs: readonly { stream: string; value: unknown }[],
  cuts: readonly number[],
): Promise<Record<string, unknown[]>> {
  const outputs: Record<string, unknown[]> = {};
  let at = 0;
  for (const size of [...cuts, inputs.length]) {
    const batch = inputs.slice(at, at + Math.max(1, size));
    at += batch.length;
    // One stream per batch, as a shard's batch holds one stream's records.
    for (const stream of new Set(batch.map((i) => i.stream))) {
      const step = await driver.input(stream).pipeAll(batch.filter((i) => i.stream === stream).map((i) => i.value));
      for (const [sink, values] of Object.entries(step.outputs)) outputs[sink] = [...(outputs[sink] ?? []), ...values];
    }
    if (at >= inputs.length) break;
  }
  return outputs;
}

const cuts = fc.array(fc.integer({ min: 1, max: 6 }), { maxLength: 6 });

describe('a value a user function changes is its own', () => {
  it('branches after one operator each see the value as read', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom('/a', '/b'), { minLength: 1, maxLength: 12 }),
        cuts,
        async (pages, cut) => {
          const inputs = pages.map((page, ts) => ({ stream: 'clicks', value: { page, ts } }));
          const got = await run(new PipelineTestDriver(branches(true)), inputs, cut);
          const want = await run(new PipelineTestDriver(branches(false)), inputs, cut);
          expect(got).toEqual(want);
          expect(got['as-read']).toEqual(inputs.map((i) => i.value));
        },
      ),
      { numRuns: 40 },
    );
  });

  it('an order in several rows of one batch is as read in each', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 1, maxLength: 12 }),
        cuts,
        async (paid, cut) => {
          const orders = [0, 1, 2].map((n) => ({ stream: 'orders', value: { id: `o${n}`, tag: 't', ts: n } }));
          const payments = paid.map((n, i) => ({ stream: 'payments', value: { order: `o${n}`, ts: 10 + i } }));
          const inputs = [...orders, ...payments];
          const got = await run(new PipelineTestDriver(paidOrders(true)), inputs, cut);
          const want = await run(new PipelineTestDriver(paidOrders(false)), inputs, cut);
          expect(got).toEqual(want);
          expect((got.paid ?? []).map((row) => (row as { tag: string }).tag)).toEqual(paid.map(() => 't!'));
        },
      ),
      { numRuns: 40 },
    );
  });

  it("a process function's emitted state is as it keeps it", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom('/a', '/b'), { minLength: 1, maxLength: 8 }),
        cuts,
        async (pages, cut) => {
          const inputs = pages.map((page, ts) => ({ stream: 'clicks', value: { page, ts } }));
          const got = await run(new PipelineTestDriver(seen(true)), inputs, cut);
          expect(got).toEqual(await run(new PipelineTestDriver(seen(false)), inputs, cut));
          expect(got.seen?.at(-1)).toEqual({ pages: [...pages, '!'] });
        },
      ),
      { numRuns: 30 },
    );
  });

  it('a table row enriches every record of its key as read', async () => {
    const driverOf = (mutate: boolean) => {
      const driver = new PipelineTestDriver(enriched(mutate));
      driver.seedTable('accounts', [{ accountId: '/a', plan: 'pro' }]);
      return driver;
    };
    const inputs = [0, 1, 2].map((ts) => ({ stream: 'clicks', value: { page: '/a', ts } }));
    const got = await run(driverOf(true), inputs, []);
    expect(got.plans).toEqual(await run(driverOf(false), inputs, []).then((o) => o.plans));
    expect(got.plans).toEqual(inputs.map(() => ({ page: '/a', plan: 'pro!' })));
  });
});
