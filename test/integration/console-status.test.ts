import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { isLoopback } from '../../local/console/observed-pipeline.js';
import { DevSession } from '../../local/observability/dev-session.js';
import type { StatusReport } from '../../local/observability/prometheus.js';
import { pipeline } from '../../shared/index.js';
import { count, tumbling } from '../../shared/windows/index.js';
import { waitUntil } from '../helpers/emulators.js';

const Event = z.object({ user: z.string(), ts: z.number() });

/** `/status`'s `recent`, and the console's routes, of an `eddy dev` session on the embedded emulators. */
describe('the console routes and /status recent', () => {
  const dir = mkdtempSync(join(tmpdir(), 'eddy-console-status-'));
  const sessions: DevSession[] = [];
  afterAll(async () => {
    for (const session of sessions) await session.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const lines = (name: string, values: readonly unknown[]) => {
    const file = join(dir, name);
    writeFileSync(file, values.map((v) => (typeof v === 'string' ? v : JSON.stringify(v))).join('\n'));
    return file;
  };

  it('lists the last dead letters, late records and failed invocations, with their reasons', async () => {
    const windowed = pipeline('recent', { eventSource: { maxBatchingWindowSeconds: 0 } });
    windowed
      .source('events', { schema: Event, eventTime: (e) => e.ts })
      .keyBy((e) => e.user)
      .window(tumbling('1m'), { lateOutput: 'recent-late' })
      .aggregate(count())
      .sink('recent-counts');
    // The first invocation of the source stage fails (after its batch was processed): Lambda retries it.
    const session = await DevSession.start({
      pipeline: windowed,
      metricsPort: 0,
      crashFirstBatches: 1,
      crashStages: ['from-events'],
    });
    sessions.push(session);
    const t = Date.now() - 10 * 60_000;
    await session.feed('events', lines('early.jsonl', [{ user: 'a', ts: t + 5 * 60_000 }]));
    await session.local.waitUntilDrained({ quietMs: 300 });
    await session.feed('events', lines('late.jsonl', [{ user: 'a', ts: t }, '{"user": "b", "ts": "soon"}']));
    await session.local.waitUntilDrained({ quietMs: 300 });

    let report: StatusReport | undefined;
    await waitUntil(
      async () => {
        report = (await (await fetch(`${session.server.url}/status`)).json()) as StatusReport;
        const recent = report.recent;
        return (
          recent !== undefined && recent.late.length > 0 && recent.deadLetters.length > 0 && recent.errors.length > 0
        );
      },
      'the late record, the dead letter and the failed invocation in /status',
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    const recent = report?.recent;
    expect(recent?.late).toEqual([
      expect.objectContaining({
        stage: 'from-recent-keyBy-1',
        output: 'recent-late',
        eventTime: t,
        watermark: expect.any(Number),
      }),
    ]);
    expect(recent?.deadLetters).toEqual([
      expect.objectContaining({
        stage: 'from-events',
        reason: 'schema-violation',
        message: expect.stringContaining('ts'),
        recordId: expect.stringMatching(/^events\/shardId-\d+\/\d+$/),
      }),
    ]);
    expect(recent?.errors[0]).toEqual(
      expect.objectContaining({
        stage: 'from-events',
        shardId: expect.stringMatching(/^shardId-\d+$/),
        message: expect.stringContaining('InjectedCrashError'),
      }),
    );
  });

  it('serves the page, its bundled script, the drawing and the status as server-sent events', async () => {
    const session = sessions[0];
    if (session === undefined) throw new Error('the first test starts the session');
    const { url } = session.server;
    expect(session.server.console).toBe(true);
    const page = await (await fetch(`${url}/`)).text();
    expect(page).toContain('<script type="module" src="console.js">');
    const script = await fetch(`${url}/console.js`);
    expect(script.headers.get('content-type')).toMatch(/javascript/);
    // Bundled: no import left for the browser to fetch (preact and htm are inside).
    expect(await script.text()).not.toMatch(/\bimport\s*[{*\w]|from\s*["']/);
    const svg = await (await fetch(`${url}/graph.svg`)).text();
    expect(svg).toContain('data-to="stream:recent-late"');
    const events = await fetch(`${url}/events`);
    expect(events.headers.get('content-type')).toBe('text/event-stream');
    const reader = events.body?.getReader();
    const first = new TextDecoder().decode((await reader?.read())?.value);
    await reader?.cancel();
    expect(first).toMatch(/^data: \{"pipeline":"recent"/);
  });

  it('is served on loopback interfaces only', () => {
    expect(['127.0.0.1', '::1', 'localhost'].map(isLoopback)).toEqual([true, true, true]);
    expect(['0.0.0.0', '::', '192.168.1.2'].map(isLoopback)).toEqual([false, false, false]);
  });
});
