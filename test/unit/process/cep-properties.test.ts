import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { seededRandom } from '../../../examples/data/click-generator.js';
import { begin, type Pattern, type PatternMatch, pipeline } from '../../../shared/index.js';
import { advance, emptyMatcher } from '../../../shared/process/cep-nfa.js';
import type { PatternStage } from '../../../shared/process/cep-pattern.js';
import { MemoryWindowStore } from '../../../shared/runtime/io/memory-window-store.js';
import type { InputRecord } from '../../../shared/runtime/records.js';
import { StageRunner } from '../../../shared/runtime/stage-runner.js';
import { referenceMatch, referenceMatchByKey } from '../../helpers/cep-reference.js';
import {
  arrivals,
  deliver,
  FlakyWriter,
  flakyStore,
  MemoryRecordWriter,
  shuffleRecords,
} from '../../helpers/lambda-delivery.js';

const Event = z.object({ key: z.string(), t: z.number(), id: z.string(), k: z.string() });
type Event = z.infer<typeof Event>;

/** A stage of a generated pattern: the kinds it accepts and its modifiers. */
interface StageSpec {
  readonly kinds: readonly string[];
  readonly strict: boolean;
  readonly times: number;
  readonly consecutive: boolean;
  readonly optional: boolean;
}

const stageSpec = fc.record({
  kinds: fc.subarray(['a', 'b', 'c'], { minLength: 1 }),
  strict: fc.boolean(),
  times: fc.integer({ min: 1, max: 2 }),
  consecutive: fc.boolean(),
  optional: fc.boolean(),
});

function build(specs: readonly StageSpec[]): Pattern<Event> {
  let pattern: Pattern<Event> | undefined;
  specs.forEach((spec, i) => {
    const name = `s${i}`;
    const predicate = (e: Event) => spec.kinds.includes(e.k);
    pattern =
      pattern === undefined
        ? begin<Event>(name, predicate)
        : spec.strict
          ? pattern.next(name, predicate)
          : pattern.followedBy(name, predicate);
    if (spec.times > 1) pattern = pattern.times(spec.times);
    if (spec.times > 1 && spec.consecutive) pattern = pattern.consecutive();
    if (spec.optional && i > 0 && i < specs.length - 1) pattern = pattern.optional();
  });
  return pattern as Pattern<Event>;
}

/** The reference: late records out, then per key the brute-force matcher over what is left. */
function reference(pattern: Pattern<Event>, within: number, records: readonly InputRecord[]) {
  const late: string[] = [];
  const kept: Event[] = [];
  for (const { event, watermark } of arrivals<Event>(records)) {
    if (event.t <= watermark) late.push(event.id);
    else kept.push(event);
  }
  const result = referenceMatchByKey(
    pattern,
    within,
    kept,
    (e) => e.key,
    (e) => e.t,
  );
  return { ...result, late: late.sort() };
}

const unique = (values: string[]) => [...new Set(values)].sort();

describe('CEP patterns equal a brute-force matcher over all subsequences (property-based)', () => {
  it('under disorder, repeats, late records, retries, bisects and crashes mid-commit', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(stageSpec, { minLength: 1, maxLength: 4 }),
        fc.array(
          fc.record({
            key: fc.constantFrom('x', 'y'),
            t: fc.integer({ min: 0, max: 400 }),
            k: fc.constantFrom('a', 'b', 'c', 'd'),
          }),
          { minLength: 1, maxLength: 36 },
        ),
        fc.array(fc.nat(), { maxLength: 6 }),
        fc.integer({ min: 20, max: 300 }),
        fc.integer(),
        fc.integer({ min: 1, max: 10 }),
        fc.integer({ min: 0, max: 200 }),
        async (specs, raw, repeats, within, seed, every, bound) => {
          // Prepare: some events repeated (same key, time and kind), then any order and watermark bound.
          const withRepeats = [...raw, ...repeats.map((i) => raw[i % raw.length] as (typeof raw)[number])];
          const events = withRepeats.map((e, i) => ({ ...e, id: `e${i}` }));
          const records = shuffleRecords(events, bound, every);
          const pattern = build(specs);
          const expected = reference(pattern, within, records);
          const random = seededRandom(seed);
          const sink = new MemoryRecordWriter();
          const runner = new StageRunner({
            pipeline: pipeline('p')
              .source('events', { schema: Event, eventTime: (e) => e.t })
              .keyBy((e) => e.key, { name: 'by-key' })
              .pattern(pattern, { within, name: 'cep' })
              .sink('out'),
            stageId: 'from-p-by-key',
            writer: new FlakyWriter(sink, random),
            store: flakyStore(new MemoryWindowStore(), random),
          });

          // Act
          await deliver(runner, records, random);

          // Assess: outputs are at least once (a retried batch repeats them), their sets the reference's.
          const show = (m: PatternMatch<Event>) => `${m.key}|${JSON.stringify(m.events)}`;
          expect(unique((sink.values('out') as PatternMatch<Event>[]).map(show))).toEqual(expected.matches);
          const timedOut = sink.values('p-cep-timed-out') as { id: string; value: PatternMatch<Event> }[];
          expect(unique(timedOut.map((r) => show(r.value)))).toEqual(expected.timedOut);
          const late = sink.values('p-cep-late') as { id: string; value: Event }[];
          expect(unique(late.map((r) => r.value.id))).toEqual(expected.late);
          // A repeat carries its first's id: a timer or record applied twice would show under a new id.
          expect(unique(timedOut.map((r) => r.id))).toHaveLength(expected.timedOut.length);
          expect(unique(late.map((r) => r.id))).toHaveLength(expected.late.length);
        },
      ),
      {
        numRuns: 400,
        ...(process.env.SEED && { seed: Number(process.env.SEED), path: process.env.FCPATH, endOnFailure: true }),
      },
    );
  });

  it('the matcher alone, on longer patterns with optional stages side by side (where runs of one start part)', () => {
    // Without the delivery machinery, so more patterns and events: ties between matches of one start
    // (Flink's edge order) need two optional stages and events in the right order.
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            kinds: fc.subarray(['a', 'b', 'c', 'd'], { minLength: 1 }),
            strict: fc.boolean(),
            times: fc.integer({ min: 1, max: 2 }),
            consecutive: fc.boolean(),
            optional: fc.boolean(),
          }),
          { minLength: 3, maxLength: 5 },
        ),
        fc.array(fc.constantFrom('a', 'b', 'c', 'd'), { minLength: 1, maxLength: 12 }),
        fc.integer({ min: 2, max: 14 }),
        (specs, kinds, within) => {
          // Prepare: one key, one event per time unit.
          const pattern = build(specs);
          const events = kinds.map((k, t) => ({ key: 'x', t, id: `e${t}`, k }));
          const stages = pattern.stages as readonly PatternStage<never>[];
          const masked = events.map((v) => ({
            t: v.t,
            v,
            m: stages.reduce((m, stage, i) => (stage.predicate(v as never) ? m | (1 << i) : m), 0),
          }));

          // Act
          const step = advance(stages, within, emptyMatcher(), masked, Number.MAX_SAFE_INTEGER);

          // Assess
          const expected = referenceMatch(
            pattern as unknown as Pattern<never>,
            within,
            events.map((v) => ({ t: v.t, v })),
          );
          expect(step.matches.map((m) => JSON.stringify(m)).sort()).toEqual(expected.matches);
          expect(step.timedOut.map((m) => JSON.stringify(m)).sort()).toEqual(expected.timedOut);
          expect(step.state.p).toEqual([]);
        },
      ),
      { numRuns: 10_000 },
    );
  });
});
