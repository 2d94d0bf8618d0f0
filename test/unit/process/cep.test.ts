import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { begin, type Pattern, pipeline } from '../../../shared/index.js';
import { patternFunction } from '../../../shared/process/cep.js';
import { emptyKeyState, type KeyedInput, runKey } from '../../../shared/process/keyed-process.js';
import { MemoryRecordWriter } from '../../../shared/runtime/io/memory-record-writer.js';
import { MemoryWindowStore } from '../../../shared/runtime/io/memory-window-store.js';
import { StageRunner } from '../../../shared/runtime/stage-runner.js';
import { shuffleRecords } from '../../helpers/lambda-delivery.js';

interface E {
  readonly k: string;
  readonly n: number;
}
const ESchema = z.object({ k: z.string(), n: z.number() });
const is = (k: string) => (e: E) => e.k === k;
const END = 2 ** 50;

/** Runs the pattern's process function over one key's events (time = n), then the watermark to the end. */
function run(pattern: Pattern<E>, within: number, events: readonly E[], watermarks: readonly number[] = []) {
  const { fn, state } = patternFunction(pattern, within);
  const inputs: KeyedInput[] = events.map((value, i) => ({
    id: `r${i}`,
    value,
    time: value.n,
    watermark: watermarks[i] ?? Number.NEGATIVE_INFINITY,
  }));
  const step = runKey(fn, state, 'k', emptyKeyState(), inputs, {
    idPrefix: 's',
    watermark: END,
    now: 0,
    processingTimers: false,
  });
  const names = (events: Record<string, E[]>) =>
    Object.fromEntries(Object.entries(events).map(([stage, es]) => [stage, es.map((e) => `${e.k}${e.n}`)]));
  const of = (output: string | undefined) =>
    step.emissions
      .filter((e) => e.output === output)
      .map((e) => (output === 'late' ? e.value : names((e.value as { events: Record<string, E[]> }).events)));
  return { matches: of(undefined), timedOut: of('timed-out'), late: of('late'), state: step.state, step };
}

const ev = (spec: string): E[] =>
  spec.split(' ').map((token, i) => ({ k: token.replace(/[0-9]+$/, ''), n: Number(token.match(/[0-9]+$/)?.[0] ?? i) }));

describe('CEP patterns on the keyed process runtime', () => {
  it('next: strict contiguity, nothing between', () => {
    const p = begin<E>('a', is('a')).next('b', is('b'));
    expect(run(p, 100, ev('a1 b2')).matches).toEqual([{ a: ['a1'], b: ['b2'] }]);
    const broken = run(p, 100, ev('a1 x2 b3'));
    expect(broken.matches).toEqual([]);
    // The partial match ended at x (no relaxed edge to skip it): it does not time out either.
    expect(broken.timedOut).toEqual([]);
  });

  it('followedBy: relaxed contiguity skips events that match nothing it waits for, and takes the next match', () => {
    const p = begin<E>('a', is('a')).followedBy('b', is('b'));
    expect(run(p, 100, ev('a1 x2 b3 b4')).matches).toEqual([{ a: ['a1'], b: ['b3'] }]);
  });

  it('events are matched in event-time order, whatever their arrival order; ties by their JSON', () => {
    const p = begin<E>('a', is('a')).next('b', is('b'));
    expect(run(p, 100, ev('b2 x3 a1')).matches).toEqual([{ a: ['a1'], b: ['b2'] }]);
    // Same time: {"k":"a"...} sorts before {"k":"b"...}.
    expect(run(p, 100, ev('b5 a5')).matches).toEqual([{ a: ['a5'], b: ['b5'] }]);
    // Members sorted first: { n, k: 'a' } comes before { k: 'b', n } although its plain JSON sorts after.
    expect(
      run(p, 100, [
        { k: 'b', n: 7 },
        { n: 7, k: 'a' },
      ]).matches,
    ).toEqual([{ a: ['a7'], b: ['b7'] }]);
  });

  it('times(n): exactly n events, relaxed between them; consecutive() makes them strict', () => {
    const relaxed = begin<E>('a', is('a')).followedBy('b', is('b')).times(2);
    expect(run(relaxed, 100, ev('a1 b2 x3 b4 b5')).matches).toEqual([{ a: ['a1'], b: ['b2', 'b4'] }]);
    const strict = begin<E>('a', is('a')).followedBy('b', is('b')).times(2).consecutive();
    expect(run(strict, 100, ev('a1 b2 x3 b4 b5')).matches).toEqual([]);
    expect(run(strict, 100, ev('a1 b2 b3')).matches).toEqual([{ a: ['a1'], b: ['b2', 'b3'] }]);
  });

  it('optional(): the stage is taken when it comes, else left out', () => {
    const p = begin<E>('a', is('a')).next('b', is('b')).optional().followedBy('c', is('c'));
    expect(run(p, 100, ev('a1 c2')).matches).toEqual([{ a: ['a1'], c: ['c2'] }]);
    expect(run(p, 100, ev('a1 b2 c3')).matches).toEqual([{ a: ['a1'], b: ['b2'], c: ['c3'] }]);
    expect(run(p, 100, ev('a1 x2 b3 c4')).matches).toEqual([{ a: ['a1'], c: ['c4'] }]);
  });

  it('optional(), as Flink: a branch that left the optional stage out goes on after the stage took an event', () => {
    // Flink's NFA keeps a branch waiting for c only ("IGNORE after PROCEED" in NFA.computeNextStates).
    const started = begin<E>('a', is('a')).followedBy('b', is('b')).times(2).optional().followedBy('c', is('c'));
    const skipped = run(started, 100, ev('a1 b2 c3'));
    expect(skipped.matches).toEqual([{ a: ['a1'], c: ['c3'] }]);
    // The branch still waiting for a second b started at a1, before c3: skip past last event drops it.
    expect(skipped.timedOut).toEqual([]);
  });

  it('two matches of one start that end on one event: the one Flink emits first, the other dropped', () => {
    // Both complete on c4; Flink's queue orders them by start only, then by the order its edges made
    // them: the run that took the optional stage's events came first.
    const twice = begin<E>('a', is('a')).followedBy('b', is('b')).times(2).optional().followedBy('c', is('c'));
    expect(run(twice, 100, ev('a1 b2 b3 c4')).matches).toEqual([{ a: ['a1'], b: ['b2', 'b3'], c: ['c4'] }]);
    // Where the runs part (at c2), the branch waiting for b (stage 1) comes before the one taking c2
    // (stage 2): Flink emits { a, b, d }, although { a, c, d } has the earlier events.
    const two = begin<E>('a', is('a'))
      .followedBy('b', is('b'))
      .optional()
      .followedBy('c', is('c'))
      .optional()
      .followedBy('d', is('d'));
    expect(run(two, 100, ev('a1 c2 b3 d4')).matches).toEqual([{ a: ['a1'], b: ['b3'], d: ['d4'] }]);
  });

  it('a strict stage after an optional one: right after the optional stage, or right after the stage before it', () => {
    const p = begin<E>('a', is('a')).followedBy('b', is('b')).optional().next('c', is('c'));
    expect(run(p, 100, ev('a1 c2')).matches).toEqual([{ a: ['a1'], c: ['c2'] }]);
    expect(run(p, 100, ev('a1 x2 b3 c4')).matches).toEqual([{ a: ['a1'], b: ['b3'], c: ['c4'] }]);
    expect(run(p, 100, ev('a1 b2 x3 c4')).matches).toEqual([]);
    // The c branch ended at x2; the b branch still waits, and times out once at the end.
    const gap = run(p, 100, ev('a1 x2 c3'));
    expect(gap.matches).toEqual([]);
    expect(gap.timedOut).toEqual([{ a: ['a1'] }]);
    // { a3, c4 } completes while the run of a1 waits for b: it waits (Flink's rule), then a1's match
    // wins and drops it.
    expect(run(p, 100, ev('a1 x2 a3 c4 b5 c6')).matches).toEqual([{ a: ['a1'], b: ['b5'], c: ['c6'] }]);
  });

  it('a partial match waiting on several branches times out once', () => {
    const p = begin<E>('a', is('a')).followedBy('b', is('b')).optional().followedBy('c', is('c'));
    // After x2 the run of a1 waits for b on one branch and for c on another (Flink reports it twice).
    const result = run(p, 100, ev('a1 x2'));
    expect(result.timedOut).toEqual([{ a: ['a1'] }]);
    expect(result.state.s).toEqual({});
  });

  it('within: a match spans less than within; a partial match that runs that long times out with what it has', () => {
    const p = begin<E>('a', is('a')).followedBy('b', is('b')).followedBy('c', is('c'));
    const late = run(p, 10, ev('a1 b5 c11'));
    expect(late.matches).toEqual([]);
    expect(late.timedOut).toEqual([{ a: ['a1'], b: ['b5'] }]);
    expect(run(p, 11, ev('a1 b5 c11')).matches).toEqual([{ a: ['a1'], b: ['b5'], c: ['c11'] }]);
    // At the end of input every partial match times out; the state is then empty.
    const open = run(p, 10, ev('a20'));
    expect(open.timedOut).toEqual([{ a: ['a20'] }]);
    expect(open.state.s).toEqual({});
  });

  it('skip past last event: overlapping matches are dropped, the earliest-starting one wins', () => {
    const p = begin<E>('a', is('a')).followedBy('b', is('b'));
    const result = run(p, 100, ev('a1 a2 b3 a4 b5'));
    expect(result.matches).toEqual([
      { a: ['a1'], b: ['b3'] },
      { a: ['a4'], b: ['b5'] },
    ]);
    expect(result.timedOut).toEqual([]);
  });

  it('records at or behind the watermark when they arrive go to the late output, unmatched', () => {
    const p = begin<E>('a', is('a')).followedBy('b', is('b'));
    const result = run(p, 100, ev('a5 b3 b7'), [0, 3, 3]);
    expect(result.late).toEqual([{ k: 'b', n: 3 }]);
    expect(result.matches).toEqual([{ a: ['a5'], b: ['b7'] }]);
  });

  it('a predicate that throws or returns a non-boolean dead-letters the record, not the key', () => {
    const p = begin<E>('a', (e) => {
      if (e.k === 'boom') throw new Error('bad amount');
      return e.k === 'a';
    }).followedBy('b', (e) => (e.k === 'q' ? (1 as unknown as boolean) : e.k === 'b'));
    const result = run(p, 100, ev('a1 boom2 q3 b4'));
    expect(result.step.failures.map((f) => [f.record, f.message])).toEqual([
      [1, 'bad amount'],
      [2, "pattern: the predicate of stage 'b' returned 1, not a boolean"],
    ]);
    expect(result.matches).toEqual([{ a: ['a1'], b: ['b4'] }]);
  });

  it('refuses patterns it cannot run, naming the stage', () => {
    expect(() => begin<E>('a', is('a')).optional()).toThrow(/first stage 'a' cannot be optional/);
    expect(() => begin<E>('a', is('a')).next('a', is('b'))).toThrow(/two stages are named 'a'/);
    expect(() => begin<E>('a', is('a')).times(0)).toThrow(/times\(0\) of stage 'a'/);
    expect(() => begin<E>('a', is('a')).consecutive()).toThrow(/needs times\(n\) first/);
    const keyed = pipeline('p')
      .source('s', { schema: ESchema, eventTime: (e) => e.n })
      .keyBy((e) => e.k);
    expect(() => keyed.pattern(begin<E>('a', is('a')).next('b', is('b')).optional(), { within: '1m' })).toThrow(
      /pattern 'process-1': pattern: the last stage 'b' cannot be optional/,
    );
    expect(() => keyed.pattern(begin<E>('a', is('a')), { within: 0 })).toThrow(/within must be at least 1 ms/);
  });

  it('declares the timed-out and late side outputs as streams of their own', () => {
    const p = pipeline('cards')
      .source('payments', { schema: ESchema, eventTime: (e) => e.n })
      .keyBy((e) => e.k, { name: 'by-card' })
      .pattern(begin<E>('a', is('a')).followedBy('b', is('b')), {
        within: '10m',
        name: 'fraud',
        streams: { late: 'late-payments' },
      })
      .sink('alerts');

    const plan = p.plan();

    expect(plan.stages.find((s) => s.id === 'from-cards-by-card')).toMatchObject({
      stateful: true,
      outputs: ['cards-fraud-timed-out', 'late-payments', 'alerts', expect.any(String)],
    });
    expect(plan.streams.find((s) => s.name === 'cards-fraud-timed-out')).toMatchObject({ role: 'side-output' });
  });

  it('dead-letters the records whose buffering would outgrow an item, naming key and operator; the key goes on', async () => {
    // Prepare: 100 KB records on one key, the watermark far behind, so they wait in the key's state.
    const Padded = z.object({ key: z.string(), t: z.number(), id: z.string(), k: z.string(), pad: z.string() });
    type Padded = z.infer<typeof Padded>;
    const pad = 'x'.repeat(100_000);
    const events = [1, 2, 3, 4, 5, 6].map((t) => ({
      key: 'a',
      t,
      id: `e${t}`,
      ...(t === 6 ? { k: 'b', pad: '' } : { k: 'a', pad }),
    }));
    const p = pipeline('p')
      .source('events', { schema: Padded, eventTime: (e) => e.t })
      .keyBy((e) => e.key, { name: 'by-key' })
      .pattern(
        begin<Padded>('a', (e) => e.k === 'a').followedBy('b', (e) => e.k === 'b'),
        {
          within: 100,
          name: 'cep',
        },
      )
      .sink('out');
    const sink = new MemoryRecordWriter();
    const runner = new StageRunner({
      pipeline: p,
      stageId: 'from-p-by-key',
      writer: sink,
      store: new MemoryWindowStore(),
    });

    // Act
    const records = shuffleRecords(events, 1_000_000, 100);
    await runner.run(records.slice(0, -1), Date.now() + 60_000);
    await runner.run(records.slice(-1), Date.now() + 60_000); // the end of input

    // Assess: three large records fit beside each other, the next two do not; the small one does.
    const letters = sink.values(p.plan().deadLetter.name) as {
      error: { reason: string; operator: string; message: string };
    }[];
    expect(letters.map((l) => l.error.reason)).toEqual(['state-too-large', 'state-too-large']);
    expect(letters[0]?.error.operator).toBe('cep');
    expect(letters[0]?.error.message).toContain('key "a"');
    const matches = (sink.values('out') as { events: { a: Padded[]; b: Padded[] } }[]).map((m) => [
      m.events.a.map((e) => e.id),
      m.events.b.map((e) => e.id),
    ]);
    expect(matches).toEqual([[['e1'], ['e6']]]);
  });
});
