/**
 * DynamoDB requests of the join stage of examples/orders-payments.ts, per input record and per
 * emitted row, beside one write per record: the real source and join stages run in process, the
 * shuffle packs routed to their shards in memory, over an in-memory store that counts the requests
 * DynamoDB would get. The output is checked against the nested-loop join (test/reference).
 *
 *   npx tsx bench/join-requests.ts [--orders 50000] [--batch 100]
 *
 * bench/run-all.ts calls `run()`, which returns the rows.
 */
import { parseArgs } from 'node:util';
import { generateOrders } from '../examples/data/order-generator.js';
import ordersPayments from '../examples/orders-payments.js';
import { MemoryRecordWriter } from '../shared/runtime/io/memory-record-writer.js';
import { MemoryWindowStore } from '../shared/runtime/io/memory-window-store.js';
import { UniformShardDirectory } from '../shared/runtime/io/shard-directory.js';
import type { InputRecord, OutputRecord } from '../shared/runtime/records.js';
import { StageRunner } from '../shared/runtime/stage-runner.js';
import { CONTROL_PARTITION_KEY, END_OF_INPUT_DATA } from '../shared/runtime/watermark-records.js';
import { joinOrdersPayments, type Order, type PaidOrder, type Payment } from '../test/reference/orders-payments.js';
import { type BenchOptions, type BenchRow, isMain } from './results.js';

export interface JoinRequestsResult {
  readonly input: number;
  readonly envelopes: number;
  readonly batchSize: number;
  readonly rows: number;
  readonly expected: number;
  readonly exact: boolean;
  readonly counts: ReturnType<MemoryWindowStore['counter']['snapshot']>;
}

/** Runs the source stages and the join stage in process; what run() and the standalone output report. */
export async function measure(orders: number, batchSize: number): Promise<JoinRequestsResult> {
  const sample = generateOrders({ orders, seed: 5, lateRate: 0 });
  const plan = ordersPayments.plan();
  const shards = new UniformShardDirectory(new Map(plan.streams.map((s) => [s.name, s.shardCount])));
  const joinStream = 'orders-with-payments-order-payment';

  let sequence = 1_000_000n;
  const asRecords = (
    stream: string,
    shardId: string,
    data: readonly string[],
    keys: readonly string[],
  ): InputRecord[] =>
    data.map((d, i) => {
      sequence += 1n;
      const position = { stream, shardId, sequenceNumber: `${sequence}`, partitionKey: keys[i] ?? 'k', arrivalTime: 0 };
      return { position, data: Buffer.from(d) };
    });

  // The source stages, over the example's two shards a source (each in arrival order), in batches.
  const shuffle = new MemoryRecordWriter();
  for (const [stream, lines] of [
    ['orders', sample.orders],
    ['payments', sample.payments],
  ] as const) {
    const runner = new StageRunner({ pipeline: ordersPayments, stageId: `from-${stream}`, writer: shuffle, shards });
    for (const [index, shard] of (await shards.openShards(stream)).entries()) {
      const mine = lines.filter((_, i) => i % 2 === index);
      const keys = [...mine.map((_, i) => `k${i}`), CONTROL_PARTITION_KEY];
      const records = asRecords(stream, shard.shardId, [...mine, END_OF_INPUT_DATA], keys);
      for (let i = 0; i < records.length; i += batchSize) {
        await runner.run(records.slice(i, i + batchSize), Date.now() + 60_000);
      }
    }
  }

  // The join stage reads each shard of its stream: the packs routed by their explicit hash key, to the
  // shard they name (a consumer drops a pack meant for another shard).
  const shardOfKey = new Map((await shards.openShards(joinStream)).map((s) => [s.startingHashKey, s.shardId]));
  const byShard = new Map<string, OutputRecord[]>();
  for (const pack of shuffle.streams.get(joinStream) ?? []) {
    const shardId = shardOfKey.get(pack.explicitHashKey ?? '0') ?? 'unknown';
    const list = byShard.get(shardId) ?? [];
    list.push(pack);
    byShard.set(shardId, list);
  }
  const store = new MemoryWindowStore();
  const sink = new MemoryRecordWriter();
  const joiner = new StageRunner({
    pipeline: ordersPayments,
    stageId: `from-${joinStream}`,
    writer: sink,
    store,
    shards,
  });
  let envelopes = 0;
  for (const [shardId, packs] of byShard) {
    const records = asRecords(
      joinStream,
      shardId,
      packs.map((p) => p.data),
      packs.map((p) => p.partitionKey),
    );
    for (const pack of packs) envelopes += (JSON.parse(pack.data).e as unknown[]).length;
    // A few packs a batch: each pack holds a source batch's envelopes for this shard.
    for (let i = 0; i < records.length; i += 4) await joiner.run(records.slice(i, i + 4), Date.now() + 60_000);
  }

  const rows = sink.values('paid-orders') as PaidOrder[];
  const expected = joinOrdersPayments(
    sample.orders.map((l) => JSON.parse(l) as Order),
    sample.payments.map((l) => JSON.parse(l) as Payment),
  );
  const emitted = new Set(rows.map((r) => `${r.orderId}|${r.paymentId ?? ''}`));
  const exact = emitted.size === expected.size && [...expected.keys()].every((id) => emitted.has(id));
  return {
    input: sample.orders.length + sample.payments.length,
    envelopes,
    batchSize,
    rows: rows.length,
    expected: expected.size,
    exact,
    counts: store.counter.snapshot(),
  };
}

export async function run(
  options: BenchOptions & { readonly orders?: number; readonly batch?: number } = {},
): Promise<BenchRow[]> {
  const r = await measure(options.orders ?? (options.scale === 'full' ? 200_000 : 50_000), options.batch ?? 100);
  const perRecord = (n: number) => Number((n / r.input).toFixed(3));
  const { counts } = r;
  return [
    {
      name: `join stage: DynamoDB requests per input record (source batches of ${r.batchSize})`,
      value: perRecord(counts.requests),
      unit: 'requests/record',
      baseline: 'one write per record',
      baselineValue: 1,
      ratio: perRecord(counts.requests),
    },
    {
      name: 'join stage: Query (buffered records of a key) per input record',
      value: perRecord(counts.byOperation.Query),
      unit: 'requests/record',
    },
    {
      name: 'join stage: BatchWriteItem (25 records a request) per input record',
      value: perRecord(counts.byOperation.BatchWriteItem),
      unit: 'requests/record',
    },
    {
      name: 'join stage: BatchGetItem (due records read again, 100 a request) per input record',
      value: perRecord(counts.byOperation.BatchGetItem),
      unit: 'requests/record',
    },
    {
      name: 'join stage: GetItem/PutItem (channel watermarks) per input record',
      value: perRecord(counts.byOperation.GetItem + counts.byOperation.PutItem),
      unit: 'requests/record',
    },
    {
      name: 'join stage: DynamoDB requests per emitted row',
      value: Number((counts.requests / r.rows).toFixed(3)),
      unit: 'requests/row',
    },
    {
      name: 'join stage: write capacity units per input record',
      value: perRecord(counts.writeUnits),
      unit: 'WCU/record',
    },
    {
      name: 'join stage: rows equal the nested-loop join',
      value: r.exact ? 1 : 0,
      unit: 'bool',
      target: `${r.expected} rows, exactly`,
      met: r.exact,
    },
  ];
}

if (isMain(import.meta.url)) {
  const { values } = parseArgs({
    options: { orders: { type: 'string', default: '50000' }, batch: { type: 'string', default: '100' } },
  });
  const r = await measure(Number(values.orders), Number(values.batch));
  const { counts, input } = r;
  const perRecord = (n: number) => (n / input).toFixed(3);
  console.log(
    `join stage over ${input} records (${r.envelopes} envelopes, source batches of ${r.batchSize}), ${r.rows} rows`,
  );
  console.log(`rows equal the nested-loop join: ${r.exact} (${r.expected} expected)`);
  console.log(`DynamoDB requests per input record        ${perRecord(counts.requests)}  (one write per record: 1)`);
  console.log(`  Query (buffered records of a key)       ${perRecord(counts.byOperation.Query)}`);
  console.log(`  BatchWriteItem (25 records a request)   ${perRecord(counts.byOperation.BatchWriteItem)}`);
  console.log(`  BatchGetItem (due records read again)   ${perRecord(counts.byOperation.BatchGetItem)}`);
  console.log(
    `  GetItem/PutItem (channel watermarks)    ${perRecord(counts.byOperation.GetItem + counts.byOperation.PutItem)}`,
  );
  console.log(`DynamoDB requests per emitted row         ${(counts.requests / r.rows).toFixed(3)}`);
  console.log(`write capacity units per input record     ${perRecord(counts.writeUnits)}`);
  if (!r.exact) process.exitCode = 1;
}
