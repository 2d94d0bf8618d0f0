/**
 * The cost of counting per operator, A/B in one process: processBatch and the stage program of two
 * checkouts of Eddy (before: a tree without per-operator counts; after: this one) over the same
 * source batches of the (a) chain of bench/in-process.ts (source, filter, map, keyBy), interleaved
 * repetitions, median of the per-repetition ratios after/before.
 *
 *   npx tsx bench/operator-counts-ab.ts <before-tree> [--events 200000] [--reps 15]
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { generateClickLines } from '../examples/data/click-generator.js';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { events: { type: 'string', default: '200000' }, reps: { type: 'string', default: '15' } },
});
const beforeTree = resolve(positionals[0] ?? '');
const afterTree = resolve(import.meta.dirname, '..');
const events = Number(values.events);
const reps = Number(values.reps);
const BATCH = 1_000;

const Click = z.object({ user: z.string(), page: z.string(), kind: z.string(), ts: z.number() });

interface Side {
  readonly name: string;
  run(): number;
}

async function side(name: string, tree: string, lines: readonly string[]): Promise<Side> {
  const { pipeline } = await import(`${tree}/shared/index.ts`);
  const { compileStage } = await import(`${tree}/shared/runtime/stage-program.ts`);
  const { processBatch } = await import(`${tree}/shared/runtime/batch-processor.ts`);
  const p = pipeline('ab')
    .source('clicks', { schema: Click, eventTime: (c: { ts: number }) => c.ts })
    .filter((c: { kind: string }) => c.kind === 'view')
    .map((c: { page: string; user: string; ts: number }) => ({ page: c.page, user: c.user, ts: c.ts }))
    .keyBy((v: { page: string }) => v.page)
    .sink('by-page');
  const stage = p.plan().stages[0];
  const program = compileStage(p.graph, stage);
  const context = { pipeline: 'ab', deadLetterStream: 'ab-dead-letters', now: () => 0 };
  const batches: { position: object; data: Buffer }[][] = [];
  for (let start = 0; start < lines.length; start += BATCH) {
    batches.push(
      lines.slice(start, start + BATCH).map((line, i) => ({
        position: {
          stream: 'clicks',
          shardId: 'shardId-000000000000',
          sequenceNumber: String(start + i),
          partitionKey: 'p',
          arrivalTime: 0,
        },
        data: Buffer.from(line),
      })),
    );
  }
  return {
    name,
    run: () => {
      const started = process.hrtime.bigint();
      let outputs = 0;
      for (const batch of batches) outputs += processBatch(program, batch, context).outputs.length;
      if (outputs === 0) throw new Error('no outputs');
      return (lines.length / Number(process.hrtime.bigint() - started)) * 1e9;
    },
  };
}

const lines = [...generateClickLines({ events, seed: 11, users: 500, pages: 50 })];
const before = await side('before', beforeTree, lines);
const after = await side('after', afterTree, lines);
before.run();
after.run();
const ratios: number[] = [];
const rates: Record<string, number[]> = { before: [], after: [] };
for (let rep = 0; rep < reps; rep += 1) {
  // Alternate which goes first, so that neither always runs on a warmer or a quieter machine.
  const order = rep % 2 === 0 ? [before, after] : [after, before];
  const got: Record<string, number> = {};
  for (const s of order) got[s.name] = s.run();
  rates.before?.push(got.before ?? 0);
  rates.after?.push(got.after ?? 0);
  ratios.push((got.after ?? 0) / (got.before ?? 1));
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
console.log(
  `processBatch, source stage filter+map+keyBy, ${events} events in batches of ${BATCH}, ${reps} interleaved reps\n` +
    `before: median ${Math.round(median(rates.before ?? []))} events/s\n` +
    `after:  median ${Math.round(median(rates.after ?? []))} events/s\n` +
    `after/before: median ratio ${median(ratios).toFixed(3)} (min ${Math.min(...ratios).toFixed(3)}, max ${Math.max(...ratios).toFixed(3)})`,
);
