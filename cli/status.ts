import type { Command } from 'commander';
import { DEFAULT_METRICS_HOST, DEFAULT_METRICS_PORT } from '../local/observability/metrics-server.js';
import type { StageStatusReport, StatusReport } from '../local/observability/prometheus.js';

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

function watermarkOf(stage: StageStatusReport): string {
  if (stage.watermark === undefined) return '-';
  if (stage.endOfInput) return 'end of input';
  return new Date(stage.watermark).toISOString();
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

/** The status of a running `eddy dev`: per stage its counts, consumer lag and watermark, then per shard. */
export function formatStatus(report: StatusReport, url: string): string {
  const lines = [
    `pipeline ${report.pipeline}: eddy dev at ${url}, up ${formatDuration(report.now - report.startedAt)}` +
      (report.kinesisEndpoint === undefined ? '' : `, kinesis ${report.kinesisEndpoint}`),
    '',
    table([
      ['stage', 'in', 'out', 'dead-lettered', 'failed', 'pending', 'lag', 'max lag', 'watermark', 'watermark lag'],
      ...report.stages.map((stage) => [
        stage.id,
        integer.format(stage.recordsIn),
        integer.format(stage.recordsOut),
        integer.format(stage.deadLettered),
        integer.format(stage.failed),
        integer.format(stage.pendingRecords),
        formatDuration(stage.iteratorAgeMs),
        formatDuration(stage.maxIteratorAgeMs),
        watermarkOf(stage),
        stage.watermarkLagMs === undefined ? '-' : formatDuration(stage.watermarkLagMs),
      ]),
    ]),
    '',
    table([
      ['stage', 'shard', 'state', 'pending', 'lag', 'last batch lag', 'delivered'],
      ...report.stages.flatMap((stage) =>
        stage.shards.map((shard) => [
          stage.id,
          shard.shardId,
          shard.state,
          integer.format(shard.pendingRecords),
          formatDuration(shard.iteratorAgeMs),
          shard.lastBatchIteratorAgeMs === undefined ? '-' : formatDuration(shard.lastBatchIteratorAgeMs),
          integer.format(shard.recordsDelivered),
        ]),
      ),
    ]),
  ];
  const failing = report.stages.filter((stage) => stage.functionErrors > 0);
  if (failing.length > 0) {
    lines.push('');
    for (const stage of failing) {
      lines.push(
        `${stage.id}: ${integer.format(stage.functionErrors)} failed invocation(s)` +
          (stage.lastError === undefined ? '' : `, last: ${stage.lastError}`),
      );
    }
  }
  lines.push('', 'lag: age of the oldest record a stage has read and not finished; watermark lag: clock − watermark');
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
