/**
 * DynamoDB requests per 1,000 events of a keyed process function (100 keys, a count per key and
 * minute in map state, an event-time timer per minute) and of a CEP pattern on the same input (a
 * then b within a minute, docs/cep.md), for batches of 100 and 1,000 records, beside the minimum:
 * one write per key touched per batch. The real process stage runs in process over the in-memory
 * store that counts the requests DynamoDB would get.
 *
 *   npx tsx bench/process-requests.ts [--events 100000]
 */
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { begin, type Pipeline, pipeline, state } from '../shared/index.js';
import { MemoryRecordWriter } from '../shared/runtime/io/memory-record-writer.js';
import { MemoryWindowStore } from '../shared/runtime/io/memory-window-store.js';
import { StageRunner } from '../shared/runtime/stage-runner.js';
import { type BenchOptions, type BenchRow, isMain } from './results.js';
import { shuffleBatches } from './state-requests.js';

const MINUTE = 60_000;
const Event = z.object({ key: z.string(), t: z.number() });
const declared = { counts: state.map<number>() };
type Event = z.infer<typeof Event>;
const keyed = () =>
  pipeline('bench')
    .source('events', { schema: Event, eventTime: (e) => e.t, maxOutOfOrderness: '5s' })
    .keyBy((e) => e.key, { name: 'by-key' });
const perMinute = keyed()
  .process(
    {
      processElement(_event, context) {
        const minute = String(Math.floor(context.timestamp / MINUTE) * MINUTE);
        context.state.counts.put(minute, (context.state.counts.get(minute) ?? 0) + 1);
        context.timers.registerEventTimeTimer(Number(minute) + MINUTE - 1);
      },
      onTimer(time, context) {
        const minute = String(time + 1 - MINUTE);
        context.emit({ key: context.key, minute, views: context.state.counts.get(minute) ?? 0 });
        context.state.counts.remove(minute);
      },
    },
    { state: declared },
  )
  .sink('counts');

// A key sees an event about every second; about one in eight is an `a`, one in eight a `b`.
const aThenB = keyed()
  .pattern(
    begin<Event>('a', (e) => e.t % 8 === 0).followedBy('b', (e) => e.t % 8 === 1),
    { within: MINUTE },
  )
  .sink('matches');

/** `events` defaults to 100,000 (1,000,000 at `scale: 'full'`), as in bench/state-requests.ts. */
export async function run(options: BenchOptions & { readonly events?: number } = {}): Promise<BenchRow[]> {
  const events = options.events ?? (options.scale === 'full' ? 1_000_000 : 100_000);
  return [...(await measure(perMinute, '', events)), ...(await measure(aThenB, 'cep, ', events))];
}

async function measure(built: Pipeline, label: string, events: number): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  for (const batchSize of [100, 1000]) {
    const store = new MemoryWindowStore();
    const runner = new StageRunner({
      pipeline: built,
      stageId: 'from-bench-by-key',
      writer: new MemoryRecordWriter(),
      store,
    });
    const { batches } = shuffleBatches(events, batchSize);
    let keysTouched = 0;
    for (const batch of batches) {
      keysTouched += new Set(batch.map((r) => r.position.partitionKey).filter((k) => k !== 'wm')).size;
      await runner.run(batch, Date.now() + 60_000);
    }
    const counts = store.counter.snapshot();
    const per1000 = (n: number) => Number(((n / events) * 1000).toFixed(1));
    rows.push(
      {
        name: `${label}batch ${batchSize}: DynamoDB requests per 1,000 events (all)`,
        value: per1000(counts.requests),
        unit: 'requests',
      },
      {
        name: `${label}batch ${batchSize}: key item writes per 1,000 events`,
        value: per1000(counts.byOperation.UpdateItem + counts.byOperation.PutItem - batches.length),
        unit: 'writes',
        baseline: `minimum ${per1000(keysTouched)} (keys touched per batch), one per event 1000`,
      },
      {
        name: `${label}batch ${batchSize}: reads per 1,000 events (BatchGetItem, Query, GetItem)`,
        value: per1000(counts.byOperation.BatchGetItem + counts.byOperation.Query + counts.byOperation.GetItem),
        unit: 'requests',
      },
    );
  }
  return rows;
}

if (isMain(import.meta.url)) {
  const { values } = parseArgs({ options: { events: { type: 'string', default: '100000' } } });
  for (const r of await run({ events: Number(values.events) })) {
    console.log(
      `${r.name.padEnd(62)} ${String(r.value).padStart(8)} ${r.unit}${r.baseline ? `   (${r.baseline})` : ''}`,
    );
  }
}
