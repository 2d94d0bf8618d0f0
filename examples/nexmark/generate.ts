/**
 * Writes Nexmark events as JSON lines, the input of every examples/nexmark query.
 *
 *   npx tsx examples/nexmark/generate.ts --events 100000 --seed 1 --out nexmark.jsonl
 *   npx eddy run examples/nexmark/q5.ts --input nexmark-events=nexmark.jsonl --output nexmark-q5=q5.jsonl
 *
 * Seed 0 gives Beam's own events; --rate is events per second of event time (Beam's firstEventRate).
 */
import { parseArgs } from 'node:util';
import { DEFAULT_GENERATOR_OPTIONS } from './config.js';
import { writeEvents } from './generator.js';

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: String(DEFAULT_GENERATOR_OPTIONS.numEvents) },
    seed: { type: 'string', default: '0' },
    out: { type: 'string', default: 'nexmark.jsonl' },
    rate: { type: 'string', default: String(DEFAULT_GENERATOR_OPTIONS.firstEventRate) },
    generators: { type: 'string', default: String(DEFAULT_GENERATOR_OPTIONS.numEventGenerators) },
    'out-of-order-group': { type: 'string', default: String(DEFAULT_GENERATOR_OPTIONS.outOfOrderGroupSize) },
  },
});

const integer = (name: string, text: string | undefined): number => {
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new Error(`--${name} must be an integer, got ${text}`);
  return n;
};

const counts = await writeEvents(values.out, {
  numEvents: integer('events', values.events),
  seed: integer('seed', values.seed),
  firstEventRate: integer('rate', values.rate),
  numEventGenerators: integer('generators', values.generators),
  outOfOrderGroupSize: integer('out-of-order-group', values['out-of-order-group']),
});
console.log(
  `${values.out}: ${counts.events} events (${counts.persons} persons, ${counts.auctions} auctions, ${counts.bids} bids)`,
);
