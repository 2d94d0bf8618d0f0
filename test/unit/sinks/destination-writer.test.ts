import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDestinationClients } from '../../../local/aws-clients.js';
import { DestinationStandIn } from '../../../local/destinations/destination-stand-in.js';
import type { DestinationSpec } from '../../../shared/dag/plan-types.js';
import { DestinationWriter } from '../../../shared/runtime/io/destination-writer.js';
import { MemoryRecordWriter } from '../../../shared/runtime/io/memory-record-writer.js';
import type { OutputRecord } from '../../../shared/runtime/records.js';
import { destinationMessageOf } from '../../../shared/sinks/destinations.js';

/**
 * The message sinks' writer with the real SDK clients against the local stand-in, which enforces
 * each API's limits and injects throttling, failed entries and lost responses.
 */
const specs: Record<string, DestinationSpec> = {
  'alerts.fifo': { name: 'alerts.fifo', service: 'sqs', fifo: true, writers: [] },
  alerts: { name: 'alerts', service: 'sqs', writers: [] },
  shop: { name: 'shop', service: 'eventbridge', detailType: 'Order', source: 'shop.orders', writers: [] },
  archive: { name: 'archive', service: 'firehose', writers: [] },
};

let standIn: DestinationStandIn;
let run = 0;
beforeAll(async () => {
  standIn = await DestinationStandIn.start({ faults: { rate: 0, seed: 7 } });
});
afterAll(async () => {
  await standIn.stop();
});

/** A writer for fresh destinations (a run's own names), and the names. */
function freshWriter(streams = new MemoryRecordWriter()) {
  run += 1;
  const targets: Record<string, string> = {};
  const destinations = Object.values(specs).map((spec) => {
    const physical = spec.name.replace(/(\.fifo)?$/, `-${run}$1`);
    targets[spec.name] = standIn.create(spec.service, physical);
    return { spec, physical };
  });
  const writer = new DestinationWriter(streams, {
    destinations: Object.values(specs),
    targets,
    clients: createDestinationClients(standIn.endpoint),
    backoff: { baseMs: 1, capMs: 4 },
    safetyMarginMs: 0,
  });
  const physical = (name: string) => destinations.find((d) => d.spec.name === name)?.physical ?? '';
  return { writer, physical };
}

/** The record a stage emits for output `n` (order n of account n % 5) to a destination. */
function outputOf(destination: string, n: number): OutputRecord {
  const spec = specs[destination] as DestinationSpec;
  const message = destinationMessageOf(
    { operator: `to-${destination}`, service: spec.service, target: destination, fifo: spec.fifo === true },
    { order: n, account: `a${n % 5}` },
    `orders/shard-0/${n}`,
    `a${n % 5}`,
  );
  return {
    stream: destination,
    partitionKey: message.group ?? '',
    data: message.data,
    messageId: message.id,
    origin: String(n),
  };
}

/** Writes until nothing fails, as Lambda delivers failed records again; counts the rounds. */
async function writeUntilDone(writer: DestinationWriter, records: OutputRecord[]): Promise<number> {
  let pending = records;
  let rounds = 0;
  while (pending.length > 0) {
    rounds += 1;
    if (rounds > 200) throw new Error('no progress after 200 rounds');
    pending = [...(await writer.write(pending, Date.now() + 50)).failed];
  }
  return rounds;
}

describe('DestinationWriter', () => {
  it('routes Kinesis records to the stream writer and batches each service within its limits', async () => {
    const streams = new MemoryRecordWriter();
    const { writer, physical } = freshWriter(streams);
    const before = { ...standIn.calls };
    const outputs = Array.from({ length: 1_200 }, (_, n) => n);
    const result = await writer.write(
      [
        ...outputs.slice(0, 25).map((n) => outputOf('alerts', n)),
        ...outputs.slice(0, 25).map((n) => outputOf('shop', n)),
        ...outputs.map((n) => outputOf('archive', n)),
        { stream: 'clicks-out', partitionKey: 'k', data: '{}', origin: '1' },
      ],
      Date.now() + 10_000,
    );
    expect(result.failed).toEqual([]);
    expect(streams.values('clicks-out')).toEqual([{}]);
    expect(standIn.calls.SendMessageBatch - before.SendMessageBatch).toBe(3); // 10 + 10 + 5
    expect(standIn.calls.PutEvents - before.PutEvents).toBe(3);
    expect(standIn.calls.PutRecordBatch - before.PutRecordBatch).toBe(3); // 500 + 500 + 200
    expect(standIn.messages(physical('alerts'))).toHaveLength(25);
    expect(standIn.events(physical('shop'))).toHaveLength(25);
    expect(standIn.records(physical('archive'))).toHaveLength(1_200);
    expect(result.requests).toBe(10);
  });

  it('sends the id as the eddyId attribute, and as deduplication id with the key as group on FIFO', async () => {
    const { writer, physical } = freshWriter();
    await writer.write([outputOf('alerts', 3), outputOf('alerts.fifo', 3)], Date.now() + 10_000);
    const id = outputOf('alerts', 3).messageId;
    expect(standIn.messages(physical('alerts'))).toEqual([
      { body: '{"order":3,"account":"a3"}', attributes: { eddyId: id } },
    ]);
    const [message] = standIn.messages(physical('alerts.fifo'));
    expect(message).toMatchObject({ groupId: 'a3', deduplicationId: outputOf('alerts.fifo', 3).messageId });
  });

  it('surfaces an error that is not transient (no such queue) instead of retrying it', async () => {
    const writer = new DestinationWriter(new MemoryRecordWriter(), {
      destinations: [specs.alerts as DestinationSpec],
      targets: { alerts: `${standIn.endpoint}/000000000000/missing` },
      clients: createDestinationClients(standIn.endpoint),
    });
    await expect(writer.write([outputOf('alerts', 1)], Date.now() + 10_000)).rejects.toThrow(/does not exist/);
  });

  it('refuses for good, without retrying, a message over an existing queue’s MaximumMessageSize, a malformed event and a call-sized refusal; sends the rest', async () => {
    // Prepare: an existing queue of 1 KiB messages; the others as freshWriter makes them.
    run += 1;
    const queue = standIn.create('sqs', `small-${run}`, { maximumMessageSize: 1024 });
    const bus = standIn.create('eventbridge', `bus-${run}`);
    const stream = standIn.create('firehose', `archive-${run}`);
    const writer = new DestinationWriter(new MemoryRecordWriter(), {
      destinations: [specs.alerts, specs.shop, specs.archive] as DestinationSpec[],
      targets: { alerts: queue, shop: bus, archive: stream },
      clients: createDestinationClients(standIn.endpoint),
      backoff: { baseMs: 1, capMs: 4 },
      safetyMarginMs: 0,
    });
    const big = { ...outputOf('alerts', 2), data: JSON.stringify({ order: 2, note: 'x'.repeat(2_000) }) };
    // Not an object: EventBridge answers MalformedDetail for the entry (the stage never emits one; a
    // stand-in for any per-entry refusal).
    const malformed = { ...outputOf('shop', 2), data: '[2]' };
    // Over Firehose's 1,000 KiB: the whole call is refused (InvalidArgumentException), and the
    // writer finds the record by sending the call's records one by one.
    const huge = { ...outputOf('archive', 2), data: `${JSON.stringify({ order: 2, note: 'x'.repeat(1_024_001) })}\n` };
    const before = { ...standIn.calls };

    // Act
    const result = await writer.write(
      [
        outputOf('alerts', 1),
        big,
        outputOf('alerts', 3),
        outputOf('shop', 1),
        malformed,
        outputOf('archive', 1),
        huge,
        outputOf('archive', 3),
      ],
      Date.now() + 60_000,
    );

    // Assess
    expect(result.failed).toEqual([]);
    expect(result.refused?.map((refused) => refused.record)).toEqual([big, malformed, huge]);
    const [queueError, busError, streamError] = result.refused?.map((refused) => refused.error) ?? [];
    expect(queueError).toEqual({
      reason: 'unwritable-output',
      operator: "toSqs('alerts')",
      message:
        `MessageBody of message ${big.messageId} (${Buffer.byteLength(big.data)} bytes) refused by SQS queue 'alerts' ` +
        'for good: InvalidParameterValue: One or more parameters are invalid. Reason: Message must be shorter than 1024 bytes.',
    });
    expect(busError?.message).toMatch(
      /^Detail of message \w{64} \(3 bytes\) refused by EventBridge bus 'shop' for good: MalformedDetail/,
    );
    expect(streamError?.message).toMatch(
      /^Data of message \w{64} \(\d+ bytes\) refused by Firehose delivery stream 'archive' for good: InvalidArgumentException/,
    );
    const orders = (bodies: readonly string[]) => bodies.map((body) => (JSON.parse(body) as { order: number }).order);
    expect(orders(standIn.messages(`small-${run}`).map((m) => m.body))).toEqual([1, 3]);
    expect(orders(standIn.events(`bus-${run}`).map((e) => e.detail))).toEqual([1]);
    expect(orders(standIn.records(`archive-${run}`))).toEqual([1, 3]);
    // Each refusal once: one call per service, and Firehose's refused call again record by record.
    expect(standIn.calls.SendMessageBatch - before.SendMessageBatch).toBe(1);
    expect(standIn.calls.PutEvents - before.PutEvents).toBe(1);
    expect(standIn.calls.PutRecordBatch - before.PutRecordBatch).toBe(4);
  });

  it('property: under throttling, failed entries, lost responses and repeats, FIFO holds each output once, the others its distinct ids', async () => {
    standIn.faults = { rate: 0.4 };
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.integer({ min: 0, max: 80 }), { minLength: 1, maxLength: 60 }),
          fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 4 }),
          async (outputs, splits) => {
            const { writer, physical } = freshWriter();
            // The pipeline's outputs, each sent in one or more deliveries (upstream repeats, Lambda retries).
            let offset = 0;
            for (const size of [...splits, outputs.length]) {
              const delivery = outputs.slice(offset, offset + size * 8);
              offset = Math.min(outputs.length, offset + size * 4);
              const records = Object.keys(specs).flatMap((name) => delivery.map((n) => outputOf(name, n)));
              await writeUntilDone(writer, records);
              if (delivery.length === 0) break;
            }
            await writeUntilDone(
              writer,
              Object.keys(specs).flatMap((name) => outputs.map((n) => outputOf(name, n))),
            );
            const distinct = [...new Set(outputs)].sort((a, b) => a - b);
            const orders = (lines: readonly string[]) =>
              lines.map((line) => (JSON.parse(line) as { order: number }).order);
            // FIFO: exactly once, by deduplication id.
            const fifo = standIn.messages(physical('alerts.fifo'));
            expect(orders(fifo.map((m) => m.body)).sort((a, b) => a - b)).toEqual(distinct);
            // Standard, EventBridge, Firehose: the distinct ids are the outputs', each id with its output.
            const byId = (pairs: [string, string][]) => {
              const map = new Map<string, number>();
              for (const [id, line] of pairs) {
                const order = (JSON.parse(line) as { order: number }).order;
                expect(map.get(id) ?? order).toBe(order);
                map.set(id, order);
              }
              return [...map.values()].sort((a, b) => a - b);
            };
            expect(byId(standIn.messages(physical('alerts')).map((m) => [m.attributes.eddyId ?? '', m.body]))).toEqual(
              distinct,
            );
            const withId = (line: string): [string, string] => [(JSON.parse(line) as { eddyId: string }).eddyId, line];
            expect(byId(standIn.events(physical('shop')).map((e) => withId(e.detail)))).toEqual(distinct);
            expect(byId(standIn.records(physical('archive')).map(withId))).toEqual(distinct);
          },
        ),
        { numRuns: 20 },
      );
      expect(standIn.calls.faults).toBeGreaterThan(20);
    } finally {
      standIn.faults = undefined;
    }
  });
});
