import { expect } from 'vitest';
import { pipeline } from '../../shared/index.js';
import type { MemoryRecordWriter } from '../../shared/runtime/io/memory-record-writer.js';
import type { InputRecord } from '../../shared/runtime/records.js';
import { session } from '../../shared/windows/index.js';
import { expectIdWindows, IdEvent, ids } from './id-windows.js';
import { arrivals } from './lambda-delivery.js';

/** The session gap of the session stage property tests, in ms. */
export const SESSION_GAP = 30;

/** A pipeline whose session stage collects ids: `from-p-by-key`, results on `out`, late records on `p-window-1-late`. */
export function idSessions(allowedLateness: number) {
  return pipeline('p')
    .source('events', { schema: IdEvent, eventTime: (e) => e.t })
    .keyBy((e) => e.key, { name: 'by-key' })
    .window(session(SESSION_GAP), { allowedLateness })
    .aggregate(ids)
    .sink('out');
}

/**
 * Events of the session property tests from drawn ones: ids in order, times moving on 4 ms a record,
 * a tie (a second record of the same key and time) where drawn.
 */
export function sessionEvents(raw: readonly { key: string; t: number; tie: boolean }[]): IdEvent[] {
  return raw.flatMap((e, i) => {
    const event = { key: e.key, t: e.t + i * 4, id: `e${i}` };
    return e.tie ? [event, { ...event, id: `e${i}-tie` }] : [event];
  });
}

/**
 * Asserts what an {@link idSessions} run wrote: late exactly the records the watermark at arrival had
 * passed by the allowed lateness; every other record in exactly one final session, the batch computation's.
 */
export function expectSessionRun(
  sink: MemoryRecordWriter,
  records: readonly InputRecord[],
  events: readonly IdEvent[],
  allowedLateness: number,
): void {
  const late = new Set(
    arrivals<IdEvent>(records).flatMap(({ event, watermark }) =>
      event.t + allowedLateness <= watermark ? [event.id] : [],
    ),
  );
  const reported = new Set((sink.values('p-window-1-late') as { id: string }[]).map((r) => r.id));
  expect([...reported].sort()).toEqual([...late].sort());
  expectIdWindows(
    sink.values('out'),
    events.filter((e) => !late.has(e.id)),
    session(SESSION_GAP),
  );
}
