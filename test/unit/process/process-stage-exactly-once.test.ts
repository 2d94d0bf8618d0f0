import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../../examples/data/click-generator.js';
import { type ProcessFunction, pipeline, state } from '../../../shared/index.js';
import { MemoryWindowStore } from '../../../shared/runtime/io/memory-window-store.js';
import type { InputRecord } from '../../../shared/runtime/records.js';
import { StageRunner } from '../../../shared/runtime/stage-runner.js';
import { IdEvent } from '../../helpers/id-windows.js';
import { deliver, FlakyWriter, flakyStore, MemoryRecordWriter, shuffleRecords } from '../../helpers/lambda-delivery.js';

const BUCKET = 100;

/** What the function emits: per record, its rank among its key's records; per timer, the ids it closes. */
type Out =
  | { kind: 'record'; key: string; id: string; rank: number }
  | { kind: 'timer'; key: string; n: number; time: number; ids: string[] };

const declared = { count: state.value<number>(), fired: state.value<number>(), pending: state.list<string>() };

/** A per-key running state machine with event-time timers: order-sensitive, so a double apply shows. */
const running: ProcessFunction<IdEvent, Out, typeof declared> = {
  processElement(event, context) {
    const rank = (context.state.count.value() ?? 0) + 1;
    context.state.count.update(rank);
    context.state.pending.add(event.id);
    context.timers.registerEventTimeTimer(Math.floor(context.timestamp / BUCKET) * BUCKET + BUCKET - 1);
    context.emit({ kind: 'record', key: context.key, id: event.id, rank });
  },
  onTimer(time, context) {
    // A timer registered again after it fired fires again: the count tells the firings apart.
    const n = (context.state.fired.value() ?? 0) + 1;
    context.state.fired.update(n);
    context.emit({ kind: 'timer', key: context.key, n, time, ids: [...context.state.pending.get()].sort() });
    context.state.pending.clear();
  },
};

function processed() {
  return pipeline('p')
    .source('events', { schema: IdEvent, eventTime: (e) => e.t })
    .keyBy((e) => e.key, { name: 'by-key' })
    .process(running, { state: declared })
    .sink('out');
}

/**
 * The reference: a sequential loop over the stage's input in order, one record at a time, per key a
 * count, a pending list and a set of timers; a key's timers fire (in time order) before its next
 * record whose arrival watermark has passed them, and all at the end of input.
 */
function reference(records: readonly InputRecord[]): Out[] {
  const out: Out[] = [];
  const keys = new Map<string, { count: number; fired: number; pending: string[]; timers: Set<number> }>();
  let watermark = Number.NEGATIVE_INFINITY;
  const fire = (key: string, upTo: number) => {
    const s = keys.get(key);
    if (s === undefined) return;
    for (const time of [...s.timers].sort((a, b) => a - b)) {
      if (time > upTo) break;
      s.timers.delete(time);
      s.fired += 1;
      out.push({ kind: 'timer', key, n: s.fired, time, ids: [...s.pending].sort() });
      s.pending = [];
    }
  };
  for (const record of records) {
    const data = JSON.parse(record.data.toString());
    if ('wm' in data) {
      watermark = Math.max(watermark, data.wm);
      continue;
    }
    const event = data.v as IdEvent;
    fire(event.key, watermark);
    const s = keys.get(event.key) ?? { count: 0, fired: 0, pending: [], timers: new Set<number>() };
    keys.set(event.key, s);
    s.count += 1;
    s.pending.push(event.id);
    s.timers.add(Math.floor(event.t / BUCKET) * BUCKET + BUCKET - 1);
    out.push({ kind: 'record', key: event.key, id: event.id, rank: s.count });
  }
  for (const key of keys.keys()) fire(key, Number.POSITIVE_INFINITY);
  return out;
}

const identity = (o: Out) => (o.kind === 'record' ? `r/${o.id}` : `t/${o.key}/${o.n}`);

describe('process stage: exactly-once state and timers under retries, bisects and crashes (property-based)', () => {
  it('equals a sequential per-key loop, each output repeated only with the same value', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ key: fc.constantFrom('a', 'b', 'c', 'd'), t: fc.integer({ min: 0, max: 1000 }) }), {
          minLength: 1,
          maxLength: 100,
        }),
        fc.integer(),
        fc.integer({ min: 1, max: 10 }),
        fc.integer({ min: 0, max: 300 }),
        async (raw, seed, every, bound) => {
          // Prepare: any order, and a bound that can leave records behind the watermark.
          const events = raw.map((e, i) => ({ key: e.key, t: e.t, id: `e${i}` }));
          const records = shuffleRecords(events, bound, every);
          const random = seededRandom(seed);
          const sink = new MemoryRecordWriter();
          const runner = new StageRunner({
            pipeline: processed(),
            stageId: 'from-p-by-key',
            writer: new FlakyWriter(sink, random),
            store: flakyStore(new MemoryWindowStore(), random),
          });

          // Act
          await deliver(runner, records, random);

          // Assess
          const emitted = new Map<string, string>();
          for (const value of sink.values('out') as Out[]) {
            const json = JSON.stringify(value);
            expect(emitted.get(identity(value)) ?? json, `a repeat of ${identity(value)} with another value`).toBe(
              json,
            );
            emitted.set(identity(value), json);
          }
          const expected = new Map(reference(records).map((o) => [identity(o), JSON.stringify(o)]));
          expect(new Map([...emitted].sort())).toEqual(new Map([...expected].sort()));
        },
      ),
      {
        numRuns: 300,
        ...(process.env.SEED && { seed: Number(process.env.SEED), path: process.env.FCPATH, endOnFailure: true }),
      },
    );
  });
});
