import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import type { UserMinute } from '../../examples/views-per-user-minute.js';
import { expectedFraudAlerts, showMatch } from '../reference/fraud-alerts.js';
import { views } from '../reference/windows.js';

/** The non-empty lines of a file `eddy run` wrote. */
export const lines = (file: string): string[] =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line !== '');

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
