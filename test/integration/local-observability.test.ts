import { execFile } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { formatStatus } from '../../cli/status.js';
import { DevSession } from '../../local/observability/dev-session.js';
import { serveMetrics } from '../../local/observability/metrics-server.js';
import type { StatusReport } from '../../local/observability/prometheus.js';
import { LocalPipeline } from '../../local/runner/local-pipeline.js';
import { pipeline, secret, tokenize } from '../../shared/index.js';
import { count, tumbling } from '../../shared/windows/index.js';
import { useEmulators } from '../helpers/emulators.js';

const run = promisify(execFile);
const KEY = 'a-local-token-key-of-over-thirty-two-bytes';
const KEY_VARIABLE = 'EDDY_SECRET_EDDY_OBSERVED_KEY';
const Event = z.object({ user: z.string(), kind: z.string(), ts: z.number() });
type Event = z.infer<typeof Event>;

/** One sample of a Prometheus text exposition: the value of `name` with exactly these labels. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  const wanted = Object.entries(labels)
    .map(([key, value]) => `${key}="${value}"`)
    .sort()
    .join(',');
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match === null || match[1] !== name) continue;
    const found = (match[2] ?? '')
      .split(/,(?=\w+=")/)
      .filter(Boolean)
      .sort()
      .join(',');
    if (found === wanted) return Number(match[3]);
  }
  return undefined;
}

function observed() {
  return pipeline('observed', { eventSource: { maxBatchingWindowSeconds: 0, batchSize: 4 } })
    .source('events', { schema: Event, eventTime: (e) => e.ts, limits: { maxRecordBytes: 200 } })
    .filter((e) => e.kind !== 'noise')
    .map(tokenize(['user'], { key: secret('/eddy/observed-key') }))
    .keyBy((e) => e.user)
    .sink('observed-out');
}

describe('eddy dev: the local Prometheus endpoint and eddy status', () => {
  const emulators = useEmulators();
  const dir = mkdtempSync(join(tmpdir(), 'eddy-observability-'));
  const sessions: DevSession[] = [];
  beforeAll(() => {
    process.env[KEY_VARIABLE] = KEY;
  });
  afterEach(async () => {
    await Promise.all(sessions.splice(0).map((session) => session.stop()));
  });
  afterAll(() => {
    delete process.env[KEY_VARIABLE];
    rmSync(dir, { recursive: true, force: true });
  });

  async function start(p: ReturnType<typeof observed>, prefix: string): Promise<DevSession> {
    const session = await DevSession.start({
      pipeline: p,
      endpoint: emulators().kinesisEndpoint,
      ...(emulators().dynamodbEndpoint !== undefined && { dynamodbEndpoint: emulators().dynamodbEndpoint }),
      streamPrefix: prefix,
      metricsPort: 0,
    });
    sessions.push(session);
    return session;
  }

  function jsonLines(name: string, lines: readonly string[]): string {
    const file = join(dir, name);
    writeFileSync(file, `${lines.join('\n')}\n`);
    return file;
  }

  it('serves per-stage counters, batch durations, the watermark and its lag, and shard lag after a run', async () => {
    // Prepare
    const session = await start(observed(), 'obs1-');
    const base = Date.now() - 60_000;
    const events: Event[] = Array.from({ length: 10 }, (_, i) => ({
      user: `u${i % 4}`,
      kind: i % 3 === 0 ? 'noise' : 'view',
      ts: base + i * 1000,
    }));
    const file = jsonLines('events.jsonl', [
      ...events.map((e) => JSON.stringify(e)),
      'not json',
      JSON.stringify({ user: 'x'.repeat(300), kind: 'view', ts: base }),
    ]);

    // Act
    await session.feed('events', file);
    await session.local.waitUntilDrained({ quietMs: 300 });
    const scraped = await fetch(`${session.server.url}/metrics`);
    const text = await scraped.text();
    const status = (await (await fetch(`${session.server.url}/status`)).json()) as StatusReport;

    // Assess: the counts of what went through each stage.
    const views = events.filter((e) => e.kind !== 'noise');
    const first = { pipeline: 'observed', stage: 'from-events' };
    const second = { pipeline: 'observed', stage: 'from-observed-keyBy-1' };
    expect(scraped.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(sample(text, 'eddy_records_in_total', first)).toBe(12);
    expect(sample(text, 'eddy_records_filtered_total', first)).toBe(events.length - views.length);
    expect(sample(text, 'eddy_records_dead_lettered_total', first)).toBe(2);
    expect(sample(text, 'eddy_records_out_total', first)).toBe(views.length);
    expect(sample(text, 'eddy_records_failed_total', first)).toBe(0);
    expect(sample(text, 'eddy_records_in_total', second)).toBe(views.length);
    expect(sample(text, 'eddy_records_out_total', second)).toBe(views.length);
    // Windowed stages only, as in the EMF metrics.
    expect(sample(text, 'eddy_records_late_total', first)).toBeUndefined();
    expect(sample(text, 'eddy_state_requests_total', first)).toBeUndefined();

    // One batch duration per invocation, every one under the +Inf bucket.
    for (const stage of [first, second]) {
      const invocations = sample(text, 'eddy_invocations_total', stage) ?? 0;
      expect(invocations).toBeGreaterThanOrEqual(stage === first ? 3 : 1);
      expect(sample(text, 'eddy_batch_duration_seconds_count', stage)).toBe(invocations);
      expect(sample(text, 'eddy_batch_duration_seconds_bucket', { ...stage, le: '+Inf' })).toBe(invocations);
      expect(sample(text, 'eddy_batch_duration_seconds_sum', stage)).toBeGreaterThan(0);
      expect(sample(text, 'eddy_function_errors_total', stage)).toBe(0);
      expect(sample(text, 'eddy_bisects_total', stage)).toBe(0);
    }

    // The source stage's watermark is the highest event time (no out-of-orderness allowed), its lag the clock's distance.
    const maxTs = Math.max(...events.map((e) => e.ts));
    expect(sample(text, 'eddy_watermark_seconds', first)).toBe(maxTs / 1000);
    const lag = sample(text, 'eddy_watermark_lag_seconds', first) ?? 0;
    expect(lag).toBeGreaterThanOrEqual((Date.now() - maxTs) / 1000 - 5);
    expect(lag).toBeLessThanOrEqual((Date.now() - maxTs) / 1000);
    // After a shuffle a stateless stage has no watermark, as in the cloud.
    expect(sample(text, 'eddy_watermark_seconds', second)).toBeUndefined();

    // Drained: every shard caught up.
    const shard = { ...first, shard: 'shardId-000000000000' };
    expect(sample(text, 'eddy_shard_pending_records', shard)).toBe(0);
    expect(sample(text, 'eddy_shard_iterator_age_seconds', shard)).toBe(0);
    expect(sample(text, 'eddy_shard_lag_seconds', shard)).toBe(0);
    expect(sample(text, 'eddy_shard_read_ahead_full', shard)).toBe(0);
    // Lambda reports IteratorAge per invocation: a caught-up shard has none, not its last value frozen.
    expect(sample(text, 'eddy_shard_last_batch_iterator_age_seconds', shard)).toBeUndefined();
    // Each operator of the stage counted apart: the source's two bad records, the filter's noise.
    expect(sample(text, 'eddy_operator_records_in_total', { ...first, operator: 'events' })).toBe(12);
    expect(sample(text, 'eddy_operator_records_dead_lettered_total', { ...first, operator: 'events' })).toBe(2);

    // /status says the same, in ms, for eddy status.
    const stage = status.stages.find((s) => s.id === 'from-events');
    expect(status.pipeline).toBe('observed');
    expect(stage).toMatchObject({
      recordsIn: 12,
      deadLettered: 2,
      watermark: maxTs,
      pendingRecords: 0,
      iteratorAgeMs: 0,
    });
    expect(stage?.shards).toEqual([expect.objectContaining({ shardId: 'shardId-000000000000', pendingRecords: 0 })]);

    // And the sink got the users tokenized with the key from the environment.
    const out = (await session.local.readStream('observed-out')).map(
      (record) => JSON.parse(Buffer.from(record.data).toString()) as Event,
    );
    const hmac = (user: string) => createHmac('sha256', KEY).update(user).digest('hex');
    expect(out.map((e) => e.user).sort()).toEqual(views.map((e) => hmac(e.user)).sort());
  });

  it('counts late records and state requests of a windowed stage, as the late output stream holds them', async () => {
    // Prepare
    const windowed = pipeline('windowed', { eventSource: { maxBatchingWindowSeconds: 0 } });
    windowed
      .source('events', { schema: Event, eventTime: (e) => e.ts })
      .keyBy((e) => e.user)
      .window(tumbling('1m'), { lateOutput: 'windowed-late' })
      .aggregate(count())
      .sink('windowed-counts');
    const session = await start(windowed as ReturnType<typeof observed>, 'obs2-');
    const t = Date.now() - 10 * 60_000;

    // Act: the watermark passes t + 5 min; then a record of t's window comes, too late.
    await session.feed(
      'events',
      jsonLines('early.jsonl', [JSON.stringify({ user: 'a', kind: 'v', ts: t + 5 * 60_000 })]),
    );
    await session.local.waitUntilDrained({ quietMs: 300 });
    await session.feed('events', jsonLines('late.jsonl', [JSON.stringify({ user: 'a', kind: 'v', ts: t })]));
    await session.local.waitUntilDrained({ quietMs: 300 });
    const text = await (await fetch(`${session.server.url}/metrics`)).text();

    // Assess
    const stage = { pipeline: 'windowed', stage: 'from-windowed-keyBy-1' };
    const lateRecords = await session.local.readStream('windowed-late');
    expect(lateRecords).toHaveLength(1);
    expect(sample(text, 'eddy_records_late_total', stage)).toBe(1);
    expect(sample(text, 'eddy_state_requests_total', stage)).toBeGreaterThan(0);
    expect(sample(text, 'eddy_watermark_seconds', stage)).toBe((t + 5 * 60_000) / 1000);

    // Per operator: the window took both records in and counted the late one; its one result
    // (the early record's window has not closed) is not out yet.
    const status = (await (await fetch(`${session.server.url}/status`)).json()) as StatusReport;
    const windowStage = status.stages.find((s) => s.id === stage.stage);
    expect(windowStage?.operators.map((o) => [o.id, o.recordsIn, o.late])).toEqual([
      ['keyBy-1', 2, 0],
      ['window-1', 2, 1],
      ['sink-1', 0, 0],
    ]);
    expect(sample(text, 'eddy_operator_records_late_total', { ...stage, operator: 'window-1' })).toBe(1);
    // Per input channel: the source stage's shard, whose watermark (t + 5 min, no out-of-orderness)
    // is the window stage's, with its lag the clock's distance to it.
    const channel = 'from-events/shardId-000000000000';
    expect(windowStage?.watermarks).toEqual([
      { channel, watermark: t + 5 * 60_000, lagMs: status.now - (t + 5 * 60_000) },
    ]);
    const channelLag = sample(text, 'eddy_channel_watermark_lag_seconds', { ...stage, channel }) ?? 0;
    expect(channelLag).toBeGreaterThanOrEqual((Date.now() - (t + 5 * 60_000)) / 1000 - 5);
    expect(channelLag).toBeLessThanOrEqual((Date.now() - (t + 5 * 60_000)) / 1000);
  });

  it('prints lag and watermark with eddy status, and serves nothing else', async () => {
    // Prepare
    const session = await start(observed(), 'obs3-');
    const ts = Date.now() - 90_000;
    await session.feed('events', jsonLines('one.jsonl', [JSON.stringify({ user: 'u', kind: 'view', ts })]));
    await session.local.waitUntilDrained({ quietMs: 300 });
    const { url } = session.server;

    // Act
    const { stdout } = await run(process.execPath, ['bin/eddy.js', 'status', '--url', url], { timeout: 60_000 });
    const report = (await (await fetch(`${url}/status`)).json()) as StatusReport;

    // Assess
    const lines = stdout.split('\n');
    expect(lines[0]).toMatch(new RegExp(`^pipeline observed: eddy dev at ${url}, up .*, kinesis http://`));
    expect(stdout).toMatch(
      /stage\s+in\s+out\s+filtered\s+dead-lettered\s+late\s+failed\s+pending\s+lag\s+backpressure\s+max IteratorAge\s+watermark\s+watermark lag/,
    );
    const row = lines.find((line) => line.startsWith('from-events ')) ?? '';
    expect(row).toContain(new Date(ts).toISOString());
    // Lag 0 ms (drained), the watermark about 1.5 min behind the clock.
    expect(row).toMatch(/\s1\s+1\s+0\s+0\s+0\s+0\s+0\s+0 ms\s+no\s+\S+ (ms|s)\s+\S+Z\s+1 min \d+ s$/);
    expect(lines.some((line) => /^from-events\s+shardId-000000000000\s+polling\s+0\s+0 ms/.test(line))).toBe(true);
    expect(formatStatus(report, url)).toContain(new Date(ts).toISOString());

    expect((await fetch(`${url}/nothing`)).status).toBe(404);
    expect((await fetch(`${url}/metrics`, { method: 'POST' })).status).toBe(405);
    await expect(serveMetrics(session.metrics, { port: session.server.port })).rejects.toThrow(
      `port ${session.server.port} on 127.0.0.1 is in use: choose another with --metrics-port (0 for any free port)`,
    );
  });

  it('refuses to start without the environment variable of a secret, naming it', async () => {
    // Prepare
    delete process.env[KEY_VARIABLE];

    // Act
    const starting = LocalPipeline.start({ pipeline: observed(), endpoint: emulators().kinesisEndpoint });

    // Assess
    await expect(starting).rejects.toThrow(
      `pipeline 'observed' needs secrets that locally come from the environment; set ${KEY_VARIABLE}`,
    );
    process.env[KEY_VARIABLE] = KEY;
  });
});
