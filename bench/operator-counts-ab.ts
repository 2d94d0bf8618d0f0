/**
 * The cost of counting per operator, A/B: processBatch and the stage program of two checkouts of
 * Eddy (before: a tree without per-operator counts; after: this one) over the same source batches of
 * the (a) chain of bench/in-process.ts (source, filter, map, keyBy). Each measurement is a process of
 * its own (two copies of the code in one process bias each other through the JIT: a control of this
 * tree against a copy of itself read 0.62), before and after alternating; median of the pairs' ratios.
 *
 *   npx tsx bench/operator-counts-ab.ts <before-tree> [--events 100000] [--reps 11]
 */
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { generateClickLines } from '../examples/data/click-generator.js';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    events: { type: 'string', default: '100000' },
    reps: { type: 'string', default: '11' },
    side: { type: 'string' },
  },
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

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

if (values.side !== undefined) {
  // One side, in this process: a warm-up pass, then the median of three.
  const lines = [...generateClickLines({ events, seed: 11, users: 500, pages: 50 })];
  const measured = await side(values.side, values.side, lines);
  measured.run();
  console.log(String(median([measured.run(), measured.run(), measured.run()])));
} else {
  const measure = (tree: string) =>
    Number(
      execFileSync(
        process.execPath,
        [...process.execArgv, import.meta.filename, '--side', tree, '--events', String(events)],
        {
          encoding: 'utf8',
        },
      ).trim(),
    );
  const ratios: number[] = [];
  const rates: Record<'before' | 'after', number[]> = { before: [], after: [] };
  for (let rep = 0; rep < reps; rep += 1) {
    // Alternate which goes first, so that neither always runs on a quieter machine.
    const first = rep % 2 === 0 ? 'before' : 'after';
    const got = { before: 0, after: 0 };
    for (const name of first === 'before' ? (['before', 'after'] as const) : (['after', 'before'] as const)) {
      got[name] = measure(name === 'before' ? beforeTree : afterTree);
    }
    rates.before.push(got.before);
    rates.after.push(got.after);
    ratios.push(got.after / got.before);
  }
  console.log(
    `processBatch, source stage filter+map+keyBy, ${events} events in batches of ${BATCH}, ${reps} alternating pairs of processes\n` +
      `before: median ${Math.round(median(rates.before))} events/s\n` +
      `after:  median ${Math.round(median(rates.after))} events/s\n` +
      `after/before: median ratio ${median(ratios).toFixed(3)} (min ${Math.min(...ratios).toFixed(3)}, max ${Math.max(...ratios).toFixed(3)})`,
  );
}
