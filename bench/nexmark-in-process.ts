/**
 * Nexmark in process: each query of examples/nexmark run stage after stage by
 * bench/in-process-pipeline.ts (the StageRunners the Lambda handler wraps, on in-memory Kinesis and
 * DynamoDB), bundled as Lambda runs it, over the same generated events; its output checked against
 * the reference computation (test/nexmark/reference.ts), so that a fast wrong run does not count.
 * Events per CPU-second of all of a query's stages together, beside two baselines:
 *
 * - Flink 2.0's published per-core throughput (nexmark/nexmark GUIDE_V2, as in bench/nexmark.ts);
 * - the decode floor, in the same run: base64-decoding and JSON.parse of the same event records,
 *   once (a query's first stage does that much, and every shuffle after it decodes again);
 * - for the queries that write every event they keep (q0, q1), the decode + JSON.stringify floor:
 *   the same, with each parsed event written back as JSON, which such a query cannot avoid.
 *
 * The median of `--reps` runs per query, after one warm-up run.
 *
 *   npx tsx bench/nexmark-in-process.ts [--events 50000] [--queries q0,q5] [--reps 3] [--seed 1]
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { EVENTS_STREAM } from '../examples/nexmark/config.js';
import { generateEvents } from '../examples/nexmark/generator.js';
import { NEXMARK_QUERIES } from '../examples/nexmark/queries.js';
import { checkQuery, type Event, isExact } from '../test/nexmark/reference.js';
import { runPipelineInProcess } from './in-process-pipeline.js';
import { flinkBaseline } from './nexmark-flink.js';
import { type BenchOptions, type BenchRow, formatTable, isBundled, isMain, median, runBundled } from './results.js';

export interface NexmarkInProcessOptions extends BenchOptions {
  /** @default 50,000; 200,000 with scale 'full' */
  readonly events?: number;
  readonly queries?: readonly string[];
  /** Timed runs per query after the warm-up. @default 3 */
  readonly reps?: number;
  readonly seed?: number;
}

setFlagsFromString('--expose-gc');
/**
 * A full collection, so that the garbage of the run before (and of its check) is not collected in
 * the time of the next.
 */
const collectGarbage = runInNewContext('gc') as () => void;

/** The queries whose output is (nearly) every event, each written again as JSON. */
const WRITES_EVERY_EVENT: ReadonlySet<string> = new Set(['q0', 'q1']);

/**
 * Base64 and JSON.parse of every event record, as a stage's decoding starts, and with `stringify`
 * each event written back with JSON.stringify: events per CPU-second.
 */
function decodeFloor(base64: readonly string[], stringify = false): number {
  let checksum = 0;
  const before = process.cpuUsage();
  for (const record of base64) {
    const event = JSON.parse(Buffer.from(record, 'base64').toString('utf8')) as object;
    checksum += stringify ? JSON.stringify(event).length : Object.keys(event).length;
  }
  const used = process.cpuUsage(before);
  if (checksum === 0) throw new Error('no events');
  return base64.length / ((used.user + used.system) / 1e6);
}

/** Issue 18: the pass-through, projection and selection queries at 0.6 of the decode floor of the same run. */
const STATELESS_QUERIES = new Set(['q0', 'q1', 'q2']);
const STATELESS_TARGET = 0.6;

async function measure(options: NexmarkInProcessOptions): Promise<BenchRow[]> {
  const events = options.events ?? (options.scale === 'full' ? 200_000 : 50_000);
  const reps = options.reps ?? 3;
  const wanted = options.queries ?? NEXMARK_QUERIES.map((q) => q.name);
  const queries = NEXMARK_QUERIES.filter((q) => wanted.includes(q.name));
  const lines = [...generateEvents({ numEvents: events, seed: options.seed ?? 1 })].map((e) => JSON.stringify(e));
  const parsed = lines.map((line) => JSON.parse(line) as Event);
  const base64 = lines.map((line) => Buffer.from(line).toString('base64'));
  const inputs = new Map([[EVENTS_STREAM, lines]]);

  const rows: BenchRow[] = [];
  const floors: number[] = [];
  const writeFloors: number[] = [];
  for (const query of queries) {
    const rates: number[] = [];
    const ratios: number[] = [];
    const writeRatios: number[] = [];
    const writes = WRITES_EVERY_EVENT.has(query.name);
    let exact = true;
    for (let rep = -1; rep < reps; rep += 1) {
      collectGarbage();
      const floor = decodeFloor(base64);
      collectGarbage();
      const writeFloor = writes ? decodeFloor(base64, true) : undefined;
      if (writes) collectGarbage();
      const run = await runPipelineInProcess(query.pipeline, inputs);
      const output = (run.outputs.get(query.sink) ?? []).map((data) => JSON.parse(data) as unknown);
      const late = (query.lateOutputs ?? []).reduce((n, s) => n + (run.outputs.get(s)?.length ?? 0), 0);
      const deadLetters = [...run.outputs]
        .filter(([s]) => s.endsWith('dead-letters'))
        .reduce((n, [, d]) => n + d.length, 0);
      exact &&= isExact(checkQuery(query.name, parsed, output)) && late === 0 && deadLetters === 0;
      const rate = events / (run.cpuMs / 1000);
      process.stderr.write(
        `${query.name} ${rep < 0 ? 'warm-up' : `rep ${rep + 1}`}: ${Math.round(rate)} events/CPU-s (decode floor ${Math.round(floor)}` +
          `${writeFloor === undefined ? '' : `, + stringify ${Math.round(writeFloor)}`}), ` +
          `${output.length} rows, ${run.stages.map((s) => `${s.stageId} ${Math.round(s.cpuMs)} ms`).join(', ')}\n`,
      );
      if (rep < 0) continue;
      rates.push(rate);
      ratios.push(rate / floor);
      floors.push(floor);
      if (writeFloor !== undefined) {
        writeRatios.push(rate / writeFloor);
        writeFloors.push(writeFloor);
      }
    }
    const rate = Math.round(median(rates));
    rows.push(
      {
        name: `nexmark ${query.name} ${query.title}, in process: events per CPU-second`,
        value: exact ? rate : 0,
        unit: 'events/CPU-s',
        ...flinkBaseline(query.name, rate, exact),
      },
      {
        name: `nexmark ${query.name}, in process: / decode floor of its events`,
        value: exact ? Number(median(ratios).toFixed(3)) : 0,
        unit: 'ratio',
        ...(STATELESS_QUERIES.has(query.name) && {
          target: `>= ${STATELESS_TARGET} of the decode floor`,
          met: exact && median(ratios) >= STATELESS_TARGET,
        }),
      },
      ...(writes
        ? [
            {
              name: `nexmark ${query.name}, in process: / decode + JSON.stringify floor of its events`,
              value: exact ? Number(median(writeRatios).toFixed(3)) : 0,
              unit: 'ratio',
            },
          ]
        : []),
      {
        name: `nexmark ${query.name}, in process: output equals the reference computation`,
        value: exact ? 1 : 0,
        unit: 'bool',
        target: '1',
        met: exact,
      },
    );
  }
  rows.unshift({
    name: `nexmark decode floor: base64 + JSON.parse of ${events.toLocaleString('en-US')} event records`,
    value: Math.round(median(floors)),
    unit: 'events/CPU-s',
  });
  if (writeFloors.length > 0) {
    rows.splice(1, 0, {
      name: `nexmark decode + JSON.stringify floor: the same, each event written back as JSON`,
      value: Math.round(median(writeFloors)),
      unit: 'events/CPU-s',
    });
  }
  return rows;
}

export async function run(options: NexmarkInProcessOptions & { readonly bundle?: boolean } = {}): Promise<BenchRow[]> {
  if (options.bundle === false || isBundled()) return measure(options);
  const args = [
    ...(options.scale === 'full' ? ['--full'] : []),
    ...(options.events !== undefined ? ['--events', String(options.events)] : []),
    ...(options.queries !== undefined ? ['--queries', options.queries.join(',')] : []),
    ...(options.reps !== undefined ? ['--reps', String(options.reps)] : []),
    ...(options.seed !== undefined ? ['--seed', String(options.seed)] : []),
  ];
  return runBundled(import.meta.url, args);
}

if (isMain(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      events: { type: 'string' },
      queries: { type: 'string' },
      reps: { type: 'string' },
      seed: { type: 'string' },
      full: { type: 'boolean', default: false },
      tsx: { type: 'boolean', default: false },
      rows: { type: 'string' },
    },
  });
  const rows = await run({
    bundle: !values.tsx,
    scale: values.full ? 'full' : 'default',
    ...(values.events !== undefined && { events: Number(values.events) }),
    ...(values.queries !== undefined && { queries: values.queries.split(',') }),
    ...(values.reps !== undefined && { reps: Number(values.reps) }),
    ...(values.seed !== undefined && { seed: Number(values.seed) }),
  });
  if (values.rows !== undefined) writeFileSync(values.rows, JSON.stringify(rows));
  else console.log(formatTable(rows));
  if (rows.some((r) => r.unit === 'bool' && r.value !== 1)) process.exitCode = 1;
}
