import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { type ProcessFunction, pipeline, type StateDescriptors, state } from '../../../shared/index.js';
import { MemoryRecordWriter } from '../../../shared/runtime/io/memory-record-writer.js';
import { MemoryWindowStore } from '../../../shared/runtime/io/memory-window-store.js';
import type { InputRecord } from '../../../shared/runtime/records.js';
import { StageRunner } from '../../../shared/runtime/stage-runner.js';
import { CONTROL_PARTITION_KEY, TICK_DATA } from '../../../shared/runtime/watermark-records.js';

const Event = z.object({ key: z.string(), t: z.number(), v: z.string().optional() });
type Event = z.infer<typeof Event>;

let sequence = 1000n;
const envelope = (event: Event): InputRecord =>
  record(JSON.stringify({ id: `e${sequence}`, k: event.key, t: event.t, v: event }), event.key);
const watermark = (wm: number): InputRecord =>
  record(JSON.stringify({ wm, ch: 'from-events/shardId-000000000000', n: 1 }), 'wm');
const tick = (): InputRecord => record(TICK_DATA, CONTROL_PARTITION_KEY);
function record(data: string, partitionKey: string): InputRecord {
  sequence += 1n;
  return {
    position: {
      stream: 'p-by-key',
      shardId: 'shardId-000000000000',
      sequenceNumber: sequence.toString(),
      partitionKey,
      arrivalTime: 0,
    },
    data: Buffer.from(data),
  };
}

/** A process stage on the memory store with a clock the test moves. */
function stage<S extends StateDescriptors>(
  fn: ProcessFunction<Event, unknown, S>,
  options: { state: S; processingTimers?: boolean; sideOutputs?: string[] },
) {
  const clock = { now: 0 };
  const p = pipeline('p')
    .source('events', { schema: Event, eventTime: (e) => e.t })
    .keyBy((e) => e.key, { name: 'by-key' })
    .process(fn, { ...options, name: 'fn' })
    .sink('out');
  const sink = new MemoryRecordWriter();
  const store = new MemoryWindowStore();
  const runner = new StageRunner({ pipeline: p, stageId: 'from-p-by-key', writer: sink, store, now: () => clock.now });
  const run = async (now: number, ...records: InputRecord[]) => {
    clock.now = now;
    return runner.run(records, Date.now() + 60_000);
  };
  return {
    run,
    sink,
    store,
    deadLetters: () =>
      sink.values(p.plan().deadLetter.name) as { error: { reason: string; operator: string; message: string } }[],
  };
}

describe('process stage', () => {
  it('fires a processing-time timer on a clock tick, with no record for its key', async () => {
    const declared = { armed: state.value<number>() };
    const { run, sink } = stage<typeof declared>(
      {
        processElement(event, context) {
          context.state.armed.update(event.t);
          context.timers.registerProcessingTimeTimer(context.timers.currentProcessingTime() + 500);
        },
        onTimer(time, context) {
          context.emit({ key: context.key, time, domain: context.domain, armed: context.state.armed.value() });
        },
      },
      { state: declared, processingTimers: true },
    );

    await run(1000, watermark(0), envelope({ key: 'a', t: 5 }));
    await run(1400, tick());
    expect(sink.values('out')).toEqual([]);
    await run(1600, tick());

    expect(sink.values('out')).toEqual([{ key: 'a', time: 1500, domain: 'processing', armed: 5 }]);
  });

  it('dead-letters a processing-time timer the operator does not declare', async () => {
    const { run, sink, deadLetters } = stage(
      {
        processElement(_event, context) {
          context.timers.registerProcessingTimeTimer(10);
        },
      },
      { state: {} },
    );

    await run(0, watermark(0), envelope({ key: 'a', t: 1 }));

    expect(sink.values('out')).toEqual([]);
    expect(deadLetters()).toHaveLength(1);
    expect(deadLetters()[0]?.error).toMatchObject({ operator: 'fn', reason: 'operator-error' });
    expect(deadLetters()[0]?.error.message).toContain('processingTimers: true');
  });

  it('forgets state after its TTL (processing time since the last write)', async () => {
    const declared = { last: state.value<number>({ ttl: 100 }) };
    const { run, sink } = stage<typeof declared>(
      {
        processElement(event, context) {
          context.emit({ t: event.t, before: context.state.last.value() ?? null });
          context.state.last.update(event.t);
        },
      },
      { state: declared },
    );

    await run(0, watermark(0), envelope({ key: 'a', t: 1 }));
    await run(99, envelope({ key: 'a', t: 2 }));
    await run(199, envelope({ key: 'a', t: 3 }));

    expect(sink.values('out')).toEqual([
      { t: 1, before: null },
      { t: 2, before: 1 },
      { t: 3, before: null },
    ]);
  });

  it('dead-letters the records that would outgrow an item, naming key and operator, and goes on', async () => {
    const declared = { all: state.list<string>() };
    const { run, sink, deadLetters } = stage<typeof declared>(
      {
        processElement(event, context) {
          context.state.all.add(event.v ?? '');
          context.emit({ key: context.key, size: context.state.all.get().length });
        },
      },
      { state: declared },
    );
    const big = 'x'.repeat(100 * 1024);

    await run(
      0,
      watermark(0),
      ...[1, 2, 3, 4, 5].map((t) => envelope({ key: 'a', t, v: big })),
      envelope({ key: 'b', t: 6, v: 'small' }),
    );
    await run(0, envelope({ key: 'a', t: 7, v: 'small' }));

    expect(sink.values('out')).toEqual([
      { key: 'a', size: 1 },
      { key: 'a', size: 2 },
      { key: 'a', size: 3 },
      { key: 'b', size: 1 },
      { key: 'a', size: 4 },
    ]);
    expect(deadLetters().map((l) => l.error.reason)).toEqual(['state-too-large', 'state-too-large']);
    expect(deadLetters()[0]?.error.operator).toBe('fn');
    expect(deadLetters()[0]?.error.message).toContain('key "a"');
  });

  it('dead-letters a timer whose effect would outgrow the item, naming key, timer and operator, and goes on', async () => {
    const declared = { all: state.list<string>() };
    const big = 'x'.repeat(200 * 1024);
    const { run, sink, deadLetters } = stage<typeof declared>(
      {
        processElement(event, context) {
          context.state.all.add(event.v ?? '');
          context.timers.registerEventTimeTimer(event.t + 10);
        },
        onTimer(time, context) {
          context.state.all.add(time === 11 ? big : 'small');
          context.emit({ key: context.key, time, size: context.state.all.get().length });
        },
      },
      { state: declared },
    );

    // Key a holds 200 KB; its timer at 11 would add 200 KB more, its timer at 12 a few bytes.
    await run(0, watermark(0), envelope({ key: 'a', t: 1, v: big }), envelope({ key: 'a', t: 2, v: 'b' }));
    await run(0, envelope({ key: 'b', t: 3, v: 'c' }), watermark(20));
    await run(0, envelope({ key: 'a', t: 30, v: 'd' }), watermark(50));

    expect(sink.values('out')).toEqual([
      { key: 'a', time: 12, size: 3 },
      { key: 'b', time: 13, size: 2 },
      { key: 'a', time: 40, size: 5 },
    ]);
    expect(deadLetters()).toHaveLength(1);
    const { error } = deadLetters()[0] as { error: { reason: string; operator: string; message: string } };
    expect(error).toMatchObject({ reason: 'state-too-large', operator: 'fn' });
    expect(error.message).toContain('event-time timer 11 of key "a"');
    expect(error.message).not.toContain('record');
  });

  it('names a timer the same whether or not the batch was cut where the key had nothing left', async () => {
    const fn: ProcessFunction<Event, unknown, Record<string, never>> = {
      processElement(event, context) {
        context.timers.registerEventTimeTimer(event.t);
      },
      onTimer(time, context) {
        context.output('fired', { time });
      },
    };
    const records = [
      watermark(0),
      envelope({ key: 'a', t: 1 }),
      watermark(5),
      envelope({ key: 'a', t: 9 }),
      watermark(20),
    ];
    const whole = stage(fn, { state: {}, sideOutputs: ['fired'] });
    await whole.run(0, ...records);
    // Cut after the first timer fired: the key is left with no state, only its count of timers fired.
    const cut = stage(fn, { state: {}, sideOutputs: ['fired'] });
    await cut.run(0, ...records.slice(0, 3));
    await cut.run(0, ...records.slice(3));

    const fired = (writer: MemoryRecordWriter) => writer.values('p-fn-fired') as { id: string; time: number }[];
    expect(fired(whole.sink).map((f) => f.time)).toEqual([1, 9]);
    expect(fired(cut.sink)).toEqual(fired(whole.sink));
  });

  it('writes side outputs to their stream and dead-letters an undeclared one', async () => {
    const { run, sink, deadLetters } = stage(
      {
        processElement(event, context) {
          context.output(event.v ?? 'alerts', { t: event.t });
        },
      },
      { state: {}, sideOutputs: ['alerts'] },
    );

    await run(0, watermark(0), envelope({ key: 'a', t: 1 }), envelope({ key: 'a', t: 2, v: 'nowhere' }));

    expect(sink.values('p-fn-alerts')).toMatchObject([{ key: 'a', time: 1, value: { t: 1 } }]);
    expect(deadLetters().map((l) => l.error.message)).toEqual([expect.stringContaining("side output 'nowhere'")]);
  });
});
