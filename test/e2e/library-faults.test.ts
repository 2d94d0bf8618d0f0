import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { writeLines } from '../../examples/data/write-lines.js';
import { describeDiscardedBatch } from '../../local/runner/discarded-batches.js';
import type { TopNResult } from '../../shared/index.js';
import { seededRandom } from '../../shared/util/random.js';
import { referenceDedupe } from '../helpers/dedupe-reference.js';
import { expectFaultsInEveryStage, lines, runWithFaults } from '../helpers/process-check.js';
import { addProducerRetries } from '../helpers/producer-retries.js';
import libraryOperators, {
  TOP_N,
  TOP_WINDOW_MS,
  VISIT_DISORDER_BOUND_MS,
  type Visit,
} from './fixtures/library-operators.js';

const VISITS = 400;

/** Visits 60 ms apart in event time, out of order by up to 2 s (under the source's bound), scores all distinct. */
function* visitLines(count: number, seed: number): Generator<string> {
  const random = seededRandom(seed);
  const start = Date.UTC(2026, 0, 1);
  for (let i = 0; i < count; i += 1) {
    const visit: Visit = {
      id: `v${i}`,
      user: `user-${Math.floor(random() * 30)}`,
      page: `/page/${Math.floor(random() ** 2 * 12)}`,
      score: Math.floor(random() * 1_000_000) * 10_000 + i,
      ts: start + i * 60 - Math.floor(random() * (VISIT_DISORDER_BOUND_MS - 3_000)),
    };
    yield JSON.stringify(visit);
  }
}

/**
 * A sink's values grouped by `name`: a name repeats only with the same value (an output written again
 * by a retried batch), never with another one.
 */
function outputsBy<T>(file: string, name: (value: T) => string): Map<string, string> {
  const seen = new Map<string, string>();
  for (const line of lines(file)) {
    const key = name(JSON.parse(line) as T);
    expect(seen.get(key) ?? line, `${key} emitted twice with different values`).toBe(line);
    seen.set(key, line);
  }
  return seen;
}

const sorted = <V>(map: Map<string, V>) => new Map([...map].sort(([a], [b]) => a.localeCompare(b)));

/** Top-N's batch reference: per page and window, every record in it ranked by score, then earlier event time. */
function referenceTopN(visits: readonly Visit[]): Map<string, string> {
  const windows = new Map<string, Visit[]>();
  for (const visit of visits) {
    const name = `${visit.page}|${Math.floor(visit.ts / TOP_WINDOW_MS) * TOP_WINDOW_MS}`;
    windows.set(name, [...(windows.get(name) ?? []), visit]);
  }
  const top = new Map<string, string>();
  for (const [name, inWindow] of windows) {
    const best = [...inWindow].sort((a, b) => b.score - a.score || a.ts - b.ts).slice(0, TOP_N);
    top.set(name, JSON.stringify(best.map((v) => v.id)));
  }
  return top;
}

describe('dedupe and top-N under worker kills mid-commit, crashes after the batch, retries, bisects and producer retries', () => {
  const dir = mkdtempSync(join(tmpdir(), 'eddy-library-faults-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string) => join(dir, name);

  it('equal a batch dedupe and a batch top-N per window over the input, copies included', async () => {
    // Prepare: some visits put twice by their producer, each copy a record of its own to Kinesis.
    await writeLines(file('visits.jsonl'), visitLines(VISITS, 5));
    const copies = addProducerRetries(file('visits.jsonl'), { rate: 0.1, seed: 5 });
    const visits = lines(file('visits.jsonl')).map((line) => JSON.parse(line) as Visit);

    // Act
    const summary = await runWithFaults({
      pipeline: libraryOperators,
      module: fileURLToPath(new URL('./fixtures/library-operators.ts', import.meta.url)),
      inputs: [{ stream: 'visits', file: file('visits.jsonl') }],
      outputs: [
        { stream: 'unique-visits', file: file('unique.jsonl') },
        { stream: 'first-pages', file: file('first-pages.jsonl') },
        { stream: 'top-visits', file: file('top.jsonl') },
        { stream: 'library-operators-top-late', file: file('late.jsonl') },
      ],
      seed: 13,
    });

    // Assess: no batch discarded (retries used up, as invocations that time out under load do) and
    // nothing dead-lettered, first: either loses records, and the outputs below would only say which.
    expect(summary.failedBatches.map(describeDiscardedBatch)).toEqual([]);
    expect(summary.deadLetterCount).toBe(0);
    for (const { stats } of summary.stages) expect(stats.failedRecords).toBe(0);

    // Dedupe by id takes out exactly the producer's copies: every visit once, as it was put.
    expect(copies).toBeGreaterThan(30);
    expect(summary.inputRecords).toBe(VISITS + copies);
    const unique = outputsBy<Visit>(file('unique.jsonl'), (v) => v.id);
    const missing = visits.filter((v) => !unique.has(v.id)).map((v) => v.id);
    expect(missing, 'visit ids missing from unique-visits').toEqual([]);
    expect(sorted(new Map([...unique].map(([id, line]) => [id, JSON.parse(line)])))).toEqual(
      sorted(new Map(visits.map((v) => [v.id, v]))),
    );
    expect(unique.size).toBe(VISITS);

    // Dedupe by page, per user: each user's pages exactly, each kept as one of its visits.
    const expectedFirsts = referenceDedupe(visits, (v) => v.page);
    const firsts = outputsBy<Visit>(file('first-pages.jsonl'), (v) => `${v.user}|${v.page}`);
    expect([...firsts.keys()].sort()).toEqual([...expectedFirsts.keys()].sort());
    for (const [name, line] of firsts) expect(expectedFirsts.get(name)?.has(line), name).toBe(true);
    expect(firsts.size).toBeGreaterThan(150);

    // Top-N: a copy is a record of the window, ranked as the original (it may take two places).
    const expectedTop = referenceTopN(visits);
    const top = outputsBy<TopNResult<Visit>>(file('top.jsonl'), (r) => `${r.key}|${r.windowStart}`);
    const topIds = new Map(
      [...top].map(([name, line]) => [
        name,
        JSON.stringify((JSON.parse(line) as TopNResult<Visit>).top.map((v) => v.id)),
      ]),
    );
    expect(sorted(topIds)).toEqual(sorted(expectedTop));
    const withCopies = [...expectedTop.values()].filter((ids) => {
      const ranked = JSON.parse(ids) as string[];
      return new Set(ranked).size < ranked.length;
    });
    expect(withCopies.length, 'windows whose top holds a visit and its copy').toBeGreaterThan(0);
    expect(expectedTop.size).toBeGreaterThan(40);
    expect(lines(file('late.jsonl'))).toEqual([]);

    expectFaultsInEveryStage(summary);
  });
});
