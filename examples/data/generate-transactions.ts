/**
 * Writes card transactions as JSON lines, for `eddy run examples/fraud-alerts.ts`:
 *
 *   npx tsx examples/data/generate-transactions.ts --transactions 20000 [--seed 21] [--out transactions.jsonl]
 */
import { parseArgs } from 'node:util';
import { writeTransactionSample } from './transaction-generator.js';

const { values } = parseArgs({
  options: {
    transactions: { type: 'string', default: '20000' },
    seed: { type: 'string', default: '21' },
    out: { type: 'string', default: 'transactions.jsonl' },
  },
});
const file = values.out ?? 'transactions.jsonl';
await writeTransactionSample(file, { transactions: Number(values.transactions), seed: Number(values.seed) });
console.log(`wrote ${values.transactions} transactions to ${file}`);
