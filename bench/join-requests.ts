/**
 * DynamoDB requests of the join stage of examples/orders-payments.ts, per input record and per
 * emitted row, beside one write per record: the real source and join stages run in process, the
 * shuffle packs routed to their shards in memory, over an in-memory store that counts the requests
 * DynamoDB would get. The output is checked against the nested-loop join (test/reference).
 *
 *   npx tsx bench/join-requests.ts [--orders 50000] [--batch 100]
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

const { values } = parseArgs({
  options: { orders: { type: 'string', default: '50000' }, batch: { type: 'string', default: '100' } },
});
const batchSize = Number(values.batch);
const sample = generateOrders({ orders: Number(values.orders), seed: 5, lateRate: 0 });
const plan = ordersPayments.plan();
const shards = new UniformShardDirectory(new Map(plan.streams.map((s) => [s.name, s.shardCount])));
const joinStream = 'orders-with-payments-order-payment';

let sequence = 1_000_000n;
const asRecords = (stream: string, shardId: string, data: readonly string[], keys: readonly string[]): InputRecord[] =>
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

// The join stage reads each shard of its stream: the packs routed by their explicit hash key.
const byShard = new Map<string, OutputRecord[]>();
for (const pack of shuffle.streams.get(joinStream) ?? []) {
  byShard.set(pack.explicitHashKey ?? '0', [...(byShard.get(pack.explicitHashKey ?? '0') ?? []), pack]);
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
for (const [shard, packs] of byShard) {
  const records = asRecords(
    joinStream,
    `shard-${shard}`,
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
const counts = store.counter.snapshot();
const input = sample.orders.length + sample.payments.length;
const perRecord = (n: number) => (n / input).toFixed(3);
console.log(
  `join stage over ${input} records (${envelopes} envelopes, source batches of ${batchSize}), ${rows.length} rows`,
);
console.log(`rows equal the nested-loop join: ${exact} (${expected.size} expected)`);
console.log(`DynamoDB requests per input record        ${perRecord(counts.requests)}  (one write per record: 1)`);
console.log(`  Query (buffered records of a key)       ${perRecord(counts.byOperation.Query)}`);
console.log(`  BatchWriteItem (25 records a request)   ${perRecord(counts.byOperation.BatchWriteItem)}`);
console.log(
  `  GetItem/PutItem (channel watermarks)    ${perRecord(counts.byOperation.GetItem + counts.byOperation.PutItem)}`,
);
console.log(`DynamoDB requests per emitted row         ${(counts.requests / rows.length).toFixed(3)}`);
console.log(`write capacity units per input record     ${perRecord(counts.writeUnits)}`);
if (!exact) process.exitCode = 1;
