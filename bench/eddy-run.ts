/**
 * End-to-end throughput of `eddy run` on the embedded stack, beside the emulator's own ceiling
 * measured in the same run: the same number of records put into a fresh kinesalite (in a child
 * process, as eddy run uses it) and read back, with no Eddy in between. Checks the output against
 * the reference computation, so a fast wrong run does not count.
 *
 *   npx tsx bench/eddy-run.ts [--events 100000]
 *
 * bench/run-all.ts calls `run()`, which returns the rows; standalone, they are printed and written to
 * .eddy/bench/eddy-run.json (bench/results.json is run-all's).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { writeClickSample } from '../examples/data/click-generator.js';
import pageViews from '../examples/page-views.js';
import { runPipelineOnFiles } from '../local/runner/run-files.js';
import { expectedPageViews } from '../test/reference/page-views.js';
import { emulatorCeilingMs } from './emulator-ceiling.js';
import { type BenchOptions, type BenchRow, isMain } from './results.js';

/** Kinesis work eddy run does for this input: every record put once and read once per hop. */

export async function run(options: BenchOptions & { readonly events?: number } = {}): Promise<BenchRow[]> {
  const events = options.events ?? (options.scale === 'full' ? 300_000 : 100_000);
  const dir = '.eddy/bench';
  mkdirSync(dir, { recursive: true });
  const input = join(dir, 'clicks.jsonl');
  const output = join(dir, 'views.jsonl');
  await writeClickSample(input, { events, seed: 5, badLineRate: 0.001 });
  const lines = readFileSync(input, 'utf8').split('\n');
  const summary = await runPipelineOnFiles({
    pipeline: pageViews,
    inputs: [{ stream: 'clicks', file: input }],
    outputs: [{ stream: 'page-views-by-page', file: output }],
  });
  const expected = expectedPageViews(lines)
    .views.map((v) => JSON.stringify(v))
    .sort();
  const actual = readFileSync(output, 'utf8').trim().split('\n').sort();
  const exact = expected.length === actual.length && expected.every((line, i) => line === actual[i]);

  // Records that crossed Kinesis in the run: the input, the shuffle hop and the sink.
  const hops =
    summary.stages.reduce((sum, s) => sum + s.stats.recordsIn, 0) + (summary.sinkRecords['page-views-by-page'] ?? 0);
  const ceilingMs = await emulatorCeilingMs(lines.slice(0, events));
  const eddyRate = (summary.inputRecords / summary.elapsedMs) * 1000;
  const ceilingRate = (events / ceilingMs) * 1000;
  const results: BenchRow[] = [
    {
      name: 'eddy run page-views: input events/s end to end',
      value: Math.round(eddyRate),
      unit: 'events/s',
      baseline: 'kinesalite put+get of the same records, no Eddy',
      baselineValue: Math.round(ceilingRate),
      ratio: Number((eddyRate / ceilingRate).toFixed(3)),
    },
    {
      name: 'kinesalite put+get of the same records, no Eddy',
      value: Math.round(ceilingRate),
      unit: 'records/s',
    },
    { name: 'eddy run / emulator ceiling', value: Number((eddyRate / ceilingRate).toFixed(3)), unit: 'ratio' },
    {
      name: 'records through Kinesis per input event (input, shuffle, sink)',
      value: Number((hops / summary.inputRecords).toFixed(3)),
      unit: 'records/event',
    },
    {
      name: 'eddy run page-views: output equals the reference computation',
      value: exact ? 1 : 0,
      unit: 'bool',
      target: 'equal',
      met: exact,
    },
  ];
  if (!exact) {
    console.error(`output differs from the reference: ${actual.length} records, expected ${expected.length}`);
  }
  return results;
}

if (isMain(import.meta.url)) {
  const { values } = parseArgs({ options: { events: { type: 'string', default: '100000' } } });
  const events = Number(values.events);
  const results = await run({ events });
  for (const r of results) console.log(`${r.name.padEnd(60)} ${String(r.value).padStart(10)} ${r.unit}`);
  writeFileSync('.eddy/bench/eddy-run.json', `${JSON.stringify({ events, results }, null, 2)}\n`);
  if (results.some((r) => r.met === false)) process.exitCode = 1;
}
