/**
 * Writes a sample of click events as JSON lines, for `eddy run`:
 *
 *   npx tsx examples/data/generate-clicks.ts --events 100000 --out clicks.jsonl [--seed 42] [--bad-line-rate 0.001]
 */
import { parseArgs } from 'node:util';
import { writeClickSample } from './click-generator.js';

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '100000' },
    out: { type: 'string', default: 'clicks.jsonl' },
    seed: { type: 'string', default: '42' },
    'bad-line-rate': { type: 'string', default: '0.001' },
  },
});
const file = values.out ?? 'clicks.jsonl';
await writeClickSample(file, {
  events: Number(values.events),
  seed: Number(values.seed),
  badLineRate: Number(values['bad-line-rate']),
});
console.log(`wrote ${values.events} click events to ${file}`);
