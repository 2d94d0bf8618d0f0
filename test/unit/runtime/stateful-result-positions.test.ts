import { describe, expect, it } from 'vitest';
import type { Pipeline } from '../../../shared/dsl/pipeline.js';
import { pipeline } from '../../../shared/index.js';
import { MemoryRecordWriter } from '../../../shared/runtime/io/memory-record-writer.js';
import { MemoryWindowStore } from '../../../shared/runtime/io/memory-window-store.js';
import type { StateStore } from '../../../shared/runtime/io/state-store.js';
import type { InputRecord } from '../../../shared/runtime/records.js';
import type { PackedEnvelope } from '../../../shared/runtime/shuffle-pack.js';
import { StageRunner } from '../../../shared/runtime/stage-runner.js';
import { tumbling } from '../../../shared/windows/index.js';
import { IdEvent, ids } from '../../helpers/id-windows.js';
import { shuffleRecords } from '../../helpers/lambda-delivery.js';

/**
 * A window stage whose results go on to another stateful stage gives each result one position
 * (docs/shuffle.md), however Lambda cuts the batch that fires it: the stage after tells repeats from
 * new envelopes by position alone, so a result that a crashed attempt wrote and a bisected retry
 * writes again under a higher position would be applied twice there, or called late (issue 15).
 */

function windowsIntoAnotherWindow() {
  const p = pipeline('p');
  p.source('events', { schema: IdEvent, eventTime: (e) => e.t })
    .keyBy((e) => e.key, { name: 'by-key' })
    .window(tumbling(50))
    .aggregate(ids)
    .map((r): IdEvent => ({ key: r.key, t: r.windowEnd - 1, id: `${r.key}@${r.windowStart}` }))
    .keyBy((e) => e.key, { name: 'again' })
    .window(tumbling(1000))
    .aggregate(ids)
    .sink('out');
  return p;
}

/** A process function whose event-time timer, 5 ms after each record, emits; another window after it. */
function timersIntoAWindow() {
  const p = pipeline('p');
  p.source('events', { schema: IdEvent, eventTime: (e) => e.t })
    .keyBy((e) => e.key, { name: 'by-key' })
    .process<IdEvent, Record<string, never>>(
      {
        processElement(event, context) {
          context.timers.registerEventTimeTimer(event.t + 5);
        },
        onTimer(time, context) {
          context.emit({ key: context.key, t: time, id: `${context.key}@${time}` });
        },
      },
      { state: {}, name: 'fn' },
    )
    .keyBy((e) => e.key, { name: 'again' })
    .window(tumbling(1000))
    .aggregate(ids)
    .sink('out');
  return p;
}

/**
 * A store whose first write (the windows' state, or the watermarks after it) writes nothing and
 * throws: the invocation crashed after its outputs. A window born and fired in one batch writes no
 * state; the watermarks are written by every batch.
 */
function crashingOnce(): StateStore {
  let crashed = false;
  return new Proxy(new MemoryWindowStore(), {
    get(target, property, receiver) {
      if ((property === 'commitAll' || property === 'saveWatermarks') && !crashed) {
        return async () => {
          crashed = true;
          throw new Error('crashed before the state writes');
        };
      }
      const value = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/** Runs a batch that crashes, then its two halves (BisectBatchOnFunctionError); the positions each result went out with. */
async function crashThenBisect(
  batch: readonly InputRecord[],
  half: number,
  p: Pipeline = windowsIntoAnotherWindow(),
): Promise<Map<string, Set<string>>> {
  const writer = new MemoryRecordWriter();
  const runner = new StageRunner({
    pipeline: p,
    stageId: 'from-p-by-key',
    writer,
    store: crashingOnce(),
  });
  const deadline = Date.now() + 60_000;
  await expect(runner.run(batch, deadline)).rejects.toThrow('crashed before the state writes');
  await runner.run(batch.slice(0, half), deadline);
  await runner.run(batch.slice(half), deadline);
  const positions = new Map<string, Set<string>>();
  for (const pack of writer.values('p-again') as { e: PackedEnvelope[] }[]) {
    for (const envelope of pack.e)
      positions.set(envelope.id, (positions.get(envelope.id) ?? new Set()).add(envelope.q));
  }
  return positions;
}

describe('positions of a window stage results under a crash and a bisected retry', () => {
  it('reports a result under the record that moved the watermark past its window, in every attempt', async () => {
    // The crashed attempt fires b's window at the end of the batch; the retry's first half cannot (the
    // watermark is still 550), its second half fires it from the table.
    // Records: b's event at 550, the watermark 550, the end of input.
    const batch = shuffleRecords([{ key: 'b', t: 550, id: 'x' }], 0, 1);
    const positions = await crashThenBisect(batch, 2);

    const reached = (batch[2] as InputRecord).position.sequenceNumber;
    expect(positions).toEqual(new Map([['from-p-by-key/b/550/600/0', new Set([reached])]]));
  });

  it('numbers the results reported under one record in the same order in every attempt', async () => {
    // The crashed attempt meets a's record first, the retry's second half b's: the two results share
    // the record that ends the input, and each keeps its index after it.
    // Records: a's event, b's event, the end of input.
    const batch = shuffleRecords(
      [
        { key: 'a', t: 10, id: 'x' },
        { key: 'b', t: 20, id: 'y' },
      ],
      0,
      10,
    );
    const positions = await crashThenBisect(batch, 1);

    const reached = (batch[2] as InputRecord).position.sequenceNumber;
    expect(positions).toEqual(
      new Map([
        ['from-p-by-key/a/0/50/0', new Set([reached])],
        ['from-p-by-key/b/0/50/0', new Set([`${reached}:1`])],
      ]),
    );
  });

  it("reports a process function's event-time timer under the record that moved the watermark to it", async () => {
    // The crashed attempt fires b's timer at 555 at the end of the batch; the retry's first half
    // registers it again (the watermark is 550), its second half fires it from the fire-time index.
    const batch = shuffleRecords([{ key: 'b', t: 550, id: 'x' }], 0, 1);
    const positions = await crashThenBisect(batch, 2, timersIntoAWindow());

    const reached = (batch[2] as InputRecord).position.sequenceNumber;
    expect(positions).toEqual(new Map([['from-p-by-key/b/timer/e555/1/0', new Set([reached])]]));
  });
});
