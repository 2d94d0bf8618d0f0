import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { writeClickSample } from '../../examples/data/click-generator.js';
import { writeTransactionSample } from '../../examples/data/transaction-generator.js';
import fraudAlerts from '../../examples/fraud-alerts.js';
import viewsPerUserMinute from '../../examples/views-per-user-minute.js';
import { type RunSummary, runPipelineOnFiles, type StreamFile } from '../../local/runner/run-files.js';
import type { Pipeline } from '../../shared/index.js';
import { expectFraudAlerts, expectViewsPerUserMinute, lines } from '../helpers/process-check.js';

const modulePath = (example: string) => fileURLToPath(new URL(`../../examples/${example}`, import.meta.url));

/**
 * Every invocation runs in a child process (a Lambda execution environment). Two faults at once:
 * workers SIGKILLed after a random number of their AWS requests (some state, timer and output writes
 * done, others not: a crash mid-commit), and invocations that finished but "crash" before Lambda
 * checkpoints. The mapping retries each failed batch and, with bisect on (the default), splits it:
 * the same records reach the stage again in other batches. The run's deadline is its stall watch
 * (EDDY_STALL_LIMIT_SECONDS): it fails when nothing moves, not after a fixed time.
 */
async function runWithFaults(
  pipeline: Pipeline,
  example: string,
  inputs: StreamFile[],
  outputs: StreamFile[],
  seed: number,
): Promise<RunSummary> {
  const summary = await runPipelineOnFiles({
    pipeline,
    pipelineModule: modulePath(example),
    sandboxes: 'worker',
    killWorkers: { rate: 0.15, seed, atLeast: 3 },
    crashAfterBatchRate: 0.2,
    crashFirstBatches: 1,
    faultSeed: seed,
    inputs,
    outputs,
  });
  const faults = summary.stages
    .map((s) => `${s.stage.id}: ${s.stats.sandboxKills} killed, ${s.stats.functionErrors} failed invocations`)
    .join('; ');
  console.log(`${example}: ${summary.inputRecords} records in ${(summary.elapsedMs / 1000).toFixed(1)} s; ${faults}`);
  return summary;
}

/** Faults really happened in every stage: workers killed mid-batch, invocations failed and retried. */
function expectFaultsInEveryStage(summary: RunSummary): void {
  expect(summary.stages.length).toBeGreaterThan(1);
  for (const { stage, stats } of summary.stages) {
    expect(stats.sandboxKills, stage.id).toBeGreaterThanOrEqual(1);
    expect(stats.functionErrors, stage.id).toBeGreaterThan(stats.sandboxKills);
  }
}

describe('eddy run under worker kills mid-commit, crashes after the batch, retries and bisects', () => {
  const dir = mkdtempSync(join(tmpdir(), 'eddy-process-faults-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string) => join(dir, name);

  it('a keyed process function (examples/views-per-user-minute.ts) equals the sequential per-key count', async () => {
    // Disordered by up to 5 s, under the example's 10 s bound: nothing is late.
    await writeClickSample(file('clicks.jsonl'), { events: 6_000, seed: 31, users: 150 });
    const summary = await runWithFaults(
      viewsPerUserMinute,
      'views-per-user-minute.ts',
      [{ stream: 'clicks', file: file('clicks.jsonl') }],
      [
        { stream: 'views-per-user-minute', file: file('out.jsonl') },
        { stream: 'page-views-per-user-late', file: file('late.jsonl') },
      ],
      7,
    );

    expectViewsPerUserMinute(file('clicks.jsonl'), file('out.jsonl'));
    expect(lines(file('late.jsonl'))).toEqual([]);
    for (const { stats } of summary.stages) expect(stats.failedRecords).toBe(0);
    expect(summary.failedBatches).toEqual([]);
    expectFaultsInEveryStage(summary);
  });

  it('a CEP pattern (examples/fraud-alerts.ts) equals the brute-force matcher', async () => {
    await writeTransactionSample(file('transactions.jsonl'), { transactions: 4_000, cards: 50, seed: 31 });
    const summary = await runWithFaults(
      fraudAlerts,
      'fraud-alerts.ts',
      [{ stream: 'transactions', file: file('transactions.jsonl') }],
      [
        { stream: 'fraud-alerts', file: file('alerts.jsonl') },
        { stream: 'fraud-alerts-unconfirmed', file: file('unconfirmed.jsonl') },
        { stream: 'fraud-alerts-late', file: file('late.jsonl') },
      ],
      11,
    );

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
