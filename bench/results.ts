/**
 * The one result shape of Eddy's benchmarks. A bench module (bench/<name>.ts) exports
 *
 *   export async function run(options?: BenchOptions): Promise<BenchRow[]>
 *
 * and runs standalone only when it is the entry point (`if (isMain(import.meta.url)) ...`), so that
 * bench/run-all.ts can import it without running it twice. run-all prints every module's rows as one
 * table and writes them to bench/results.json.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { lambdaHeapFlags } from '../shared/util/lambda-memory.js';

export interface BenchRow {
  /** What was measured, in words: `stateless chain (filter+map+keyBy): events/s`. */
  readonly name: string;
  readonly value: number;
  /** `events/s`, `ratio`, `requests`, `bytes/event`, `bool`, ... */
  readonly unit: string;
  /** What the value is compared with, in words. */
  readonly baseline?: string;
  /** The baseline's own value, measured in the same run. */
  readonly baselineValue?: number;
  /** value / baselineValue, or a ratio measured side by side (medians of per-repetition ratios). */
  readonly ratio?: number;
  /** The goal, in words: `>= 400000 events/s`. */
  readonly target?: string;
  /** Whether the target is met. */
  readonly met?: boolean;
}

/** What run-all passes to every module's `run`; a module may ignore it. */
export interface BenchOptions {
  /** `full`: the bigger runs (more events, more repetitions). @default 'default' */
  readonly scale?: 'default' | 'full';
}

/** Whether the module at `moduleUrl` (its `import.meta.url`) is the process' entry point. */
export function isMain(moduleUrl: string): boolean {
  const entry = process.argv[1];
  if (entry === undefined) return false;
  try {
    return realpathSync(fileURLToPath(moduleUrl)) === realpathSync(entry);
  } catch {
    return false;
  }
}

/** A number as a table shows it: thousands separated, at most 3 decimals. */
export function formatValue(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const digits = Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 1 ? 2 : 3;
  return value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

/** Rows as an aligned text table; `bench` names each row's module when given. */
export function formatTable(rows: readonly (BenchRow & { readonly bench?: string })[]): string {
  const header = ['bench', 'measure', 'value', 'unit', 'ratio', 'baseline', 'target', 'met'];
  const lines = rows.map((r) => [
    r.bench ?? '',
    r.name,
    formatValue(r.value),
    r.unit,
    r.ratio === undefined ? '' : formatValue(r.ratio),
    r.baseline === undefined
      ? ''
      : r.baselineValue === undefined
        ? r.baseline
        : `${r.baseline} (${formatValue(r.baselineValue)})`,
    r.target ?? '',
    r.met === undefined ? '' : r.met ? 'yes' : 'NO',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? '').length)));
  const right = new Set([2, 4]);
  const format = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (right.has(i) ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [format(header), format(widths.map((w) => '-'.repeat(w))), ...lines.map(format)].join('\n');
}

/** The median of numbers (the mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/** Set in a child that runs a bench module's bundle (see {@link runBundled}). */
export const BUNDLED_ENV = 'EDDY_BENCH_BUNDLED';

/** Whether this process runs a bench's bundle, as built by {@link runBundled}. */
export function isBundled(): boolean {
  return process.env[BUNDLED_ENV] === '1';
}

/**
 * Runs a bench module as Lambda runs a stage: bundled by esbuild the way infra/stage-function.ts
 * bundles a function (ESM, minified, dependencies bundled; no `keepNames`, which tsx turns on and
 * which costs a `defineProperty` per closure created), in a child `node` process with the heap
 * Lambda's bootstrap gives a stage function of the default memory size (shared/util/lambda-memory.ts).
 * The child must,
 * when {@link isMain} and {@link isBundled}, write its rows as JSON to the file named by `--rows`.
 * Extra `args` are passed on; its stderr is shown.
 */
export async function runBundled(moduleUrl: string, args: readonly string[] = []): Promise<BenchRow[]> {
  const { build } = await import('esbuild');
  const entry = fileURLToPath(moduleUrl);
  const name = basename(entry).replace(/\.ts$/, '');
  const dir = join('.eddy', 'bench');
  mkdirSync(dir, { recursive: true });
  const outfile = join(dir, `${name}.bundle.mjs`);
  const rowsFile = join(dir, `${name}.rows.${process.pid}.json`);
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: `node${process.versions.node.split('.')[0]}`,
    minify: process.env.EDDY_BENCH_MINIFY !== '0',
    sourcemap: true,
    mainFields: ['module', 'main'],
    banner: {
      js: "import { createRequire as eddyCreateRequire } from 'node:module'; const require = eddyCreateRequire(import.meta.url);",
    },
    logLevel: 'warning',
  });
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [...lambdaHeapFlags(), ...nodeFlags(), outfile, '--rows', rowsFile, ...args],
      {
        stdio: ['ignore', 'inherit', 'inherit'],
        env: { ...process.env, [BUNDLED_ENV]: '1' },
      },
    );
    child.on('error', reject);
    child.on('exit', resolve);
  });
  if (code !== 0) throw new Error(`${name} (bundled) exited with ${code}`);
  const rows = JSON.parse(readFileSync(rowsFile, 'utf8')) as BenchRow[];
  rmSync(rowsFile, { force: true });
  return rows;
}

/** Node flags for a bundled child: this process' own, without tsx's loader. */
function nodeFlags(): string[] {
  const flags: string[] = [];
  const own = process.execArgv;
  for (let i = 0; i < own.length; i += 1) {
    const flag = own[i] as string;
    const loader = (value: string | undefined) => value !== undefined && /tsx/.test(value);
    if ((flag === '--import' || flag === '--require' || flag === '--loader') && loader(own[i + 1])) {
      i += 1;
      continue;
    }
    if (/^--(import|require|loader)=/.test(flag) && loader(flag)) continue;
    flags.push(flag);
  }
  return flags;
}
