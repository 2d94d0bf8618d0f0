import { expect } from 'vitest';
import type { RunCheck } from '../reference/orders-payments.js';

/**
 * A run of examples/orders-payments.ts equals the nested-loop join over the records that were not
 * late, and only late records were late (checkOrdersPaymentsRun's findings).
 */
export function expectExactJoin(check: RunCheck): void {
  // Results are at least once with a deterministic identity: a repeat must be the same row.
  expect(check.conflicts).toBe(0);
  expect({ missing: check.missing.slice(0, 10), extra: check.extra.slice(0, 10) }).toEqual({
    missing: [],
    extra: [],
  });
  expect(check.emitted.size).toBe(check.expected.size);
  expect(check.unjustifiedLate).toBe(0);
}
