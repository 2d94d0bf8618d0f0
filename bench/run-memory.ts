/**
 * Peak memory of `eddy run` as the input grows: the CLI run as a user runs it (`bin/eddy.js run`,
 * page-view-counts, its outputs and dead letters written to files), its whole process tree sampled
 * from /proc (the runner, the emulators' child process, worker sandboxes), beside the input's size.
 * The windows it writes are checked against the batch computation, so a run that saves memory by
 * losing results does not count.
 *
 *   npx tsx bench/run-memory.ts                          # 100,000 events
 *   npx tsx bench/run-memory.ts --events 100000,1000000  # and 1,000,000 (many minutes)
 *   npx tsx bench/run-memory.ts --sandbox worker
 *   npx tsx bench/run-memory.ts --store memory,temporary-disk   # the emulators' two stores side by side
 *   npx tsx bench/run-memory.ts --out bench/results.json          # rows as run-all writes them
 *
 * `--store` sets EDDY_EMULATOR_STORE for the run (default: eddy's own default, temporary-disk).
 *
 * bench/run-all.ts calls `run()`: 100,000 events, and 1,000,000 too with --full.
 */
import { spawn } from 'node:child_process';
import { createReadStream, existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { writeClickSample } from '../examples/data/click-generator.js';
import type { EmulatorStore } from '../local/emulators/index.js';
import { tumbling } from '../shared/windows/index.js';
import { reference, views } from '../test/reference/windows.js';
import { type PeakMemory, PeakMemorySampler } from './process-tree-memory.js';
import { type BenchOptions, type BenchRow, isMain } from './results.js';

const MB = 1024 * 1024;

type Store = EmulatorStore | 'default';

interface MemoryRun {
  readonly events: number;
  readonly store: Store;
  readonly inputBytes: number;
  readonly peak: PeakMemory;
  readonly seconds: number;
  readonly exitCode: number | null;
  /** Windows written that differ from, or are missing in, the batch computation. */
  readonly wrongWindows: number;
}

/** Runs the CLI over `events` clicks, sampling its process tree until it exits. */
async function measure(events: number, sandbox: 'in-process' | 'worker', store: Store): Promise<MemoryRun> {
  // One folder per run: runs of other sizes or stores may go on at the same time.
  const dir = join('.eddy', 'bench', 'run-memory', `${events}-${store}-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  const input = join(dir, `clicks-${events}.jsonl`);
  const counts = join(dir, `counts-${events}.jsonl`);
  const dead = join(dir, `dead-${events}.jsonl`);
  await writeClickSample(input, { events, seed: 19, badLineRate: 0.001 });
  const started = performance.now();
  const { AWS_ENDPOINT_URL: _, EDDY_EMULATOR_STORE: __, ...env } = process.env;
  const child = spawn(
    process.execPath,
    [
      'bin/eddy.js',
      'run',
      'examples/page-view-counts.ts',
      '--input',
      `clicks=${input}`,
      '--output',
      `page-view-counts=${counts}`,
      '--output',
      `page-view-counts-dead-letters=${dead}`,
      '--sandbox',
      sandbox,
      '--no-progress',
    ],
    {
      env: {
        ...env,
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        ...(store !== 'default' && { EDDY_EMULATOR_STORE: store }),
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const sampler = new PeakMemorySampler(child.pid ?? -1).start();
  child.stdout.resume();
  const exitCode = await new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
  const peak = sampler.stop();
  const seconds = (performance.now() - started) / 1000;
  const want = reference(
    views(input),
    (c) => c.page,
    tumbling('1m'),
    () => 1,
  );
  let wrongWindows = 0;
  const seen = new Set<string>();
  // A run that failed before writing its output has every window missing.
  const lines = existsSync(counts) ? createInterface({ input: createReadStream(counts) }) : [];
  for await (const line of lines) {
    if (line === '') continue;
    const r = JSON.parse(line) as { key: string; windowStart: number; windowEnd: number; value: number };
    const name = `${r.key}|${r.windowStart}|${r.windowEnd}`;
    seen.add(name);
    if (want.get(name) !== r.value) wrongWindows += 1;
  }
  wrongWindows += [...want.keys()].filter((name) => !seen.has(name)).length;
  const inputBytes = statSync(input).size;
  rmSync(dir, { recursive: true, force: true });
  return { events, store, inputBytes, peak, seconds, exitCode, wrongWindows };
}

function rows(result: MemoryRun, sandbox: string): BenchRow[] {
  const store = result.store === 'default' ? '' : `, emulators ${result.store}`;
  const at = `eddy run page-view-counts, ${result.events.toLocaleString('en-US')} events (${sandbox}${store})`;
  const mb = (bytes: number) => Number((bytes / MB).toFixed(1));
  return [
    { name: `${at}: input file`, value: mb(result.inputBytes), unit: 'MB' },
    { name: `${at}: peak RSS, all processes`, value: mb(result.peak.totalBytes), unit: 'MB' },
    { name: `${at}: peak RSS, runner process`, value: mb(result.peak.byRole.runner), unit: 'MB' },
    { name: `${at}: peak RSS, emulators process`, value: mb(result.peak.byRole.emulators), unit: 'MB' },
    { name: `${at}: peak RSS, worker sandboxes`, value: mb(result.peak.byRole.worker), unit: 'MB' },
    { name: `${at}: most processes at once`, value: result.peak.processes, unit: 'processes' },
    { name: `${at}: wall time`, value: Number(result.seconds.toFixed(1)), unit: 's' },
    {
      name: `${at}: exit 0 and every window equals the batch computation`,
      value: result.exitCode === 0 && result.wrongWindows === 0 ? 1 : 0,
      unit: 'bool',
      target: 'equal',
      met: result.exitCode === 0 && result.wrongWindows === 0,
    },
  ];
}

/** Per size, the temporary-disk store's figures over the memory store's, when both were run. */
function storeRatios(results: readonly MemoryRun[]): BenchRow[] {
  return results.flatMap((disk) => {
    const memory = results.find((r) => r.events === disk.events && r.store === 'memory');
    if (disk.store !== 'temporary-disk' || memory === undefined) return [];
    const at = `${disk.events.toLocaleString('en-US')} events, emulators temporary-disk / memory`;
    return [
      { name: `${at}: wall time`, value: Number((disk.seconds / memory.seconds).toFixed(2)), unit: 'ratio' },
      {
        name: `${at}: peak RSS, all processes`,
        value: Number((disk.peak.totalBytes / memory.peak.totalBytes).toFixed(2)),
        unit: 'ratio',
      },
    ];
  });
}

export async function run(
  options: BenchOptions & {
    readonly events?: readonly number[];
    readonly sandbox?: 'in-process' | 'worker';
    readonly stores?: readonly Store[];
  } = {},
): Promise<BenchRow[]> {
  const sizes = options.events ?? (options.scale === 'full' ? [100_000, 1_000_000] : [100_000]);
  const sandbox = options.sandbox ?? 'in-process';
  const results: MemoryRun[] = [];
  for (const events of sizes) {
    // Stores alternate within a size, so that both see about the same load on a shared machine.
    for (const store of options.stores ?? ['default']) {
      const result = await measure(events, sandbox, store);
      if (result.exitCode !== 0 || result.wrongWindows > 0) {
        console.error(`${events} events: exit code ${result.exitCode}, ${result.wrongWindows} windows wrong`);
      }
      results.push(result);
    }
  }
  const all = [...results.flatMap((result) => rows(result, sandbox)), ...storeRatios(results)];
  const [smallest, largest] = [results[0], results.at(-1)];
  if (smallest !== undefined && largest !== undefined && largest.events !== smallest.events) {
    all.push({
      name: `peak RSS, all processes: ${largest.events.toLocaleString('en-US')} events / ${smallest.events.toLocaleString('en-US')}`,
      value: Number((largest.peak.totalBytes / smallest.peak.totalBytes).toFixed(2)),
      unit: 'ratio',
      baseline: `input ${largest.events / smallest.events}x as large`,
    });
  }
  return all;
}

if (isMain(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      events: { type: 'string', default: '100000' },
      sandbox: { type: 'string', default: 'in-process' },
      store: { type: 'string', default: 'default' },
      out: { type: 'string', default: '.eddy/bench/run-memory.json' },
    },
  });
  const startedAt = new Date();
  const events = (values.events ?? '100000').split(',').map(Number);
  const sandbox = values.sandbox === 'worker' ? 'worker' : 'in-process';
  const stores = (values.store ?? 'default').split(',').map((store) => {
    if (store === 'memory' || store === 'temporary-disk' || store === 'default') return store;
    throw new Error(`--store: expected memory, temporary-disk or default, got '${store}'`);
  });
  const results = await run({ events, sandbox, stores });
  for (const r of results) console.log(`${r.name.padEnd(100)} ${String(r.value).padStart(10)} ${r.unit}`);
  const out = values.out ?? '.eddy/bench/run-memory.json';
  mkdirSync(dirname(out), { recursive: true });
  // The shape run-all writes, so that bench/results.json reads the same whichever wrote it.
  const command = `tsx bench/run-memory.ts ${process.argv.slice(2).join(' ')}`.trim();
  const seconds = Number(((Date.now() - startedAt.getTime()) / 1000).toFixed(1));
  const rowsOut = results.map((row) => ({ bench: 'run-memory', ...row }));
  writeFileSync(
    out,
    `${JSON.stringify({ startedAt: startedAt.toISOString(), seconds, command, rows: rowsOut }, null, 2)}\n`,
  );
  if (results.some((r) => r.met === false)) process.exitCode = 1;
}
