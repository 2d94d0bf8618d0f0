import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import type { UserMinute } from '../../examples/views-per-user-minute.js';
import { type RunSummary, runPipelineOnFiles, type StreamFile } from '../../local/runner/run-files.js';
import type { Pipeline } from '../../shared/index.js';
import { expectedFraudAlerts, showMatch } from '../reference/fraud-alerts.js';
import { views } from '../reference/windows.js';

/** The non-empty lines of a file `eddy run` wrote. */
export const lines = (file: string): string[] =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line !== '');

/**
 * `eddy run` with every invocation in a child process (a Lambda execution environment) and two
 * faults at once: workers SIGKILLed after a random number of their AWS requests (some state, timer
 * and output writes done, others not: a crash mid-commit), and invocations that finished but "crash"
 * before Lambda checkpoints. The mapping retries each failed batch and, with bisect on (the default),
 * splits it: the same records reach the stage again in other batches. The run's deadline is its stall
 * watch (EDDY_STALL_LIMIT_SECONDS): it fails when nothing moves, not after a fixed time. Logs the
 * records and the faults per stage.
 */
export async function runWithFaults(run: {
  readonly pipeline: Pipeline;
  /** The file that default-exports `pipeline`, for the workers to load. */
  readonly module: string;
  readonly inputs: StreamFile[];
  readonly outputs: StreamFile[];
  readonly seed: number;
}): Promise<RunSummary> {
  const summary = await runPipelineOnFiles({
    pipeline: run.pipeline,
    pipelineModule: run.module,
    sandboxes: 'worker',
    killWorkers: { rate: 0.15, seed: run.seed, atLeast: 3 },
    crashAfterBatchRate: 0.2,
    crashFirstBatches: 1,
    faultSeed: run.seed,
    inputs: run.inputs,
    outputs: run.outputs,
  });
  // Failures beyond the injected ones (kills, crashes after the batch) are timeouts or environments
  // that did not start in time, as on a loaded machine: the last error and the discarded batches say so.
  const faults = summary.stages
    .map(
      (s) =>
        `${s.stage.id}: ${s.stats.invocations} invocations, ${s.stats.sandboxKills} killed, ` +
        `${s.stats.sandboxExits} exited, ${s.stats.functionErrors} failed, ${s.bisects} bisects` +
        (s.stats.lastError === undefined ? '' : ` (last error: ${s.stats.lastError})`),
    )
    .join('; ');
  console.log(
    `${summary.pipeline}: ${summary.inputRecords} records in ${(summary.elapsedMs / 1000).toFixed(1)} s, ` +
      `${summary.failedBatches.length} batches discarded; ${faults}`,
  );
  return summary;
}

/**
 * Faults really happened in every stage: workers killed mid-batch, invocations failed and retried,
 * failed batches bisected.
 */
export function expectFaultsInEveryStage(summary: RunSummary): void {
  expect(summary.stages.length).toBeGreaterThan(1);
  for (const { stage, stats, bisects } of summary.stages) {
    expect(stats.sandboxKills, stage.id).toBeGreaterThanOrEqual(1);
    expect(stats.functionErrors, stage.id).toBeGreaterThan(stats.sandboxKills);
    expect(bisects, stage.id).toBeGreaterThanOrEqual(1);
  }
}

/**
 * examples/views-per-user-minute.ts's output equals a sequential per-key count over its input: each
 * user and minute once, or repeated (a retried batch) only with the same count.
 */
export function expectViewsPerUserMinute(clicksFile: string, outputFile: string): void {
  const expected = new Map<string, number>();
  for (const view of views(clicksFile)) {
    const name = `${view.user}|${Math.floor(view.ts / 60_000) * 60_000}`;
    expected.set(name, (expected.get(name) ?? 0) + 1);
  }
  const actual = new Map<string, number>();
  for (const line of lines(outputFile)) {
    const result = JSON.parse(line) as UserMinute;
    const name = `${result.user}|${result.minute}`;
    expect(actual.get(name) ?? result.views, name).toBe(result.views);
    actual.set(name, result.views);
  }
  expect(actual).toEqual(expected);
  expect(expected.size).toBeGreaterThan(100);
}

/**
 * examples/fraud-alerts.ts's matches and timed-out partial matches equal the brute-force matcher's.
 * A match shows its card and all its events, so a repeat (a retried batch) is the same match: exact
 * as a set. Each kind must be at least `atLeast` strong, so the comparison means something.
 */
export function expectFraudAlerts(
  files: { transactions: string; alerts: string; unconfirmed: string },
  atLeast: number,
): void {
  const expected = expectedFraudAlerts(lines(files.transactions));
  const alerts = lines(files.alerts).map((l) => showMatch(JSON.parse(l)));
  const unconfirmed = lines(files.unconfirmed).map((l) => showMatch(JSON.parse(l).value));
  expect([...new Set(alerts)].sort()).toEqual(expected.matches);
  expect([...new Set(unconfirmed)].sort()).toEqual(expected.timedOut);
  expect(expected.matches.length).toBeGreaterThan(atLeast);
  expect(expected.timedOut.length).toBeGreaterThan(atLeast);
}
