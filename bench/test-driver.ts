/**
 * How long a small test takes with the test driver (testing/): a new driver over page-view-counts
 * (one stateless and one windowed stage), three clicks piped, the watermark moved past the window,
 * the counts read. The first run in the process pays the stage runners' first use (module code
 * warming up); every run builds a new driver, as each test of a file does. Module import (zod, the
 * runtime) happens once per test file and is timed apart.
 *
 *   npx tsx bench/test-driver.ts [--runs 200]
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '200' } } });
const runs = Number(values.runs);

const importStart = performance.now();
const { default: pageViewCounts } = await import('../examples/page-view-counts.js');
const { PipelineTestDriver } = await import('../testing/index.js');
const importMs = performance.now() - importStart;

async function smallTest(): Promise<void> {
  const driver = new PipelineTestDriver(pageViewCounts);
  const clicks = driver.input<{ user: string; page: string; kind: string; ts: number }>('clicks');
  await clicks.pipeAll([
    { user: 'u1', page: '/a', kind: 'view', ts: 1_000 },
    { user: 'u2', page: '/a', kind: 'view', ts: 2_000 },
    { user: 'u1', page: '/b', kind: 'click', ts: 3_000 },
  ]);
  await driver.advanceWatermark('clicks', 90_000);
  const counts = driver.output<{ key: string; value: number }>('page-view-counts').readValuesToList();
  if (counts.length !== 1 || counts[0]?.value !== 2) throw new Error(`unexpected counts ${JSON.stringify(counts)}`);
}

const times: number[] = [];
for (let i = 0; i < runs; i += 1) {
  const start = performance.now();
  await smallTest();
  times.push(performance.now() - start);
}
const first = times[0] ?? 0;
const sorted = times.slice(1).sort((a, b) => a - b);
const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
console.log(`imports (once per test file): ${importMs.toFixed(1)} ms`);
console.log(`first small test: ${first.toFixed(2)} ms`);
console.log(
  `next ${sorted.length}: median ${at(0.5).toFixed(2)} ms, p95 ${at(0.95).toFixed(2)} ms, max ${(sorted.at(-1) ?? 0).toFixed(2)} ms`,
);
