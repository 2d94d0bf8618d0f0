import { FRAUD_WITHIN_MS, smallThenLarge, type Transaction } from '../../examples/fraud-alerts.js';
import type { Pattern, PatternMatch } from '../../shared/index.js';
import { referenceMatch } from '../helpers/cep-reference.js';

/** How a match or timed-out partial match is compared: its card and its events. */
export const showMatch = (m: PatternMatch<Transaction>): string => `${m.key}|${JSON.stringify(m.events)}`;

/** examples/fraud-alerts.ts by brute force: per card, the matches and the timed-out small charges. */
export function expectedFraudAlerts(lines: readonly string[]): { matches: string[]; timedOut: string[] } {
  const byCard = new Map<string, Transaction[]>();
  for (const line of lines) {
    const t = JSON.parse(line) as Transaction;
    byCard.set(t.card, [...(byCard.get(t.card) ?? []), t]);
  }
  const matches: string[] = [];
  const timedOut: string[] = [];
  for (const [card, events] of byCard) {
    const result = referenceMatch(
      smallThenLarge as Pattern<never>,
      FRAUD_WITHIN_MS,
      events.map((v) => ({ t: v.ts, v })),
    );
    matches.push(...result.matches.map((m) => `${card}|${m}`));
    timedOut.push(...result.timedOut.map((m) => `${card}|${m}`));
  }
  return { matches: matches.sort(), timedOut: timedOut.sort() };
}
