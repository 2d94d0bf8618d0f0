import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { formatSummary } from '../../cli/summary.js';
import { type RunSummary, runPipelineOnFiles } from '../../local/runner/run-files.js';
import { pipeline } from '../../shared/index.js';
import type { DeadLetterEnvelope } from '../../shared/runtime/dead-letter.js';
import { count, tumbling } from '../../shared/windows/index.js';

const Click = z.object({ user: z.string(), page: z.string(), kind: z.string(), ts: z.number() });

/** page-views with its dead letters sent to an SQS queue, and an operator that fails on one page. */
const views = pipeline('views-dlq', { deadLetter: { queue: true } });
views
  .source('clicks', { schema: Click })
  .filter((c) => c.kind === 'view')
  .keyBy((c) => c.page, { name: 'by-page' })
  .map((c) => {
    if (c.page === '/boom') throw new Error('boom page');
    return { page: c.page, user: c.user };
  })
  .sink('views-by-page');

describe('eddy run with deadLetter: { queue: true }: dead letters in the local stand-in queue', () => {
  const dir = mkdtempSync(join(tmpdir(), 'eddy-dlq-'));
  const input = join(dir, 'clicks.jsonl');
  const output = join(dir, 'views.jsonl');
  const letters = join(dir, 'dead-letters.jsonl');
  const lines: string[] = [];
  const bad = new Map<number, { reason: string; field?: string }>();
  let summary: RunSummary;

  beforeAll(async () => {
    for (let i = 0; i < 300; i++) {
      const line = i + 1;
      if (i % 50 === 7) {
        lines.push('{"user": "u", "page": ');
        bad.set(line, { reason: 'malformed-json' });
      } else if (i % 50 === 21) {
        lines.push(JSON.stringify({ user: 'u', page: 42, kind: 'view', ts: i }));
        bad.set(line, { reason: 'schema-violation', field: 'page' });
      } else if (i % 50 === 33) {
        lines.push(JSON.stringify({ user: `u${i}`, page: '/boom', kind: 'view', ts: i }));
        bad.set(line, { reason: 'operator-error' });
      } else {
        lines.push(JSON.stringify({ user: `u${i}`, page: `/p${i % 7}`, kind: i % 3 === 0 ? 'click' : 'view', ts: i }));
      }
    }
    writeFileSync(input, `${lines.join('\n')}\n`);
    summary = await runPipelineOnFiles({
      pipeline: views,
      inputs: [{ stream: 'clicks', file: input }],
      outputs: [
        { stream: 'views-by-page', file: output },
        { stream: 'views-dlq-dead-letters', file: letters },
      ],
    });
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('creates no dead-letter stream', () => {
    expect(views.plan().streams.map((s) => s.name)).not.toContain('views-dlq-dead-letters');
    expect(summary.deadLetter).toEqual({ kind: 'queue', name: 'views-dlq-dead-letters' });
  });

  it('dead-letters every bad line with its error, field, base64 payload and source position', () => {
    const byLine = new Map(summary.deadLetters.map((d) => [d.origin?.line, d.envelope]));
    expect([...byLine.keys()].sort((a, b) => (a ?? 0) - (b ?? 0))).toEqual([...bad.keys()]);
    for (const [line, expected] of bad) {
      const envelope = byLine.get(line) as DeadLetterEnvelope;
      expect(envelope.error.reason, `line ${line}`).toBe(expected.reason);
      if (expected.field !== undefined) expect(envelope.error.issues?.[0]?.field).toBe(expected.field);
      // Source stage letters carry the source record; later ones the shuffle record they came in.
      const payload = Buffer.from(envelope.payload, 'base64').toString('utf8');
      if (envelope.stage === 'from-clicks') expect(payload).toBe(lines[line - 1]);
      else expect(payload).toContain('/boom');
      expect(envelope.source).toMatchObject({ shardId: expect.any(String), sequenceNumber: expect.any(String) });
      expect(envelope.correlationId.startsWith(`clicks/${envelope.correlationId.split('/')[1]}/`)).toBe(true);
    }
    expect(byLine.get([...bad].find(([, b]) => b.reason === 'operator-error')?.[0])?.error.message).toMatch(
      /boom page/,
    );
  });

  it('writes the queue to a file with --output <queue>=<file>, one envelope a line', () => {
    const written = readFileSync(letters, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as DeadLetterEnvelope);
    expect(written).toEqual(summary.deadLetters.map((d) => d.envelope));
    expect(summary.outputs.find((o) => o.stream === 'views-dlq-dead-letters')?.records).toBe(bad.size);
  });

  it('accounts for every record: in = out + filtered + dead-lettered in each stage, nothing failed', () => {
    expect(summary.inputRecords).toBe(300);
    for (const { stats } of summary.stages) {
      expect(stats.recordsIn).toBe(stats.recordsOut + stats.filtered + stats.deadLettered);
      expect(stats.failedRecords).toBe(0);
    }
    const deadLettered = summary.stages.reduce((sum, s) => sum + s.stats.deadLettered, 0);
    expect(deadLettered).toBe(bad.size);
    const sinkLines = readFileSync(output, 'utf8').trim().split('\n');
    const source = summary.stages.find((s) => s.stage.id === 'from-clicks')?.stats;
    expect(sinkLines.length).toBe((source?.recordsOut ?? 0) - 6);
    expect(summary.failedBatches).toEqual([]);
  });

  it('says in the run summary where the dead letters are', () => {
    expect(formatSummary(summary)).toContain(
      `dead letters (${bad.size}, in queue views-dlq-dead-letters, kept in process locally (no SQS emulator)):`,
    );
  });
});

/** A one-minute count with profile: 'cost', one record a batch, so that the third click comes late. */
const cheap = pipeline('late-dlq', { profile: 'cost', batching: 'latency' });
cheap
  .source('late-in', { schema: Click, eventTime: (c) => c.ts, eventSource: { batchSize: 1 } })
  .keyBy((c) => c.page, { name: 'by-page', eventSource: { batchSize: 1 } })
  .window(tumbling('1m'))
  .aggregate(count(), { name: 'per-minute' })
  .sink('late-counts');

describe("eddy run with profile: 'cost': a late record is a dead letter in the local queue", () => {
  const dir = mkdtempSync(join(tmpdir(), 'eddy-late-dlq-'));
  let summary: RunSummary;

  beforeAll(async () => {
    const input = join(dir, 'clicks.jsonl');
    const click = (ts: number) => JSON.stringify({ user: 'u', page: '/a', kind: 'view', ts });
    writeFileSync(input, `${[click(1_000), click(200_000), click(2_000)].join('\n')}\n`);
    summary = await runPipelineOnFiles({
      pipeline: cheap,
      inputs: [{ stream: 'late-in', file: input }],
      outputs: [{ stream: 'late-counts', file: join(dir, 'counts.jsonl') }],
    });
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('plans no late stream, and lists the late click with its window, event time and watermark', () => {
    expect(cheap.plan().streams.map((s) => s.role)).not.toContain('side-output');
    const late = summary.deadLetters.map((d) => d.envelope).filter((e) => e.error.reason === 'late');
    expect(late).toHaveLength(1);
    expect(late[0]?.error.late).toEqual({ key: '/a', time: 2_000, watermark: 200_000 });
    expect(late[0]?.error.message).toContain("late for window 'per-minute' (tumbling 60000 ms)");
    expect(formatSummary(summary)).toContain('late in per-minute: late for window');
    const windowed = summary.stages.find((s) => s.stage.stateful)?.stats;
    expect(windowed).toMatchObject({ late: 1, deadLettered: 0 });
    // The totals agree with the stage table: the late letter is late, not a bad record.
    expect(summary.lateDeadLetterCount).toBe(1);
    expect(formatSummary(summary)).toContain('dead-lettered 0, late to the dead letters 1 (all stages)');
  });
});
