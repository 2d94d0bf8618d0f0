/**
 * `eddy --help` beside `node -e 0`: the CLI as installed (the compiled dist/cli/eddy.js that bin/eddy.js
 * runs), built first with `npm run build`. The two commands run alternately, so that the machine's
 * load falls on both alike; the ratio is the median of the per-pair ratios. Target: within 3x.
 *
 *   npx tsx bench/cli-startup.ts [--runs 21]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type BenchOptions, type BenchRow, formatTable, isMain, median } from './results.js';

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
const TARGET_RATIO = 3;

/** Wall time of one run of `node <args>`, in ms; throws when it fails. */
function timeNode(args: readonly string[]): number {
  const started = performance.now();
  const result = spawnSync(process.execPath, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const ms = performance.now() - started;
  if (result.status !== 0) throw new Error(`node ${args.join(' ')} exited ${result.status}: ${result.stderr}`);
  return ms;
}

export async function run(options: BenchOptions & { runs?: number } = {}): Promise<BenchRow[]> {
  const runs = options.runs ?? (options.scale === 'full' ? 51 : 21);
  execFileSync(process.platform === 'win32' ? 'npm.cmd' : 'npm', ['run', '--silent', 'build'], {
    cwd: REPO_ROOT,
    stdio: 'inherit',
  });
  const help = ['dist/cli/eddy.js', '--help'];
  // One of each first, not counted: the file system cache, not start-up.
  timeNode(['-e', '0']);
  timeNode(help);
  const nodeMs: number[] = [];
  const helpMs: number[] = [];
  for (let i = 0; i < runs; i++) {
    const bare = timeNode(['-e', '0']);
    const eddy = timeNode(help);
    nodeMs.push(bare);
    helpMs.push(eddy);
  }
  const ratio = median(helpMs.map((ms, i) => ms / (nodeMs[i] ?? ms)));
  const nodeMedian = median(nodeMs);
  return [
    {
      name: `eddy --help (compiled CLI), median of ${runs}: ms`,
      value: median(helpMs),
      unit: 'ms',
      baseline: 'node -e 0, run alternately',
      baselineValue: nodeMedian,
      ratio,
      target: `<= ${TARGET_RATIO}x node -e 0`,
      met: ratio <= TARGET_RATIO,
    },
  ];
}

if (isMain(import.meta.url)) {
  const { values } = parseArgs({ options: { runs: { type: 'string' } } });
  const rows = await run(values.runs === undefined ? {} : { runs: Number(values.runs) });
  console.log(`\n${formatTable(rows)}`);
}
