import { begin, pipeline } from 'eddy';
import * as z from 'zod';

export const Transaction = z.object({ id: z.string(), card: z.string(), amount: z.number(), ts: z.number() });
export type Transaction = z.infer<typeof Transaction>;

/** A small test charge, then a large one on the same card within ten minutes: a CEP pattern. */
export const smallThenLarge = begin<Transaction>('small', (t) => t.amount < 1).followedBy(
  'large',
  (t) => t.amount >= 500,
);
export const FRAUD_WITHIN_MS = 10 * 60_000;

/**
 * Per card, in event-time order: each small charge followed by a large one within ten minutes is an
 * alert `{ key, events: { small: [t], large: [t] } }`; a small charge with no large one in time goes
 * to `fraud-alerts-unconfirmed`, transactions behind the watermark to `fraud-alerts-late`.
 */
export default pipeline('fraud-alerts')
  .source('transactions', { schema: Transaction, eventTime: (t) => t.ts, maxOutOfOrderness: '10s' })
  .keyBy((t) => t.card)
  .pattern(smallThenLarge, {
    within: FRAUD_WITHIN_MS,
    name: 'small-then-large',
    streams: { 'timed-out': 'fraud-alerts-unconfirmed', late: 'fraud-alerts-late' },
  })
  .sink('fraud-alerts');
