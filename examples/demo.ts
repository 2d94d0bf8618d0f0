/**
 * The main job: runs the page-views pipeline on the embedded local stack over a generated sample of
 * clicks (out-of-order timestamps, hot pages, a few broken lines) and prints what came out.
 *
 *   npm run demo -- [--events 50000]
 */
// First, for its effect: no AWS SDK Node-version warning in the demo's output.
import '../local/sdk-node-warning.js';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { formatSummary } from '../cli/summary.js';
import { runPipelineOnFiles } from '../local/runner/run-files.js';
import { writeClickSample } from './data/click-generator.js';
import pageViews from './page-views.js';

const { values } = parseArgs({
  options: { events: { type: 'string', default: '50000' }, out: { type: 'string', default: '.eddy/demo' } },
});
const events = Number(values.events);
const dir = values.out ?? '.eddy/demo';
mkdirSync(dir, { recursive: true });
const input = join(dir, 'clicks.jsonl');
const output = join(dir, 'page-views-by-page.jsonl');
const deadLetters = join(dir, 'dead-letters.jsonl');

console.log(`generating ${events} click events into ${input} ...`);
await writeClickSample(input, { events, seed: 7, badLineRate: 0.001 });
console.log('running pipeline page-views on the embedded Kinesis + Lambda emulation ...');
const summary = await runPipelineOnFiles({
  pipeline: pageViews,
  inputs: [{ stream: 'clicks', file: input }],
  outputs: [
    { stream: 'page-views-by-page', file: output },
    { stream: 'page-views-dead-letters', file: deadLetters },
  ],
  // A live line on a terminal; nothing when the output is a log.
  ...(process.stderr.isTTY && {
    onProgress: (p) =>
      process.stderr.write(`\r  fed ${p.fed}, processed ${p.sourceRecordsProcessed} source records   `),
  }),
});
if (process.stderr.isTTY) process.stderr.write('\n');
console.log(formatSummary(summary, 5));

const views = readFileSync(output, 'utf8')
  .trim()
  .split('\n')
  .map((line) => JSON.parse(line) as { page: string });
const perPage = new Map<string, number>();
for (const view of views) perPage.set(view.page, (perPage.get(view.page) ?? 0) + 1);
console.log('\ntop pages by views in the sink:');
for (const [page, count] of [...perPage].sort((a, b) => b[1] - a[1]).slice(0, 5))
  console.log(`  ${page.padEnd(10)} ${count}`);
console.log(`\nfirst records of page-views-by-page (${output}):`);
for (const view of views.slice(0, 3)) console.log(`  ${JSON.stringify(view)}`);
