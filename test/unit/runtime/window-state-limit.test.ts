import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { pipeline } from '../../../shared/index.js';
import type { DeadLetterEnvelope } from '../../../shared/runtime/dead-letter.js';
import { MemoryRecordWriter } from '../../../shared/runtime/io/memory-record-writer.js';
import { MemoryWindowStore } from '../../../shared/runtime/io/memory-window-store.js';
import type { InputRecord } from '../../../shared/runtime/records.js';
import { StageRunner } from '../../../shared/runtime/stage-runner.js';
import { END_OF_TIME } from '../../../shared/runtime/watermark-records.js';
import { aggregate, tumbling } from '../../../shared/windows/index.js';

const Doc = z.object({ key: z.string(), t: z.number(), body: z.string() });
type Doc = z.infer<typeof Doc>;

/** An accumulator that grows without bound: every body of the window. */
const bodies = aggregate<Doc, string[], number>({
  name: 'bodies',
  init: () => [],
  add: (acc, d) => [...acc, d.body],
  merge: (a, b) => [...a, ...b],
  result: (acc) => acc.length,
});

const p = pipeline('docs');
p.source('docs', { schema: Doc, eventTime: (d) => d.t })
  .keyBy((d) => d.key, { name: 'by-key' })
  .window(tumbling(1000))
  .aggregate(bodies)
  .sink('counts');

let sequence = 1000;
function envelope(data: unknown): InputRecord {
  sequence += 1;
  return {
    position: {
      stream: 'docs-by-key',
      shardId: 'shardId-000000000000',
      sequenceNumber: String(sequence),
      partitionKey: 'k',
      arrivalTime: 0,
    },
    data: Buffer.from(JSON.stringify(data)),
  };
}
const doc = (key: string, t: number): Doc => ({ key, t, body: 'x'.repeat(60_000) });

describe('a window whose state would outgrow a DynamoDB item', () => {
  it('dead-letters the records that would overflow it, names the window, and keeps every other window going', async () => {
    // Prepare: 10 bodies of 60 KB for key a in one window, one record a batch; key b beside it.
    const writer = new MemoryRecordWriter();
    const runner = new StageRunner({
      pipeline: p,
      stageId: 'from-docs-by-key',
      writer,
      store: new MemoryWindowStore(),
    });
    const docs = [...Array.from({ length: 10 }, (_, i) => doc('a', 100 + i)), doc('b', 200)];

    // Act
    for (const d of docs) {
      await runner.run([envelope({ id: `docs/s/${d.t}`, k: d.key, t: d.t, v: d })], Date.now() + 60_000);
    }
    await runner.run([envelope({ wm: END_OF_TIME, ch: 'from-docs/shardId-000000000000', n: 1 })], Date.now() + 60_000);

    // Assess: six bodies fit in 390 KB; the other four are dead letters; nothing is lost.
    const letters = writer.values('docs-dead-letters') as DeadLetterEnvelope[];
    expect(letters.map((l) => l.correlationId)).toEqual(['docs/s/106', 'docs/s/107', 'docs/s/108', 'docs/s/109']);
    expect(letters[0]?.error).toMatchObject({ reason: 'state-too-large', operator: expect.any(String) });
    expect(letters[0]?.error.message).toMatch(/window \[0, 1000\) of key "a" would hold about \d+ bytes/);
    expect(JSON.parse(Buffer.from(letters[0]?.payload ?? '', 'base64').toString()).v).toEqual(docs[6]);
    expect(writer.values('counts')).toEqual([
      expect.objectContaining({ key: 'a', windowStart: 0, windowEnd: 1000, value: 6 }),
      expect.objectContaining({ key: 'b', windowStart: 0, windowEnd: 1000, value: 1 }),
    ]);
  });
});
