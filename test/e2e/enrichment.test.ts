import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeClickSample } from '../../examples/data/click-generator.js';
import { writeProfileSample } from '../../examples/data/profile-generator.js';
import viewsByCountry from '../../examples/views-by-country.js';
import { type RunSummary, runPipelineOnFiles } from '../../local/runner/run-files.js';
import { eddy } from '../helpers/eddy-cli.js';
import { type CountryView, expectedCountryViews, profileTable } from '../reference/views-by-country.js';

/**
 * examples/views-by-country.ts with `eddy run`: a changelog of profiles (out of order, repeated,
 * with deletes) kept as a table, and clicks enriched with it. The run keeps the tables first, so
 * every view must carry exactly its user's newest profile, as the batch lookup computes it.
 */
describe('eddy run: views enriched with a table kept from a changelog (examples/views-by-country.ts)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'eddy-enrich-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string) => join(dir, name);
  let summary: RunSummary;

  beforeAll(async () => {
    await writeClickSample(file('clicks.jsonl'), { events: 20_000, seed: 3, users: 600, badLineRate: 0.001 });
    // 600 users clicking, profiles for 500 of them less the unknown share: some views find no row.
    await writeProfileSample(file('profiles.jsonl'), { updates: 8_000, seed: 4, users: 500 });
    summary = await runPipelineOnFiles({
      pipeline: viewsByCountry,
      inputs: [
        { stream: 'clicks', file: file('clicks.jsonl') },
        { stream: 'user-profiles', file: file('profiles.jsonl') },
      ],
      outputs: [{ stream: 'views-by-country', file: file('out.jsonl') }],
    });
  });

  it("emits each view once with its user's newest profile, 'unknown' for users with none", () => {
    const lines = (name: string) => readFileSync(file(name), 'utf8').split('\n');
    const expected = expectedCountryViews(lines('clicks.jsonl'), lines('profiles.jsonl'));
    const actual = lines('out.jsonl')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as CountryView);
    const sorted = (views: readonly CountryView[]) => views.map((view) => JSON.stringify(view)).sort();

    expect(sorted(actual)).toEqual(sorted(expected));
    // The input has what makes the check worth it: unknown users, deleted profiles, several countries.
    expect(expected.filter((view) => view.country === 'unknown').length).toBeGreaterThan(100);
    expect(new Set(expected.map((view) => view.country)).size).toBe(9);
    expect(profileTable(lines('profiles.jsonl')).size).toBeLessThan(450);
  });

  it('accounts for every record in each stage', () => {
    const clicks = summary.stages.find((stage) => stage.stage.id === 'from-clicks')?.stats;
    const profiles = summary.stages.find((stage) => stage.stage.id === 'from-user-profiles')?.stats;
    const updates = readFileSync(file('profiles.jsonl'), 'utf8').trim().split('\n').length;
    expect(updates).toBeGreaterThanOrEqual(8_000);
    // Every update is a row write (one write per key per batch makes fewer requests, not fewer outputs).
    expect(profiles?.recordsIn).toBe(updates);
    expect(profiles?.recordsOut).toBe(updates);
    for (const { stats } of summary.stages) {
      expect(stats.recordsIn).toBe(stats.recordsOut + stats.filtered + stats.deadLettered);
      expect(stats.failedRecords).toBe(0);
    }
    expect(clicks?.deadLettered).toBeGreaterThan(5);
    expect(summary.failedBatches).toEqual([]);
  });
});

describe('eddy run --table: enrichment from an external DynamoDB table', () => {
  const dir = mkdtempSync(join(tmpdir(), 'eddy-table-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("seeds the table, prices each signup whose plan has a row, drops the others, and dead-letters a row that breaks the table's schema", async () => {
    const plans = join(dir, 'plans.jsonl');
    const signups = join(dir, 'signups.jsonl');
    const output = join(dir, 'out.jsonl');
    writeFileSync(
      plans,
      [
        '{"plan":"free","price":0,"seats":1}',
        '{"plan":"pro","price":12,"seats":5}',
        '{"plan":"team","price":"40","seats":20}',
      ].join('\n'),
    );
    writeFileSync(
      signups,
      [
        '{"user":"a","plan":"pro"}',
        '{"user":"b","plan":"gold"}',
        '{"user":"c","plan":"team"}',
        '{"user":"d","plan":"free"}',
      ].join('\n'),
    );

    const { stdout } = await eddy(
      'run',
      'test/e2e/fixtures/plans-external.ts',
      '--table',
      `plans=${plans}`,
      '--input',
      `signups=${signups}`,
      '--output',
      `priced-signups=${output}`,
      '--no-progress',
    );

    const priced = readFileSync(output, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line))
      .sort((x, y) => x.user.localeCompare(y.user));
    expect(priced).toEqual([
      { user: 'a', plan: 'pro', price: 12 },
      { user: 'd', plan: 'free', price: 0 },
    ]);
    expect(stdout).toMatch(/schema-violation/);
    expect(stdout).toMatch(/row 'team' of table 'plans'/);
    expect(stdout).toMatch(/field 'price'/);
  });
});
