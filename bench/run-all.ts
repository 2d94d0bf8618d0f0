/**
 * Runs Eddy's benchmarks and prints their results as one table; writes them to bench/results.json.
 *
 * A benchmark is any bench/*.ts module that exports `run(options?: BenchOptions): Promise<BenchRow[]>`
 * (bench/results.ts) and runs standalone only as the entry point. Known ones run first, in this order:
 * cli-startup, in-process, state-requests, session-requests, join-requests, eddy-run, windows-100k, join-run, run-memory, then nexmark-in-process, nexmark, cold-start,
 * e2e-latency and cost-model when present, then any other that exports `run`. Each module runs in a
 * child process of its own (a crash, a hang or a leftover handle stays there), one after another;
 * `--timeout` stops a module that has printed nothing for that many seconds (default 600).
 *
 *   npm run bench                                    # the default sizes, about 5 to 10 minutes
 *   npx tsx bench/run-all.ts --full                  # bigger runs (BenchOptions.scale 'full')
 *   npx tsx bench/run-all.ts --only in-process,eddy-run
 *   npx tsx bench/run-all.ts --skip windows-100k --timeout 300
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { type BenchOptions, type BenchRow, formatTable, isMain } from './results.js';

const ORDER = [
  'cli-startup',
  'in-process',
  'state-requests',
  'session-requests',
  'join-requests',
  'eddy-run',
  'windows-100k',
  'join-run',
  'run-memory',
  'nexmark-in-process',
  'nexmark',
  'cold-start',
  'e2e-latency',
  'cost-model',
];
const NOT_BENCHES = new Set(['run-all', 'results', 'process-tree-memory']);
/** `export async function run(`, `export function run(`, `export const run =`, `export { run }`. */
const EXPORTS_RUN =
  /export\s+(async\s+)?function\s+run\s*[(<]|export\s+(const|let)\s+run\s*[:=]|export\s*\{[^}]*\brun\b[^}]*\}/;

const benchDir = fileURLToPath(new URL('.', import.meta.url));

/** The bench modules that export `run`, known ones first. */
export function discover(): { name: string; file: string }[] {
  const found = readdirSync(benchDir)
    .filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts'))
    .map((file) => ({ name: basename(file, '.ts'), file: join(benchDir, file) }))
    .filter(({ name }) => !NOT_BENCHES.has(name))
    .filter(({ file }) => EXPORTS_RUN.test(readFileSync(file, 'utf8')));
  const rank = (name: string) => {
    const i = ORDER.indexOf(name);
    return i === -1 ? ORDER.length : i;
  };
  return found.sort((a, b) => rank(a.name) - rank(b.name) || a.name.localeCompare(b.name));
}

interface ModuleOutcome {
  readonly bench: string;
  readonly seconds: number;
  readonly status: 'ok' | 'failed' | 'timeout';
  readonly error?: string;
}

/** Runs one module's `run` in a child process (this file with --child), its rows through a file. */
async function runModule(
  name: string,
  file: string,
  options: BenchOptions,
  timeoutMs: number,
): Promise<{ rows: BenchRow[]; outcome: ModuleOutcome }> {
  const dir = join('.eddy', 'bench');
  mkdirSync(dir, { recursive: true });
  const rowsFile = resolve(dir, `run-all.${name}.${process.pid}.json`);
  rmSync(rowsFile, { force: true });
  const started = performance.now();
  const args = [
    ...process.execArgv,
    fileURLToPath(import.meta.url),
    '--child',
    file,
    '--rows',
    rowsFile,
    ...(options.scale === 'full' ? ['--full'] : []),
  ];
  const result = await new Promise<{ code: number | null; timedOut: boolean }>((done) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let timedOut = false;
    // A deadline on progress, not on the whole run: a bench that still prints goes on (on a loaded
    // machine cold-start and cost-model take several times their quiet length); one silent for
    // `timeoutMs` is stopped.
    let timer: NodeJS.Timeout | undefined;
    const progressed = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
      }, timeoutMs);
    };
    progressed();
    child.stdout?.on('data', (chunk: Buffer) => {
      process.stdout.write(chunk);
      progressed();
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      process.stderr.write(chunk);
      progressed();
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      done({ code, timedOut });
    });
  });
  const seconds = Number(((performance.now() - started) / 1000).toFixed(1));
  if (result.timedOut) {
    const error = `nothing printed for ${timeoutMs / 1000} s`;
    return { rows: [], outcome: { bench: name, seconds, status: 'timeout', error } };
  }
  let rows: BenchRow[] = [];
  try {
    rows = JSON.parse(readFileSync(rowsFile, 'utf8')) as BenchRow[];
  } catch {
    // No rows: the child failed before writing them.
  }
  rmSync(rowsFile, { force: true });
  if (result.code !== 0 || rows.length === 0) {
    return { rows, outcome: { bench: name, seconds, status: 'failed', error: `exit code ${result.code}` } };
  }
  return { rows, outcome: { bench: name, seconds, status: 'ok' } };
}

/** In the child: imports the module, runs it, writes its rows; then exits, whatever it left open. */
async function child(file: string, rowsFile: string, options: BenchOptions): Promise<never> {
  const module = (await import(pathToFileURL(file).href)) as { run?: (o?: BenchOptions) => Promise<BenchRow[]> };
  if (typeof module.run !== 'function') throw new Error(`${file} exports no run()`);
  const rows = await module.run(options);
  writeFileSync(rowsFile, JSON.stringify(rows));
  process.exit(0);
}

if (isMain(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      full: { type: 'boolean', default: false },
      only: { type: 'string' },
      skip: { type: 'string' },
      /** Seconds a module may go without printing anything before it is stopped. */
      timeout: { type: 'string', default: '600' },
      out: { type: 'string', default: 'bench/results.json' },
      child: { type: 'string' },
      rows: { type: 'string' },
    },
  });
  const options: BenchOptions = { scale: values.full ? 'full' : 'default' };
  if (values.child !== undefined) {
    await child(values.child, values.rows ?? '', options);
  }
  const only = values.only?.split(',').map((n) => n.trim());
  const skip = new Set(values.skip?.split(',').map((n) => n.trim()) ?? []);
  const modules = discover().filter(({ name }) => (only === undefined || only.includes(name)) && !skip.has(name));
  const unknown = only?.filter((name) => !modules.some((m) => m.name === name)) ?? [];
  if (unknown.length > 0) console.error(`no bench module exporting run(): ${unknown.join(', ')}`);
  const startedAt = new Date();
  const all: (BenchRow & { bench: string })[] = [];
  const outcomes: ModuleOutcome[] = [];
  for (const { name, file } of modules) {
    console.error(`\n== ${name} (${basename(file)})`);
    const { rows, outcome } = await runModule(name, file, options, Number(values.timeout) * 1000);
    outcomes.push(outcome);
    for (const row of rows) all.push({ bench: name, ...row });
    console.error(`== ${name}: ${outcome.status} in ${outcome.seconds} s${outcome.error ? ` (${outcome.error})` : ''}`);
  }
  console.log(`\n${formatTable(all)}\n`);
  for (const o of outcomes) {
    console.log(
      `${o.bench.padEnd(16)} ${o.status.padEnd(8)} ${String(o.seconds).padStart(7)} s${o.error ? `  ${o.error}` : ''}`,
    );
  }
  const missed = all.filter((r) => r.met === false);
  if (missed.length > 0) console.log(`\ntargets not met: ${missed.map((r) => `${r.bench}: ${r.name}`).join('; ')}`);
  writeFileSync(
    values.out,
    `${JSON.stringify(
      {
        startedAt: startedAt.toISOString(),
        seconds: Number(((Date.now() - startedAt.getTime()) / 1000).toFixed(1)),
        command: `tsx bench/run-all.ts ${process.argv.slice(2).join(' ')}`.trim(),
        scale: options.scale,
        node: process.version,
        cpus: `${cpus().length} x ${cpus()[0]?.model ?? 'unknown'}`,
        modules: outcomes,
        rows: all,
      },
      null,
      2,
    )}\n`,
  );
  console.log(`\nwritten to ${values.out}`);
  // A crashed or stopped module, or a wrong result (a correctness row not met), fails the run.
  const wrong = all.some((r) => r.unit === 'bool' && r.met === false);
  if (outcomes.some((o) => o.status !== 'ok') || wrong) process.exitCode = 1;
}
