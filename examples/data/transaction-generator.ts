import { seededRandom } from '../../shared/util/random.js';
import { writeLines } from './write-lines.js';

export interface TransactionSampleOptions {
  readonly transactions: number;
  readonly seed?: number;
  readonly cards?: number;
  /** Event time of the first transaction, epoch ms. @default 2026-01-01T00:00:00Z */
  readonly startTime?: number;
  /** Transactions are out of order by up to this much event time. @default 5000 */
  readonly maxDisorderMs?: number;
}

/**
 * Card transactions as JSON lines, in arrival order: one every second of event time on a random
 * card, so a card sees one every few minutes; about one in eight is a small test charge (under 1)
 * and one in eight a large one (500 or more), the shapes the fraud pattern looks for.
 */
export function* generateTransactionLines(options: TransactionSampleOptions): Generator<string> {
  const random = seededRandom(options.seed ?? 21);
  const cards = options.cards ?? 200;
  const start = options.startTime ?? Date.UTC(2026, 0, 1);
  const disorder = options.maxDisorderMs ?? 5000;
  for (let i = 0; i < options.transactions; i += 1) {
    const ts = start + i * 1000 - Math.floor(random() * disorder);
    const card = `card-${Math.floor(random() * cards)}`;
    const draw = random();
    const amount =
      draw < 0.125
        ? Math.round(random() * 99) / 100
        : draw < 0.25
          ? 500 + Math.floor(random() * 1500)
          : 1 + Math.floor(random() * 499);
    yield JSON.stringify({ id: `t${i}`, card, amount, ts });
  }
}

export async function writeTransactionSample(file: string, options: TransactionSampleOptions): Promise<void> {
  await writeLines(file, generateTransactionLines(options));
}
