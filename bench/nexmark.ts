/**
 * Nexmark on the embedded stack: each query of examples/nexmark run with `eddy run` (runPipelineOnFiles)
 * over the same generated events, its output checked against the reference computation
 * (test/nexmark/reference.ts) so that a fast wrong run does not count, beside two baselines:
 *
 * - Flink's published per-core throughput (nexmark/nexmark GUIDE_V2: Flink 2.0, 8 one-slot task
 *   managers, 50 M events; throughput divided by the cores the job used). Eddy's comparable figure is
 *   events per CPU-second: the CPU time this process and its reaped children (the emulator process)
 *   spent on the run, from /proc/self/stat, so other load on a shared machine does not count;
 * - the emulator's own ceiling: the same number of event records put into kinesalite and read back,
 *   no Eddy in between (what every hop of eddy run pays at least once).
 *
 *   npx tsx bench/nexmark.ts [--events 50000] [--queries q0,q1,q2,q3,q4,q5,q6,q7,q8] [--rate 10000] [--seed 1]
 *
 * Prints a table and writes bench/nexmark-results.json: per query, { name, value, unit, baseline,
 * baselineValue, ratio } entries for events/s end to end (beside the emulator's ceiling), events per
 * CPU-second (beside Flink's per core) and whether the output was exact. Also exports `run`, the
 * shape bench/run-all.ts collects (BenchRow of bench/results.ts); `scale: 'full'` runs 100,000 events.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DEFAULT_GENERATOR_OPTIONS } from '../examples/nexmark/config.js';
import { writeEvents } from '../examples/nexmark/generator.js';
import { NEXMARK_QUERIES } from '../examples/nexmark/queries.js';
import { runQuery } from '../test/nexmark/run-query.js';
import { emulatorCeilingMs } from './emulator-ceiling.js';
import { FLINK_PER_CORE, flinkBaseline } from './nexmark-flink.js';

const ticksPerSecond = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/**
 * CPU seconds used so far by this process and the children it has waited for (utime, stime, cutime,
 * cstime of /proc/self/stat); elsewhere, this process alone.
 */
function cpuSeconds(): number {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    // Fields after the command name, which is in parentheses and may hold spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime is field 14 of stat(5); here, after pid and comm, index 11.
    return fields.slice(11, 15).reduce((sum, f) => sum + Number(f), 0) / ticksPerSecond;
  } catch {
    const usage = process.cpuUsage();
    return (usage.user + usage.system) / 1e6;
  }
}

export interface Entry {
  name: string;
  /** null for a run whose output was wrong: its speed means nothing. */
  value: number | null;
  unit: string;
  baseline: string;
  /** Absent when there is none (q6 has no Flink figure). */
  baselineValue?: number;
  /** value / baselineValue. */
  ratio?: number;
}

interface Row {
  query: string;
  rate: number;
  cpu: number;
  perCpuSecond: number;
  rows: number;
  exact: boolean;
}

export interface NexmarkBenchOptions {
  /** @default 50,000; 100,000 with scale 'full' */
  readonly events?: number;
  readonly queries?: readonly string[];
  /** Events per second of event time. @default Beam's 10,000 */
  readonly rate?: number;
  readonly seed?: number;
  /** bench/run-all.ts's BenchOptions. */
  readonly scale?: 'default' | 'full';
}

/** Runs the queries, prints the table, writes bench/nexmark-results.json and returns its entries. */
export async function run(options: NexmarkBenchOptions = {}): Promise<Entry[]> {
  const events = options.events ?? (options.scale === 'full' ? 100_000 : 50_000);
  const rate = options.rate ?? DEFAULT_GENERATOR_OPTIONS.firstEventRate;
  const seed = options.seed ?? 1;
  const wanted = options.queries ?? NEXMARK_QUERIES.map((q) => q.name);
  const queries = NEXMARK_QUERIES.filter((q) => wanted.includes(q.name));
  const unknown = wanted.filter((name) => !NEXMARK_QUERIES.some((q) => q.name === name));
  if (unknown.length > 0) throw new Error(`unknown queries: ${unknown.join(', ')}`);

  const dir = '.eddy/bench/nexmark';
  mkdirSync(dir, { recursive: true });
  const input = join(dir, 'events.jsonl');
  // Beam's defaults but the seed: 10,000 events per second of event time, one timeline, in order.
  const counts = await writeEvents(input, { numEvents: events, firstEventRate: rate, seed });
  console.log(
    `${counts.events} events (${counts.persons} persons, ${counts.auctions} auctions, ${counts.bids} bids), ` +
      `${rate} events/s of event time, seed ${seed}; ${cpus().length} cores\n`,
  );
  const results: Entry[] = [];
  const lines = readFileSync(input, 'utf8').trimEnd().split('\n');
  const ceiling = (lines.length / (await emulatorCeilingMs(lines))) * 1000;

  const rows: Row[] = [];
  for (const query of queries) {
    const cpuBefore = cpuSeconds();
    const outcome = await runQuery(query, input, dir);
    const cpu = cpuSeconds() - cpuBefore;
    const c = outcome.comparison;
    const exact =
      c.missing.length === 0 &&
      c.extra.length === 0 &&
      c.conflicts.length === 0 &&
      outcome.summary.deadLetters.length === 0 &&
      outcome.summary.failedBatches.length === 0 &&
      outcome.late === 0;
    const endToEnd = (outcome.summary.inputRecords / outcome.summary.elapsedMs) * 1000;
    const row = {
      query: `${query.name} ${query.title}`,
      rate: endToEnd,
      cpu,
      perCpuSecond: outcome.summary.inputRecords / cpu,
      rows: c.emitted,
      exact,
    };
    rows.push(row);
    // A wrong run's speed means nothing: it is recorded as null.
    const measured = (x: number) => (exact ? Math.round(x) : null);
    const ratio = (x: number, of: number) => (exact ? Number((x / of).toFixed(4)) : undefined);
    results.push(
      {
        name: `${query.name} ${query.title}: events/s end to end (eddy run, ${events} events)`,
        value: measured(endToEnd),
        unit: 'events/s',
        baseline: `kinesalite put+get of the same records, no Eddy`,
        baselineValue: Math.round(ceiling),
        ...(exact && { ratio: ratio(endToEnd, ceiling) }),
      },
      {
        name: `${query.name} ${query.title}: events per CPU-second (eddy run and its emulators)`,
        value: measured(row.perCpuSecond),
        unit: 'events/s/core',
        ...flinkBaseline(query.name, row.perCpuSecond, exact),
      },
      {
        name: `${query.name} ${query.title}: output equals the reference computation`,
        value: exact ? 1 : 0,
        unit: 'bool',
        baseline: 'test/nexmark/reference.ts over the same events',
        baselineValue: 1,
      },
    );
    console.log(
      `${query.name}: ${Math.round(endToEnd)} events/s, ${cpu.toFixed(1)} CPU s, ${c.emitted} rows` +
        (exact ? '' : ` WRONG: ${c.missing.length} missing, ${c.extra.length} extra, ${c.conflicts.length} conflicts`),
    );
    // What each stateful stage took: for q5 and q7, phase two's records in are its cost per window.
    for (const { stage, stats } of outcome.summary.stages.filter((st) => st.stage.stateful)) {
      console.log(
        `  ${stage.id}: ${stats.recordsIn} records in, ${stats.recordsOut} out, ` +
          `${stats.invocations} invocations, ${stats.stateRequests} state requests`,
      );
    }
  }

  const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
  const header = ['query', 'events/s e2e', 'CPU s', 'events/CPU-s', 'Flink/core', 'Eddy ÷ Flink', 'rows', 'exact'];
  const table = rows.map((r) => {
    const flink = FLINK_PER_CORE[r.query.split(' ')[0] as string]?.perCore ?? Number.NaN;
    return [
      r.query,
      fmt(r.rate),
      r.cpu.toFixed(1),
      fmt(r.perCpuSecond),
      Number.isNaN(flink) ? '-' : fmt(flink),
      Number.isNaN(flink) ? '-' : `1/${fmt(flink / r.perCpuSecond)}`,
      String(r.rows),
      r.exact ? 'yes' : 'NO',
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => (row[i] as string).length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === 0 ? cell.padEnd(widths[i] as number) : cell.padStart(widths[i] as number)))
      .join('  ');
  console.log(`\n${line(header)}`);
  for (const row of table) console.log(line(row));
  console.log(`\nkinesalite ceiling (put + get of ${events} records, no Eddy): ${fmt(ceiling)} records/s`);

  writeFileSync(
    'bench/nexmark-results.json',
    `${JSON.stringify({ events, rate, seed, cores: cpus().length, emulatorCeiling: Math.round(ceiling), results }, null, 2)}\n`,
  );
  return results;
}

/** Whether this file is the process' entry point (not imported by bench/run-all.ts). */
function isEntryPoint(): boolean {
  const entry = process.argv[1];
  try {
    return entry !== undefined && realpathSync(fileURLToPath(import.meta.url)) === realpathSync(entry);
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  const { values } = parseArgs({
    options: {
      events: { type: 'string', default: '50000' },
      queries: { type: 'string', default: NEXMARK_QUERIES.map((q) => q.name).join(',') },
      rate: { type: 'string', default: String(DEFAULT_GENERATOR_OPTIONS.firstEventRate) },
      seed: { type: 'string', default: '1' },
    },
  });
  const results = await run({
    events: Number(values.events),
    queries: (values.queries ?? '').split(',').map((q) => q.trim()),
    rate: Number(values.rate),
    seed: Number(values.seed),
  });
  if (results.some((r) => r.unit === 'bool' && r.value !== 1)) process.exitCode = 1;
}
