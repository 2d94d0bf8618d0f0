import { FRAUD_WITHIN_MS, smallThenLarge, type Transaction } from '../../examples/fraud-alerts.js';
import type { PatternMatch } from '../../shared/index.js';
import { referenceMatchByKey } from '../helpers/cep-reference.js';

/** How a match or timed-out partial match is compared: its card and its events. */
export const showMatch = (m: PatternMatch<Transaction>): string => `${m.key}|${JSON.stringify(m.events)}`;

/** examples/fraud-alerts.ts by brute force: per card, the matches and the timed-out small charges. */
export function expectedFraudAlerts(lines: readonly string[]): { matches: string[]; timedOut: string[] } {
  const transactions = lines.map((line) => JSON.parse(line) as Transaction);
  return referenceMatchByKey(
    smallThenLarge,
    FRAUD_WITHIN_MS,
    transactions,
    (t) => t.card,
    (t) => t.ts,
  );
}
