import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTransactionSample } from '../../examples/data/transaction-generator.js';
import fraudAlerts from '../../examples/fraud-alerts.js';
import { type RunSummary, runPipelineOnFiles } from '../../local/runner/run-files.js';
import { expectFraudAlerts, lines } from '../helpers/process-check.js';

/** examples/fraud-alerts.ts with `eddy run` on the emulators, exact against the brute-force matcher. */
describe('eddy run: a CEP pattern (small then large charge within 10 minutes)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'eddy-cep-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string) => join(dir, name);
  let summary: RunSummary;

  beforeAll(async () => {
    // 10,000 transactions a second apart on 100 cards, disordered by up to 5 s: under the 10 s bound, nothing is late.
    await writeTransactionSample(file('transactions.jsonl'), { transactions: 10_000, cards: 100, seed: 15 });
    summary = await runPipelineOnFiles({
      pipeline: fraudAlerts,
      inputs: [{ stream: 'transactions', file: file('transactions.jsonl') }],
      outputs: [
        { stream: 'fraud-alerts', file: file('alerts.jsonl') },
        { stream: 'fraud-alerts-unconfirmed', file: file('unconfirmed.jsonl') },
        { stream: 'fraud-alerts-late', file: file('late.jsonl') },
      ],
    });
  });

  it('emits every match and every timed-out partial match the reference finds, and nothing else', () => {
    // At least once on the way out (a retried batch repeats a record), exactly the reference as a set.
    expectFraudAlerts(
      {
        transactions: file('transactions.jsonl'),
        alerts: file('alerts.jsonl'),
        unconfirmed: file('unconfirmed.jsonl'),
      },
      50,
    );
  });

  it('sends nothing late and fails no record', () => {
    expect(lines(file('late.jsonl'))).toEqual([]);
    for (const { stats } of summary.stages) expect(stats.failedRecords).toBe(0);
    expect(summary.failedBatches).toEqual([]);
  });
});
