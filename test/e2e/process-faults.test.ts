import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { writeClickSample } from '../../examples/data/click-generator.js';
import { writeTransactionSample } from '../../examples/data/transaction-generator.js';
import fraudAlerts from '../../examples/fraud-alerts.js';
import viewsPerUserMinute from '../../examples/views-per-user-minute.js';
import {
  expectFaultsInEveryStage,
  expectFraudAlerts,
  expectViewsPerUserMinute,
  lines,
  runWithFaults,
} from '../helpers/process-check.js';
import { addProducerRetries } from '../helpers/producer-retries.js';

const modulePath = (example: string) => fileURLToPath(new URL(`../../examples/${example}`, import.meta.url));

describe('eddy run under worker kills mid-commit, crashes after the batch, retries and bisects', () => {
  const dir = mkdtempSync(join(tmpdir(), 'eddy-process-faults-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string) => join(dir, name);

  it('a keyed process function (examples/views-per-user-minute.ts) equals the sequential per-key count', async () => {
    // Disordered by up to 5 s, under the example's 10 s bound: nothing is late. Some clicks put twice
    // by their producer: each copy is a view of its own, counted (the reference reads the same file).
    await writeClickSample(file('clicks.jsonl'), { events: 6_000, seed: 31, users: 150 });
    const copies = addProducerRetries(file('clicks.jsonl'), { rate: 0.03, seed: 31 });
    const summary = await runWithFaults({
      pipeline: viewsPerUserMinute,
      module: modulePath('views-per-user-minute.ts'),
      inputs: [{ stream: 'clicks', file: file('clicks.jsonl') }],
      outputs: [
        { stream: 'views-per-user-minute', file: file('out.jsonl') },
        { stream: 'page-views-per-user-late', file: file('late.jsonl') },
      ],
      seed: 7,
    });

    expect(copies).toBeGreaterThan(100);
    expect(summary.inputRecords).toBe(6_000 + copies);
    expectViewsPerUserMinute(file('clicks.jsonl'), file('out.jsonl'));
    expect(lines(file('late.jsonl'))).toEqual([]);
    for (const { stats } of summary.stages) expect(stats.failedRecords).toBe(0);
    expect(summary.failedBatches).toEqual([]);
    expectFaultsInEveryStage(summary);
  });

  it('a CEP pattern (examples/fraud-alerts.ts) equals the brute-force matcher', async () => {
    await writeTransactionSample(file('transactions.jsonl'), { transactions: 4_000, cards: 50, seed: 31 });
    const summary = await runWithFaults({
      pipeline: fraudAlerts,
      module: modulePath('fraud-alerts.ts'),
      inputs: [{ stream: 'transactions', file: file('transactions.jsonl') }],
      outputs: [
        { stream: 'fraud-alerts', file: file('alerts.jsonl') },
        { stream: 'fraud-alerts-unconfirmed', file: file('unconfirmed.jsonl') },
        { stream: 'fraud-alerts-late', file: file('late.jsonl') },
      ],
      seed: 11,
    });

    expectFraudAlerts(
      {
        transactions: file('transactions.jsonl'),
        alerts: file('alerts.jsonl'),
        unconfirmed: file('unconfirmed.jsonl'),
      },
      20,
    );
    expect(lines(file('late.jsonl'))).toEqual([]);
    for (const { stats } of summary.stages) expect(stats.failedRecords).toBe(0);
    expect(summary.failedBatches).toEqual([]);
    expectFaultsInEveryStage(summary);
  });
});
