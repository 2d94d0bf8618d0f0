import { describeDiscardedBatch, discardedTotals } from '../local/runner/discarded-batches.js';
import type { RunSummary } from '../local/runner/run-files.js';

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

function rate(records: number, ms: number): string {
  return ms <= 0 ? '-' : `${integer.format((records / ms) * 1000)}/s`;
}

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length))) ?? [];
  return rows
    .map((row) =>
      row
        .map((cell, column) => (column === 0 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0)))
        .join('  '),
    )
    .join('\n');
}

/** The end-of-run report: per-stage counts and throughput, sinks, dead letters with their input lines. */
export function formatSummary(summary: RunSummary, maxDeadLetters = 10): string {
  const seconds = summary.elapsedMs / 1000;
  const lines: string[] = [];
  lines.push(
    `pipeline ${summary.pipeline}: ${integer.format(summary.inputRecords)} input records in ${seconds.toFixed(1)} s (${rate(summary.inputRecords, summary.elapsedMs)} end to end)`,
  );
  lines.push('');
  lines.push(
    table([
      [
        'stage',
        'in',
        'out',
        'filtered',
        'late',
        'dead-lettered',
        'failed',
        'invocations',
        'errors',
        'bisects',
        'busy',
        'throughput',
        'max lag',
      ],
      ...summary.stages.map(({ stage, stats, lag, bisects }) => [
        stage.id,
        integer.format(stats.recordsIn),
        integer.format(stats.recordsOut),
        integer.format(stats.filtered),
        integer.format(stats.late),
        integer.format(stats.deadLettered),
        integer.format(stats.failedRecords),
        integer.format(stats.invocations),
        // Lambda's Errors metric (each one retried or split) and the mapping's splits of failed batches.
        integer.format(stats.functionErrors),
        integer.format(bisects),
        `${(stats.busyMs / 1000).toFixed(1)} s`,
        rate(stats.recordsIn, stats.busyMs),
        // Lambda's IteratorAge, Maximum over the run: how far the stage trailed its input at worst.
        `${(lag.maxIteratorAgeMs / 1000).toFixed(1)} s`,
      ]),
    ]),
  );
  lines.push('');
  for (const [stream, records] of Object.entries(summary.sinkRecords))
    lines.push(`sink ${stream}: ${integer.format(records)} records`);
  for (const line of tableWriteLines(summary)) lines.push(line);
  for (const output of summary.outputs)
    lines.push(`wrote ${integer.format(output.records)} records of ${output.stream} to ${output.file}`);
  lines.push(totalsLine(summary));
  if (summary.deadLetterCount > 0) {
    lines.push('');
    const to = summary.deadLetter ?? { kind: 'stream', name: `${summary.pipeline}-dead-letters` };
    const where =
      to.kind === 'queue' ? `in queue ${to.name}, kept in process locally (no SQS emulator)` : `in stream ${to.name}`;
    const late = summary.lateDeadLetterCount;
    const count =
      late === 0
        ? integer.format(summary.deadLetterCount)
        : `${integer.format(summary.deadLetterCount)}: ${integer.format(summary.deadLetterCount - late)} bad records, ${integer.format(late)} late`;
    lines.push(`dead letters (${count}, ${where}):`);
    for (const { envelope, origin } of summary.deadLetters.slice(0, maxDeadLetters)) {
      const where = origin === undefined ? envelope.correlationId : `${origin.file}:${origin.line}`;
      lines.push(`  ${where}: ${envelope.error.reason} in ${envelope.error.operator}: ${envelope.error.message}`);
    }
    const shown = Math.min(summary.deadLetters.length, maxDeadLetters);
    if (summary.deadLetterCount > shown)
      lines.push(`  ... and ${integer.format(summary.deadLetterCount - shown)} more`);
  }
  if (summary.failedBatches.length > 0) {
    lines.push('');
    lines.push(`${summary.failedBatches.length} batch(es) discarded after retries (on-failure destination):`);
    // Every one: each is records lost, and its line is where to start looking.
    for (const batch of summary.failedBatches) lines.push(`  ${describeDiscardedBatch(batch)}`);
  }
  return lines.join('\n');
}

/**
 * The run's totals over all stages. `dead-lettered` means what the stage table's column means, bad
 * records; late records sent to the dead letters (`lateRecords: 'dead-letter'`) are the stage
 * table's `late`, and are named apart when there are any.
 */
export function totalsLine(summary: Pick<RunSummary, 'stages' | 'deadLetterCount' | 'lateDeadLetterCount'>): string {
  const total = (count: (stats: RunSummary['stages'][number]['stats']) => number) =>
    integer.format(summary.stages.reduce((sum, s) => sum + count(s.stats), 0));
  const late = summary.lateDeadLetterCount;
  return [
    `records in ${total((s) => s.recordsIn)}`,
    `out ${total((s) => s.recordsOut)}`,
    `failed ${total((s) => s.failedRecords)}`,
    `dead-lettered ${integer.format(summary.deadLetterCount - late)}`,
    ...(late > 0 ? [`late to the dead letters ${integer.format(late)}`] : []),
  ]
    .join(', ')
    .concat(' (all stages)');
}

/**
 * Per table written (`toDynamoDb`, `toTable`): the writes made, and those refused by the version
 * condition. A refusal is no loss: the table already held a newer record of the key (one that came
 * late) or the same write (a retry's repeat).
 */
export function tableWriteLines(summary: Pick<RunSummary, 'stages'>): string[] {
  const writes = new Map<string, { written: number; refused: number }>();
  for (const { stats } of summary.stages) {
    for (const [stream, count] of stats.written) {
      if (!stream.startsWith('table:')) continue;
      const table = stream.slice('table:'.length);
      const entry = writes.get(table) ?? { written: 0, refused: 0 };
      writes.set(table, { ...entry, written: entry.written + count });
    }
    for (const [table, count] of stats.refusedRows) {
      const entry = writes.get(table) ?? { written: 0, refused: 0 };
      writes.set(table, { ...entry, refused: entry.refused + count });
    }
  }
  return [...writes].map(
    ([table, { written, refused }]) =>
      `table ${table}: ${integer.format(written)} writes, ${integer.format(refused)} refused (a newer or the same version was stored: a late record or a retry's repeat)`,
  );
}

/**
 * The line that fails a run: records lost in discarded batches. Dead letters are kept, not lost,
 * so a run that only dead-lettered records passes. Undefined when nothing was lost.
 */
export function lostRecordsLine(summary: Pick<RunSummary, 'failedBatches'>): string | undefined {
  const { batches, records } = discardedTotals(summary.failedBatches);
  if (batches === 0) return undefined;
  return `${integer.format(batches)} batch(es) of ${integer.format(records)} record(s) discarded after retries: those records were not processed (see the lines above)`;
}

/** Prints the summary; a run that lost records says so on stderr and exits non-zero. */
export function printSummary(summary: RunSummary): void {
  console.log(formatSummary(summary));
  const lost = lostRecordsLine(summary);
  if (lost !== undefined) {
    console.error(`eddy: ${lost}`);
    process.exitCode = 1;
  }
}
