import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { formatStatus } from '../../cli/status.js';
import { DevSession } from '../../local/observability/dev-session.js';
import type { StageStatusReport, StatusReport } from '../../local/observability/prometheus.js';
import lagMetrics from './fixtures/lag-metrics.js';

const pipelineModule = fileURLToPath(new URL('./fixtures/lag-metrics.ts', import.meta.url));
const FAST = 'from-events';
const SLOW = 'from-lag-metrics-keyBy-1';
const EVENTS = 1_200;
/** Event time of event 0; event i is i seconds later. */
const BASE_TS = Date.UTC(2026, 0, 1);
/**
 * The slow stage must take in a record at least this often, or the test fails (a stall, not
 * slowness). The first wait includes starting two worker sandboxes on a loaded machine.
 */
const PROGRESS_DEADLINE_MS = 60_000;

const kindOf = (id: number) => (id % 10 === 3 ? 'noise' : id % 25 === 7 ? 'bad' : 'view');

/** The per-operator counts a plain loop over the input gives, stage by stage, in StageSpec.nodes order. */
function independentCounts(): Record<string, number[][]> {
  type Row = [number, number, number, number, number]; // in, out, filtered, dead-lettered, late
  const row = (): Row => [0, 0, 0, 0, 0];
  const [source, filter, map, keyBy] = [row(), row(), row(), row()];
  const [shuffleIn, slowMap, sink] = [row(), row(), row()];
  for (let id = 0; id < EVENTS; id += 1) {
    source[0] += 1;
    source[1] += 1;
    filter[0] += 1;
    if (kindOf(id) === 'noise') {
      filter[2] += 1;
      continue;
    }
    filter[1] += 1;
    map[0] += 1;
    if (kindOf(id) === 'bad') {
      map[3] += 1;
      continue;
    }
    map[1] += 1;
    for (const counts of [keyBy, shuffleIn, slowMap, sink]) {
      counts[0] += 1;
      counts[1] += 1;
    }
  }
  return { [FAST]: [source, filter, map, keyBy], [SLOW]: [shuffleIn, slowMap, sink] };
}

/** One sample of a Prometheus text exposition: the value of `name` with these labels among its own. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    if (Object.entries(labels).every(([key, value]) => line.includes(`${key}="${value}"`))) {
      return Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return undefined;
}

interface Sample {
  readonly at: number;
  readonly status: StatusReport;
  readonly metrics: string;
}

const stageOf = (status: StatusReport, id: string) => status.stages.find((s) => s.id === id) as StageStatusReport;

/**
 * Lag, backpressure, per-operator counts and channel watermarks, read as a user reads them: from
 * `/status` and `/metrics` of `eddy dev`, sampled while a deliberate backlog drains through a
 * deliberately slow stage (8 ms per record, worker sandboxes), on the embedded emulators.
 */
describe('metrics you can trust: a backlog through a slow stage', () => {
  const dir = mkdtempSync(join(tmpdir(), 'eddy-lag-metrics-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('lag never reads 0 while records wait, backpressure shows, operators count what a plain loop counts', async () => {
    // Arrange
    const input = join(dir, 'events.jsonl');
    const lines = Array.from({ length: EVENTS }, (_, id) =>
      JSON.stringify({ id, kind: kindOf(id), key: `k${id % 17}`, ts: BASE_TS + id * 1_000 }),
    );
    writeFileSync(input, `${lines.join('\n')}\n`);
    const expected = independentCounts();
    const slowTotal = expected[SLOW]?.[0]?.[0] as number;
    const session = await DevSession.start({
      pipeline: lagMetrics,
      sandboxes: 'worker',
      pipelineModule,
      metricsPort: 0,
    });
    const samples: Sample[] = [];
    const read = async (): Promise<Sample> => {
      const [status, metrics] = await Promise.all([
        fetch(`${session.server.url}/status`).then((r) => r.json() as Promise<StatusReport>),
        fetch(`${session.server.url}/metrics`).then((r) => r.text()),
      ]);
      return { at: Date.now(), status, metrics };
    };

    try {
      // Act: the whole input at once, then samples until the slow stage took in every record.
      await session.feed('events', input);
      let lastProgress = Date.now();
      let slowIn = 0;
      for (;;) {
        const current = await read();
        samples.push(current);
        const slow = stageOf(current.status, SLOW);
        if (slow.recordsIn > slowIn) {
          slowIn = slow.recordsIn;
          lastProgress = Date.now();
        }
        if (slowIn >= slowTotal && slow.pendingRecords === 0) break;
        if (Date.now() - lastProgress > PROGRESS_DEADLINE_MS) {
          throw new Error(
            `the slow stage took in nothing for ${PROGRESS_DEADLINE_MS} ms (at ${slowIn}/${slowTotal}): ` +
              formatStatus(current.status, session.server.url),
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      // Once caught up, the lag drops to 0 (the next GetRecords finds the tip).
      let drained = await read();
      const drainedBy = Date.now() + PROGRESS_DEADLINE_MS;
      while (stageOf(drained.status, SLOW).lagMs > 0 && Date.now() < drainedBy) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        drained = await read();
      }

      // Assess
      const slowLag = (s: Sample) => stageOf(s.status, SLOW).lagMs;
      const gaugeLag = (s: Sample) => sample(s.metrics, 'eddy_shard_lag_seconds', { stage: SLOW });
      // Records wait in the slow stage's input from when the fast stage wrote them all until the slow
      // stage took the last in; from the first sample after that where the slow mapping had read the
      // backlog (lag > 0), no sample may read 0, neither in /status nor in /metrics.
      const allWritten = samples.findIndex((s) => stageOf(s.status, FAST).recordsIn >= EVENTS);
      expect(allWritten, 'the fast stage took in the whole input while the slow stage was behind').toBeGreaterThan(-1);
      const seen = samples.findIndex((s, i) => i >= allWritten && slowLag(s) > 0);
      const waiting = samples.slice(seen).filter((s) => stageOf(s.status, SLOW).recordsIn < slowTotal);
      const oldGaugeZeros = waiting.filter((s) => stageOf(s.status, SLOW).iteratorAgeMs === 0).length;
      console.log(
        `${waiting.length} samples while records waited; the oldest-pending age (eddy_shard_iterator_age_seconds) ` +
          `read 0 in ${oldGaugeZeros} of them; slow stage lag (ms) every 10th: ` +
          waiting
            .filter((_, i) => i % 10 === 0)
            .map(slowLag)
            .join(', '),
      );
      expect(waiting.length, 'samples taken while the backlog drained').toBeGreaterThan(10);
      for (const s of waiting) {
        expect(slowLag(s), `lag at ${s.at}`).toBeGreaterThan(0);
        expect(gaugeLag(s), `eddy_shard_lag_seconds at ${s.at}`).toBeGreaterThan(0);
        for (const shard of stageOf(s.status, SLOW).shards) expect(shard.lagMs).toBeGreaterThan(0);
      }
      // Caught up: 0, and the last-batch IteratorAge series no longer repeats its last value.
      expect(slowLag(drained)).toBe(0);
      expect(gaugeLag(drained)).toBe(0);
      expect(sample(drained.metrics, 'eddy_shard_last_batch_iterator_age_seconds', { stage: SLOW })).toBeUndefined();

      // Backpressure: the slow mapping's read-ahead was full, in /status and in /metrics, and only then.
      const pressed = waiting.filter((s) => stageOf(s.status, SLOW).backpressured);
      expect(pressed.length, 'samples with the slow stage backpressured').toBeGreaterThan(0);
      for (const s of samples) {
        const stage = stageOf(s.status, SLOW);
        expect(stage.backpressured).toBe(stage.shards.some((shard) => shard.backpressured));
        for (const shard of stage.shards) {
          const gauge = sample(s.metrics, 'eddy_shard_read_ahead_full', { stage: SLOW, shard: shard.shardId });
          // /status and /metrics are read at the same moment only approximately: compare within one response.
          expect(gauge === 0 || gauge === 1).toBe(true);
        }
      }
      expect(pressed.some((s) => sample(s.metrics, 'eddy_shard_read_ahead_full', { stage: SLOW }) === 1)).toBe(true);
      expect(stageOf(drained.status, SLOW).backpressured).toBe(false);

      // Per-operator counts: what the plain loop counts, in /status and in /metrics.
      for (const stageId of [FAST, SLOW]) {
        const stage = stageOf(drained.status, stageId);
        const got = stage.operators.map((o) => [o.recordsIn, o.recordsOut, o.filtered, o.deadLettered, o.late]);
        expect(got, stageId).toEqual(expected[stageId]);
        for (const operator of stage.operators) {
          expect(
            sample(drained.metrics, 'eddy_operator_records_in_total', { stage: stageId, operator: operator.id }),
          ).toBe(operator.recordsIn);
          // One record in, at most one out: in = out + filtered + dead-lettered + late.
          expect(operator.recordsIn).toBe(
            operator.recordsOut + operator.filtered + operator.deadLettered + operator.late,
          );
        }
        // And the stage's own counts add up the same way on screen.
        expect(stage.recordsIn).toBe(stage.recordsOut + stage.filtered + stage.deadLettered + stage.late);
      }
      expect(stageOf(drained.status, FAST).operators.map((o) => o.label)).toEqual(['source', 'filter', 'map', 'keyBy']);

      // Watermark lag per input channel: the source shard's watermark is the newest event time read.
      const fast = stageOf(drained.status, FAST);
      expect(fast.watermarks).toHaveLength(1);
      const [channel] = fast.watermarks;
      expect(channel?.channel).toBe('events/shardId-000000000000');
      expect(channel?.watermark).toBe(BASE_TS + (EVENTS - 1) * 1_000);
      expect(channel?.lagMs).toBe(drained.status.now - (BASE_TS + (EVENTS - 1) * 1_000));
      const gauge = sample(drained.metrics, 'eddy_channel_watermark_lag_seconds', {
        stage: FAST,
        channel: 'events/shardId-000000000000',
      });
      expect(gauge).toBeGreaterThanOrEqual((channel?.lagMs ?? 0) / 1000);
      expect(gauge).toBeLessThan((channel?.lagMs ?? 0) / 1000 + 5);
      // A stateless stage after a shuffle has no watermark, hence no channels.
      expect(stageOf(drained.status, SLOW).watermarks).toEqual([]);

      // eddy status shows it all, counts that add up included.
      const screen = formatStatus(drained.status, session.server.url);
      console.log(screen);
      expect(screen).toMatch(/filtered/);
      expect(screen).toMatch(/backpressure/);
      expect(screen).toMatch(/kinesis records delivered/);
      expect(screen).toMatch(/events \(source\)/);
      expect(screen).toMatch(/filter-1 \(filter\)\s+1,200\s+1,080\s+120\s+0\s+0/);
      expect(screen).toMatch(/from-events\s+1,200\s+1,032\s+120\s+48\s+0/);
    } finally {
      await session.stop();
    }
  });
});
