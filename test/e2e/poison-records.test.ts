import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { type RunSummary, runPipelineOnFiles } from '../../local/runner/run-files.js';
import { pipeline } from '../../shared/index.js';
import type { DeadLetterEnvelope } from '../../shared/runtime/dead-letter.js';
import { MAX_RECORD_BYTES } from '../../shared/runtime/shuffle-pack.js';
import { count, tumbling } from '../../shared/windows/index.js';

const Click = z.object({ user: z.string(), page: z.string(), ts: z.number() });
type Click = z.infer<typeof Click>;

/** Every click to a stateless sink, and per-page one-minute counts: both branches read the same batches. */
const p = pipeline('poison-e2e');
const clicks = p.source('clicks', { schema: Click, eventTime: (c) => c.ts, maxOutOfOrderness: '5s' });
clicks.sink('all-clicks');
clicks
  .keyBy((c) => c.page)
  .window(tumbling('1m'))
  .aggregate(count())
  .sink('page-counts');

const MINUTE = 60_000;

describe('eddy run on the emulators: one poison record in a batch of good ones', () => {
  const dir = mkdtempSync(join(tmpdir(), 'eddy-poison-'));
  const input = join(dir, 'clicks.jsonl');
  const outputs = { all: join(dir, 'all.jsonl'), counts: join(dir, 'counts.jsonl'), dead: join(dir, 'dead.jsonl') };
  const good: Click[] = [];
  const lines: string[] = [];
  /** Line number (1-based) of each poison line, and its reason. */
  const poison = new Map<number, string>();
  let summary: RunSummary;

  beforeAll(async () => {
    // 200 good clicks with one click at ts 9e15 among them, and a 900 KB line that fails the schema:
    // its dead letter with the payload in base64 would be over Kinesis' 1 MiB.
    for (let i = 0; i < 200; i += 1) {
      const click = { user: `u${i % 9}`, page: `/p${i % 4}`, ts: i * 1500 };
      good.push(click);
      lines.push(JSON.stringify(click));
      if (i === 60) {
        lines.push(JSON.stringify({ user: 'far', page: '/p0', ts: 9e15 }));
        poison.set(lines.length, 'invalid-event-time');
      }
      if (i === 130) {
        lines.push(JSON.stringify({ user: 'x'.repeat(900_000), page: '/p1', ts: 'noon' }));
        poison.set(lines.length, 'schema-violation');
      }
    }
    writeFileSync(input, `${lines.join('\n')}\n`);
    summary = await runPipelineOnFiles({
      pipeline: p,
      inputs: [{ stream: 'clicks', file: input }],
      outputs: [
        { stream: 'all-clicks', file: outputs.all },
        { stream: 'page-counts', file: outputs.counts },
        { stream: 'poison-e2e-dead-letters', file: outputs.dead },
      ],
    });
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const read = (file: string) =>
    readFileSync(file, 'utf8')
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as unknown);

  it('discards no batch, and writes every good record to the stateless sink exactly once', () => {
    expect(summary.failedBatches).toEqual([]);
    const all = read(outputs.all) as Click[];
    expect(all).toHaveLength(good.length);
    expect(new Set(all.map((c) => JSON.stringify(c)))).toEqual(new Set(good.map((c) => JSON.stringify(c))));
  });

  it('counts every good record in its window: the batch computation over the good records', () => {
    const expected = new Map<string, number>();
    for (const c of good) {
      const name = `${c.page}@${Math.floor(c.ts / MINUTE) * MINUTE}`;
      expected.set(name, (expected.get(name) ?? 0) + 1);
    }
    const counts = read(outputs.counts) as { key: string; windowStart: number; value: number }[];
    expect(new Map(counts.map((r) => [`${r.key}@${r.windowStart}`, r.value]))).toEqual(expected);
    expect(counts).toHaveLength(expected.size);
  });

  it('dead-letters exactly the poison lines, with their reason and position, each within 1 MiB', () => {
    const byLine = new Map(summary.deadLetters.map((d) => [d.origin?.line, d.envelope]));
    expect(new Map([...byLine].map(([line, envelope]) => [line, envelope.error.reason]))).toEqual(poison);
    const written = read(outputs.dead) as DeadLetterEnvelope[];
    expect(written).toHaveLength(poison.size);
    for (const envelope of written) {
      expect(envelope.source).toMatchObject({
        stream: expect.stringMatching(/clicks$/),
        shardId: expect.stringMatching(/^shardId-/),
        sequenceNumber: expect.stringMatching(/^\d+$/),
      });
      expect(
        Buffer.byteLength(JSON.stringify(envelope)) + Buffer.byteLength(envelope.source.partitionKey),
      ).toBeLessThan(MAX_RECORD_BYTES);
    }
    const far = written.find((e) => e.error.reason === 'invalid-event-time');
    expect(far?.error.message).toMatch(/returned 9000000000000000 is out of range/);
    const huge = written.find((e) => e.error.reason === 'schema-violation');
    const hugeLine = Buffer.from(lines.find((l) => l.length > 800_000) ?? '');
    expect(huge?.payloadTruncated).toMatchObject({
      bytes: hugeLine.length,
      sha256: createHash('sha256').update(hugeLine).digest('hex'),
    });
    const kept = Buffer.from(huge?.payload ?? '', 'base64');
    expect(kept.length).toBe(huge?.payloadTruncated?.keptBytes);
    expect(hugeLine.subarray(0, kept.length).equals(kept)).toBe(true);
  });
});
