/**
 * The reliability issue's large fault runs: examples/page-view-counts.ts over 50,000+ clicks under
 * each fault type of test/e2e/proxy-faults.test.ts (every call of the stages, their mappings and the
 * state store through the fault proxy), and with worker sandboxes SIGKILLed at least 20 times
 * (test/e2e/worker-kills.test.ts). Each run's windows are compared with the batch computation
 * (test/reference/windows.ts). Prints a table and exits 1 on any difference. CI runs the same cases
 * at smaller sizes.
 *
 *   npx tsx bench/fault-suite.ts [--events 50000] [--only <fault id>]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { writeClickSample } from '../examples/data/click-generator.js';
import { startEmulators } from '../local/emulators/index.js';
import { faultCases } from '../test/helpers/fault-cases.js';
import { type FaultCounts, startFaultProxy } from '../test/helpers/fault-proxy.js';
import {
  describeStages,
  type FaultedRun,
  PAGE_VIEW_COUNTS_LATE as LATE,
  runPageViewCounts,
} from '../test/helpers/pipeline-run.js';
import type { WindowComparison } from '../test/helpers/window-check.js';

const { values } = parseArgs({
  options: { events: { type: 'string', default: '50000' }, only: { type: 'string' } },
});
const events = Number(values.events);
if (!Number.isInteger(events) || events < 1) throw new Error(`--events must be a whole number, got ${values.events}`);
const pipelineModule = fileURLToPath(new URL('../examples/page-view-counts.ts', import.meta.url));

interface Row {
  readonly fault: string;
  readonly events: number;
  readonly faults: string;
  readonly kills: number;
  readonly lost: number;
  readonly duplicated: number;
  readonly seconds: number;
  /** Why the run does not count as exact; empty when it does. */
  readonly problems: string[];
}

const dir = mkdtempSync(join(tmpdir(), 'eddy-fault-suite-'));
const input = join(dir, 'clicks.jsonl');
await writeClickSample(input, { events, seed: 31, users: 1_000, pages: 50, badLineRate: 0.001 });
const emulators = await startEmulators();
const integer = new Intl.NumberFormat('en-US');
const rows: Row[] = [];

/** Problems of a run beyond the window comparison: late records, discarded batches. */
function problemsOf(run: FaultedRun, comparison: WindowComparison): string[] {
  const problems = [...comparison.differences];
  const late = run.outputs.get(LATE) ?? [];
  if (late.length > 0) problems.push(`${late.length} records sent to the late output`);
  if (run.failedBatches.length > 0) problems.push(`${run.failedBatches.length} batches discarded after retries`);
  return problems;
}

function totalFaults(counts: FaultCounts): number {
  let total = 0;
  for (const kinds of Object.values(counts.faults)) for (const n of Object.values(kinds)) total += n ?? 0;
  return total;
}

try {
  for (const fault of faultCases) {
    if (values.only !== undefined && values.only !== fault.id && values.only !== 'proxy') continue;
    const proxy = await startFaultProxy({
      upstream: { kinesis: emulators.kinesisEndpoint, dynamodb: emulators.dynamodbEndpoint ?? '' },
      rules: fault.rules,
      seed: 17,
    });
    try {
      const { run, comparison } = await runPageViewCounts({
        endpoint: proxy.endpoint,
        dynamodbEndpoint: proxy.endpoint,
        directKinesisEndpoint: emulators.kinesisEndpoint,
        input,
        stallLimitMs: 5 * 60_000,
      });
      const counts = proxy.counts();
      const problems = problemsOf(run, comparison);
      for (const [label, minimum] of Object.entries(fault.atLeast)) {
        if ((counts.byLabel[label] ?? 0) < minimum) problems.push(`rule '${label}' hit fewer than ${minimum} times`);
      }
      rows.push({
        fault: fault.id,
        events: run.fed,
        faults:
          integer.format(totalFaults(counts)) +
          (counts.partialRecords.failed > 0 ? ` (${integer.format(counts.partialRecords.failed)} records)` : ''),
        kills: 0,
        lost: comparison.lost,
        duplicated: comparison.duplicated,
        seconds: run.elapsedMs / 1000,
        problems,
      });
      console.error(
        `${fault.name}: ${(run.elapsedMs / 1000).toFixed(0)} s, rule hits ${JSON.stringify(counts.byLabel)}` +
          (counts.partialRecords.failed > 0 ? `, ${counts.partialRecords.failed} records failed` : '') +
          `, ${comparison.repeats} repeated results\n${describeStages(run.stages)}`,
      );
    } finally {
      await proxy.stop();
    }
  }

  if (values.only === undefined || values.only === 'kills') {
    const { run, comparison } = await runPageViewCounts({
      pipelineModule,
      sandboxes: 'worker',
      killWorkers: { rate: 0.25, seed: 5, atLeast: 20 },
      endpoint: emulators.kinesisEndpoint,
      dynamodbEndpoint: emulators.dynamodbEndpoint ?? '',
      directKinesisEndpoint: emulators.kinesisEndpoint,
      input,
      stallLimitMs: 5 * 60_000,
    });
    const problems = problemsOf(run, comparison);
    if (run.workerKills < 20) problems.push(`only ${run.workerKills} workers killed`);
    rows.push({
      fault: 'worker SIGKILLs',
      events: run.fed,
      faults: '0',
      kills: run.workerKills,
      lost: comparison.lost,
      duplicated: comparison.duplicated,
      seconds: run.elapsedMs / 1000,
      problems,
    });
    console.error(
      `worker kills: ${(run.elapsedMs / 1000).toFixed(0)} s, ${comparison.repeats} repeated results\n${describeStages(run.stages)}`,
    );
  }
} finally {
  await emulators.stop();
  rmSync(dir, { recursive: true, force: true });
}

const header = ['fault', 'events', 'faults injected', 'kills', 'lost', 'duplicated', 'seconds', 'exact'];
const table = [
  header,
  ...rows.map((r) => [
    r.fault,
    integer.format(r.events),
    r.faults,
    integer.format(r.kills),
    integer.format(r.lost),
    integer.format(r.duplicated),
    r.seconds.toFixed(0),
    r.problems.length === 0 ? 'yes' : 'NO',
  ]),
];
const widths = header.map((_, c) => Math.max(...table.map((row) => (row[c] ?? '').length)));
console.log(`| ${header.map((h, c) => h.padEnd(widths[c] ?? 0)).join(' | ')} |`);
console.log(`|${widths.map((w, c) => (c === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`);
for (const row of table.slice(1)) {
  console.log(
    `| ${row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c] ?? 0) : cell.padStart(widths[c] ?? 0))).join(' | ')} |`,
  );
}
const failed = rows.filter((r) => r.problems.length > 0);
for (const row of failed) {
  console.log(`\n${row.fault}: ${row.problems.length} problem(s)`);
  for (const problem of row.problems.slice(0, 20)) console.log(`  ${problem}`);
}
process.exit(failed.length > 0 || rows.length === 0 ? 1 : 0);
