/// <reference lib="dom" />
/**
 * The console's page script (bundled by esbuild when the console starts: local/console/bundle.ts).
 * It draws the pipeline's SVG once, then follows `/events` (server-sent events, one `/status`
 * report a second) and fills in the drawing and the tables. It reads the optional per-operator,
 * lag, backpressure and watermark-channel fields when the runner reports them, and falls back to
 * the per-stage figures when not.
 */
import { html, render } from 'htm/preact';
import type { ShardStatusReport, StageStatusReport, StatusReport } from '../../observability/prometheus.js';
import type { RecentReport } from '../../observability/recent-events.js';

/** Per-operator counts, when the runner reports them (StageStatusReport.operators). */
interface OperatorReport {
  readonly id: string;
  readonly label?: string;
  readonly recordsIn: number;
  readonly recordsOut: number;
  readonly filtered: number;
  readonly deadLettered: number;
  readonly late: number;
}

/** The fields another part of the runner adds to the status; all optional here. */
type Stage = Omit<StageStatusReport, 'shards'> & {
  readonly operators?: readonly OperatorReport[];
  readonly lagMs?: number;
  readonly backpressured?: boolean;
  readonly watermarks?: readonly { readonly channel: string; readonly watermark?: number; readonly lagMs?: number }[];
  readonly shards: readonly (ShardStatusReport & { readonly lagMs?: number; readonly backpressured?: boolean })[];
};
type Status = Omit<StatusReport, 'stages'> & { readonly stages: readonly Stage[] };

interface Counts {
  readonly recordsIn: number;
  readonly recordsOut: number;
  readonly filtered: number;
  readonly deadLettered: number;
  readonly late: number;
}

/** A row of the operators table: an operator when reported, else its stage as a whole. */
interface CountRow extends Counts {
  readonly key: string;
  readonly stage: string;
  readonly label: string;
  /** `op:<name>` of the drawing, for the metrics line in its box. */
  readonly node?: string;
  /** Records in per second since the previous report. */
  readonly rate?: number;
}

const COUNTERS = ['recordsIn', 'recordsOut', 'filtered', 'deadLettered', 'late'] as const;

function compact(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return '—';
  const abs = Math.abs(value);
  if (abs >= 1e6) return `${(value / 1e6).toFixed(1)}M`;
  if (abs >= 1e4) return `${(value / 1e3).toFixed(1)}k`;
  return `${Math.round(value * 10) / 10}`;
}

function duration(ms: number | undefined): string {
  if (ms === undefined) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 120_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 7_200_000) return `${(ms / 60_000).toFixed(1)} min`;
  if (ms < 172_800_000) return `${(ms / 3_600_000).toFixed(1)} h`;
  return `${Math.round(ms / 86_400_000)} days`;
}

function time(ms: number | undefined): string {
  return ms === undefined ? '—' : new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
}

/** The stage's lag: time behind the newest record when reported, else the age of its oldest pending record. */
function stageLag(stage: Stage): number {
  return stage.lagMs ?? stage.iteratorAgeMs;
}

function rows(status: Status, previous: Status | undefined): CountRow[] {
  const seconds = previous === undefined ? 0 : (status.now - previous.now) / 1000;
  const rate = (now: number, before: number | undefined) =>
    seconds > 0 && before !== undefined ? Math.max(0, (now - before) / seconds) : undefined;
  return status.stages.flatMap((stage): CountRow[] => {
    const before = previous?.stages.find((s) => s.id === stage.id);
    if (stage.operators !== undefined && stage.operators.length > 0) {
      return stage.operators.map((op) => ({
        ...pick(op),
        key: `${stage.id}/${op.id}`,
        stage: stage.id,
        label: op.label ?? op.id,
        node: `op:${op.id}`,
        rate: rate(op.recordsIn, before?.operators?.find((o) => o.id === op.id)?.recordsIn),
      }));
    }
    // A status without per-operator counts (an older runner): the stage's totals.
    return [
      {
        ...pick(stage),
        key: stage.id,
        stage: stage.id,
        label: 'stage total',
        rate: rate(stage.recordsIn, before?.recordsIn),
      },
    ];
  });
}

function pick(counts: Counts): Counts {
  return {
    recordsIn: counts.recordsIn,
    recordsOut: counts.recordsOut,
    filtered: counts.filtered,
    deadLettered: counts.deadLettered,
    late: counts.late,
  };
}

/** Writes the figures into the drawing's metrics lines (they are plain SVG, outside preact). */
function fillDrawing(root: HTMLElement, status: Status, counted: readonly CountRow[]): void {
  const line = (id: string, text: string) => {
    const element = root.querySelector(`[data-metrics-for="${CSS.escape(id)}"]`);
    if (element !== null) element.textContent = text;
  };
  for (const row of counted) {
    if (row.node !== undefined)
      line(row.node, `in ${compact(row.recordsIn)} · out ${compact(row.recordsOut)} · ${compact(row.rate)}/s`);
  }
  for (const stage of status.stages) {
    const pressure = stage.backpressured === true || stage.shards.some((s) => s.backpressured === true);
    line(
      stage.id,
      `in ${compact(stage.recordsIn)} · out ${compact(stage.recordsOut)} · lag ${duration(stageLag(stage))} · ${stage.pendingRecords} pending${pressure ? ' · BACKPRESSURED' : ''}`,
    );
    if (stage.operators === undefined) {
      // The stage's input operator (its first box) carries the stage's totals until per-operator counts are reported.
      const input = root.querySelector(`.node-operator[data-stage="${CSS.escape(stage.id)}"] .metrics`);
      const rate = counted.find((row) => row.key === stage.id)?.rate;
      if (input !== null)
        input.textContent = `stage in ${compact(stage.recordsIn)} · out ${compact(stage.recordsOut)} · ${compact(rate)}/s`;
    }
  }
}

function Counters({ counted }: { counted: readonly CountRow[] }) {
  return html`<table id="operators">
    <thead><tr><th>stage</th><th>operator</th>${COUNTERS.map((c) => html`<th>${c}</th>`)}<th>in/s</th></tr></thead>
    <tbody>
      ${counted.map(
        (row) => html`<tr data-row=${row.key}>
          <td>${row.stage}</td><td>${row.label}</td>
          ${COUNTERS.map((c) => html`<td class="num" data-counter=${c}>${row[c]}</td>`)}
          <td class="num" data-counter="rate">${compact(row.rate)}</td>
        </tr>`,
      )}
    </tbody>
  </table>`;
}

function Lag({ status }: { status: Status }) {
  return html`<table id="lag">
    <thead><tr><th>stage</th><th>shard</th><th>lag</th><th>pending records</th><th>backpressure</th><th>checkpoint</th></tr></thead>
    <tbody>
      ${status.stages.flatMap((stage) => [
        html`<tr class="stage-row" data-stage=${stage.id}>
          <td>${stage.id}</td><td>all</td>
          <td class="num" data-lag-ms=${stageLag(stage)}>${duration(stageLag(stage))}</td>
          <td class="num" data-pending=${stage.pendingRecords}>${stage.pendingRecords}</td>
          <td>${stage.backpressured === undefined ? '—' : stage.backpressured ? 'yes' : 'no'}</td><td></td>
        </tr>`,
        ...stage.shards.map(
          (shard) => html`<tr data-stage=${stage.id} data-shard=${shard.shardId}>
            <td></td><td>${shard.shardId} (${shard.state})</td>
            <td class="num">${duration(shard.lagMs ?? shard.iteratorAgeMs)}</td>
            <td class="num">${shard.pendingRecords}</td>
            <td>${shard.backpressured === undefined ? '—' : shard.backpressured ? 'yes' : 'no'}</td>
            <td class="mono" data-checkpoint>${shard.checkpoint ?? '—'}</td>
          </tr>`,
        ),
      ])}
    </tbody>
  </table>`;
}

function Watermarks({ status }: { status: Status }) {
  const channels = status.stages.flatMap((stage) =>
    stage.watermarks !== undefined
      ? stage.watermarks.map((w) => ({ stage: stage.id, channel: w.channel, watermark: w.watermark, lagMs: w.lagMs }))
      : // A status without channel watermarks (an older runner): the stage's own.
        stage.watermark === undefined
        ? []
        : [{ stage: stage.id, channel: stage.input, watermark: stage.watermark, lagMs: stage.watermarkLagMs }],
  );
  return html`<table id="watermarks">
    <thead><tr><th>stage</th><th>input channel</th><th>watermark</th><th>lag</th></tr></thead>
    <tbody>
      ${channels.map(
        (w) =>
          html`<tr><td>${w.stage}</td><td>${w.channel}</td><td class="mono">${w.watermark !== undefined && w.watermark >= 8.64e15 ? 'end of input' : time(w.watermark)}</td><td class="num">${duration(w.lagMs)}</td></tr>`,
      )}
    </tbody>
  </table>`;
}

function Recent({ recent }: { recent: RecentReport | undefined }) {
  if (recent === undefined) return html`<p>This runner does not report recent dead letters.</p>`;
  const newestFirst = <T>(items: readonly T[]) => [...items].reverse();
  return html`<div class="recent">
    <section><h3>Last dead letters (${recent.deadLetters.length})</h3>
      <ul id="dead-letters">${newestFirst(recent.deadLetters).map(
        (d) =>
          html`<li data-reason=${d.reason}><b>${d.reason}</b> in ${d.stage}${d.operator === undefined ? '' : ` (${d.operator})`}: ${d.message}<br/><span class="mono">${d.recordId ?? ''} · ${time(d.at)}</span></li>`,
      )}</ul></section>
    <section><h3>Last late records (${recent.late.length})</h3>
      <ul id="late">${newestFirst(recent.late).map(
        (l) =>
          html`<li>${l.stage} → ${l.output}: ${l.reason ?? 'late'}; event time ${time(l.eventTime)}, watermark ${time(l.watermark)}<br/><span class="mono">${l.recordId ?? ''} · ${time(l.at)}</span></li>`,
      )}</ul></section>
    <section><h3>Last failed invocations (${recent.errors.length})</h3>
      <ul id="errors">${newestFirst(recent.errors).map(
        (e) =>
          html`<li>${e.stage}${e.shardId === undefined ? '' : ` ${e.shardId}`}: ${e.message}<br/><span class="mono">${time(e.at)}</span></li>`,
      )}</ul></section>
  </div>`;
}

function App({
  status,
  previous,
  connected,
}: {
  status: Status | undefined;
  previous: Status | undefined;
  connected: boolean;
}) {
  if (status === undefined) return html`<p>waiting for the first report…</p>`;
  const counted = rows(status, previous);
  const graph = document.getElementById('graph');
  if (graph !== null) fillDrawing(graph, status, counted);
  return html`
    <p class="meta" data-connected=${connected}>
      ${connected ? 'live' : 'disconnected, retrying'} · updated ${time(status.now)}
      ${status.kinesisEndpoint === undefined ? '' : html` · Kinesis at <span class="mono">${status.kinesisEndpoint}</span>`}
    </p>
    <h2>Records per operator</h2><${Counters} counted=${counted} />
    <h2>Consumer lag, backpressure and checkpoints</h2><${Lag} status=${status} />
    <h2>Watermarks</h2><${Watermarks} status=${status} />
    <h2>Dead letters, late records, errors</h2><${Recent} recent=${status.recent} />
  `;
}

async function main(): Promise<void> {
  const graph = document.getElementById('graph');
  if (graph !== null) graph.innerHTML = await (await fetch('graph.svg')).text();
  const root = document.getElementById('app') as HTMLElement;
  let previous: Status | undefined;
  let current: Status | undefined;
  let connected = false;
  const draw = () => render(html`<${App} status=${current} previous=${previous} connected=${connected} />`, root);
  draw();
  const events = new EventSource('events');
  events.onopen = () => {
    connected = true;
    draw();
  };
  events.onerror = () => {
    connected = false;
    draw();
  };
  events.onmessage = (message) => {
    previous = current;
    current = JSON.parse(message.data) as Status;
    draw();
  };
}

void main();
