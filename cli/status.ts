import type { Command } from 'commander';
import { DEFAULT_METRICS_HOST, DEFAULT_METRICS_PORT } from '../local/observability/metrics-server.js';
import type { StageStatusReport, StatusReport } from '../local/observability/prometheus.js';
import { END_OF_TIME } from '../shared/runtime/watermark-records.js';

const DEFAULT_URL = `http://${DEFAULT_METRICS_HOST}:${DEFAULT_METRICS_PORT}`;
const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

/** `1.2 s`, `340 ms`, `3 min 20 s`, `2 h 5 min`, `41 d`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const seconds = Math.floor(ms / 1000);
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} min`;
  return `${integer.format(Math.floor(seconds / 86_400))} d`;
}

function watermarkText(watermark: number): string {
  return watermark >= END_OF_TIME ? 'end of input' : new Date(watermark).toISOString();
}

function watermarkOf(stage: StageStatusReport): string {
  if (stage.watermark === undefined) return '-';
  if (stage.endOfInput) return 'end of input';
  return watermarkText(stage.watermark);
}

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length))) ?? [];
  return rows
    .map((row) =>
      row
        .map((cell, column) => (column === 0 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

const yesNo = (value: boolean) => (value ? 'yes' : 'no');

/** The stages: logical records (decoded data records, not the Kinesis records that carry them), lag, watermark. */
function stageTable(report: StatusReport): string {
  return table([
    [
      'stage',
      'in',
      'out',
      'filtered',
      'dead-lettered',
      'late',
      'failed',
      'pending',
      'lag',
      'backpressure',
      'max IteratorAge',
      'watermark',
      'watermark lag',
    ],
    ...report.stages.map((stage) => [
      stage.id,
      integer.format(stage.recordsIn),
      integer.format(stage.recordsOut),
      integer.format(stage.filtered),
      integer.format(stage.deadLettered),
      integer.format(stage.late),
      integer.format(stage.failed),
      integer.format(stage.pendingRecords),
      formatDuration(stage.lagMs ?? stage.iteratorAgeMs),
      stage.backpressured === undefined ? '-' : yesNo(stage.backpressured),
      formatDuration(stage.maxIteratorAgeMs),
      watermarkOf(stage),
      stage.watermarkLagMs === undefined ? '-' : formatDuration(stage.watermarkLagMs),
    ]),
  ]);
}

/** Every operator fused in each stage, counted apart: where records are dropped, fail or come late. */
function operatorTable(report: StatusReport): string {
  return table([
    ['stage', 'operator', 'in', 'out', 'filtered', 'dead-lettered', 'late'],
    ...report.stages.flatMap((stage) =>
      (stage.operators ?? []).map((operator) => [
        stage.id,
        operator.label === operator.id ? operator.id : `${operator.id} (${operator.label})`,
        integer.format(operator.recordsIn),
        integer.format(operator.recordsOut),
        integer.format(operator.filtered),
        integer.format(operator.deadLettered),
        integer.format(operator.late),
      ]),
    ),
  ]);
}

/** Each input shard: its lag, backpressure, and the Kinesis records (shuffle packs too) delivered to the function. */
function shardTable(report: StatusReport): string {
  return table([
    [
      'stage',
      'shard',
      'state',
      'pending',
      'lag',
      'backpressure',
      'last IteratorAge',
      'kinesis records delivered',
      'bisects',
    ],
    ...report.stages.flatMap((stage) =>
      stage.shards.map((shard) => [
        stage.id,
        shard.shardId,
        shard.state,
        integer.format(shard.pendingRecords),
        formatDuration(shard.lagMs ?? shard.iteratorAgeMs),
        shard.backpressured === undefined ? '-' : yesNo(shard.backpressured),
        shard.lastBatchIteratorAgeMs === undefined ? '-' : formatDuration(shard.lastBatchIteratorAgeMs),
        integer.format(shard.recordsDelivered),
        // Absent from an older `eddy dev`'s report.
        shard.bisects === undefined ? '-' : integer.format(shard.bisects),
      ]),
    ),
  ]);
}

/** The watermark of each input channel, for stages with event time. */
function channelTable(report: StatusReport): string | undefined {
  const rows = report.stages.flatMap((stage) =>
    (stage.watermarks ?? []).map((channel) => [
      stage.id,
      channel.channel,
      channel.watermark === undefined ? '-' : watermarkText(channel.watermark),
      channel.lagMs === undefined ? '-' : formatDuration(channel.lagMs),
    ]),
  );
  return rows.length === 0 ? undefined : table([['stage', 'input channel', 'watermark', 'watermark lag'], ...rows]);
}

/**
 * The status of a running `eddy dev`: per stage its counts, lag and watermark, then per operator,
 * per input shard and per input channel. Fields a older `eddy dev` does not serve show as `-`.
 */
export function formatStatus(report: StatusReport, url: string): string {
  const channels = channelTable(report);
  const lines = [
    `pipeline ${report.pipeline}: eddy dev at ${url}, up ${formatDuration(report.now - report.startedAt)}` +
      (report.kinesisEndpoint === undefined ? '' : `, kinesis ${report.kinesisEndpoint}`),
    '',
    stageTable(report),
    '',
    operatorTable(report),
    '',
    shardTable(report),
    ...(channels === undefined ? [] : ['', channels]),
  ];
  const failing = report.stages.filter((stage) => stage.functionErrors > 0);
  if (failing.length > 0) {
    lines.push('');
    for (const stage of failing) {
      lines.push(
        `${stage.id}: ${integer.format(stage.functionErrors)} failed invocation(s)` +
          (stage.bisects === undefined ? '' : `, ${integer.format(stage.bisects)} batch(es) bisected`) +
          (stage.lastError === undefined ? '' : `, last: ${stage.lastError}`),
      );
    }
  }
  lines.push(
    '',
    'in, out, filtered, dead-lettered, late: logical records (a shuffle pack, one Kinesis record, carries many);',
    '  per operator that maps one record to at most one: in = out + filtered + dead-lettered + late',
    'lag: time behind the newest record of the input (0 only when caught up); backpressure: a full batch',
    '  per lane waits for the function, so the mapping stopped reading; watermark lag: clock − watermark',
    'docs/lag.md explains each number',
  );
  return lines.join('\n');
}

/** Reads the status of the `eddy dev` at `url`. */
export async function fetchStatus(url: string, timeoutMs = 5000): Promise<StatusReport> {
  const endpoint = new URL('/status', url);
  let response: Response;
  try {
    response = await fetch(endpoint, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    const cause = (error as Error).cause as
      | { code?: string; message?: string; errors?: { code?: string }[] }
      | undefined;
    const reason = cause?.code ?? cause?.errors?.[0]?.code ?? cause?.message ?? (error as Error).message;
    throw new Error(`no eddy dev answers at ${url} (${reason}): start one with \`eddy dev <pipeline.ts>\``);
  }
  if (!response.ok) throw new Error(`${endpoint} answered ${response.status}: is this an eddy dev endpoint?`);
  return (await response.json()) as StatusReport;
}

export function registerStatusCommand(program: Command): void {
  program
    .command('status')
    .description('print the stages of a running `eddy dev`: counts, consumer lag and watermarks')
    .option('--url <url>', 'where `eddy dev` serves /metrics and /status', DEFAULT_URL)
    .option('--json', 'print the status as JSON')
    .action(async (options: { url: string; json?: boolean }) => {
      const report = await fetchStatus(options.url);
      console.log(options.json ? JSON.stringify(report, null, 2) : formatStatus(report, options.url));
    });
}
