/**
 * `eddy run` over 100,000 click events with tumbling, hopping and session windows, each result set
 * checked against the batch computation (test/reference/windows.ts), and the end-to-end rate of
 * each beside the stateless page-views pipeline over the same file in the same run.
 *
 *   npx tsx bench/windows-100k.ts [--events 100000] [--only session]
 *
 * `--only` runs the cases whose name starts with one of its comma-separated words (tumbling, hopping,
 * session), each still beside the baseline.
 *
 * bench/run-all.ts calls `run()`, which returns the rows.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { writeClickSample } from '../examples/data/click-generator.js';
import pageViews from '../examples/page-views.js';
import { runPipelineOnFiles } from '../local/runner/run-files.js';
import { pipeline } from '../shared/index.js';
import { count, hopping, session, sum, tumbling } from '../shared/windows/index.js';
import type { WindowAssigner } from '../shared/windows/types.js';
import { type Click, reference, views } from '../test/reference/windows.js';
import { type BenchOptions, type BenchRow, isMain } from './results.js';

/** Issue 18: session windows end to end at half the stateless example's rate, in the same run. */
const SESSION_TARGET = 0.5;

export async function run(
  options: BenchOptions & { readonly events?: number; readonly only?: readonly string[] } = {},
): Promise<BenchRow[]> {
  const events = options.events ?? (options.scale === 'full' ? 100_000 : 30_000);
  const rows: BenchRow[] = [];
  const dir = '.eddy/bench';
  mkdirSync(dir, { recursive: true });
  const input = join(dir, 'window-clicks.jsonl');
  await writeClickSample(input, { events, seed: 8, users: 1000, pages: 50, badLineRate: 0.001 });
  const valid = views(input);
  const ClickSchema = z.object({ user: z.string(), page: z.string(), kind: z.string(), ts: z.number() });

  const baseline = await runPipelineOnFiles({
    pipeline: pageViews,
    inputs: [{ stream: 'clicks', file: input }],
    outputs: [],
  });
  const baselineRate = (baseline.inputRecords / baseline.elapsedMs) * 1000;
  rows.push({
    name: `eddy run, ${events} clicks: stateless page-views (baseline)`,
    value: Math.round(baselineRate),
    unit: 'events/s',
  });

  const cases: [string, WindowAssigner, (c: Click) => string, boolean][] = [
    ['tumbling 1m count by page', tumbling('1m'), (c) => c.page, false],
    ['hopping 2m/30s sum by page', hopping('2m', '30s'), (c) => c.page, true],
    ['session 20s count by user', session('20s'), (c) => c.user, false],
  ];
  let allExact = true;
  const only = options.only;
  for (const [name, assigner, keyOf, summing] of cases) {
    if (only !== undefined && !only.some((word) => name.startsWith(word))) continue;
    const value = summing ? (c: Click) => c.ts % 7 : () => 1;
    const p = pipeline('bench-windows');
    p.source('clicks', { schema: ClickSchema, eventTime: (c) => c.ts, maxOutOfOrderness: '5s', shards: 2 })
      .filter((c) => c.kind === 'view')
      .keyBy(keyOf, { shards: 2 })
      .window(assigner)
      .aggregate(summing ? sum(value) : count())
      .sink('results');
    const output = join(dir, `${name.replace(/[ /]/g, '-')}.jsonl`);
    const summary = await runPipelineOnFiles({
      pipeline: p,
      inputs: [{ stream: 'clicks', file: input }],
      outputs: [{ stream: 'results', file: output }],
    });
    const got = new Map<string, number>();
    for (const line of readFileSync(output, 'utf8').split('\n').filter(Boolean)) {
      const r = JSON.parse(line) as { key: string; windowStart: number; windowEnd: number; value: number };
      got.set(`${r.key}|${r.windowStart}|${r.windowEnd}`, r.value);
    }
    const want = reference(valid, keyOf, assigner, value);
    const differing =
      [...want].filter(([k, v]) => got.get(k) !== v).length + [...got.keys()].filter((k) => !want.has(k)).length;
    allExact &&= differing === 0;
    const rate = (summary.inputRecords / summary.elapsedMs) * 1000;
    rows.push(
      {
        name: `eddy run, ${events} clicks: ${name}`,
        value: Math.round(rate),
        unit: 'events/s',
        baseline: 'stateless page-views',
        baselineValue: Math.round(baselineRate),
        ratio: Number((rate / baselineRate).toFixed(2)),
        ...(assigner.kind === 'session' && {
          target: `>= ${SESSION_TARGET} of stateless page-views`,
          met: rate / baselineRate >= SESSION_TARGET,
        }),
      },
      {
        name: `eddy run, ${events} clicks: ${name}: windows differing from the batch computation`,
        value: differing,
        unit: 'windows',
        baseline: `of ${want.size}`,
        target: '0',
        met: differing === 0,
      },
    );
  }
  if (!allExact) console.error('windows-100k: some windows differ from the batch computation');
  return rows;
}

if (isMain(import.meta.url)) {
  const { values } = parseArgs({
    options: { events: { type: 'string', default: '100000' }, only: { type: 'string' } },
  });
  const rows = await run({ events: Number(values.events), only: values.only?.split(',') });
  for (const r of rows) {
    const ratio = r.ratio === undefined ? '' : ` (${r.ratio} of baseline)`;
    console.log(
      `${r.name.padEnd(72)} ${r.value} ${r.unit}${ratio}${r.baseline?.startsWith('of ') ? ` ${r.baseline}` : ''}`,
    );
  }
  if (rows.some((r) => r.met === false)) process.exitCode = 1;
}
