import { pipeline } from 'eddy';
import { bids, nexmarkEvents } from './source.js';

/**
 * Nexmark query 1, currency conversion: every bid with its price from dollars to euros, as Beam's
 * Query1 computes it, `price * 89 / 100` in integer arithmetic. (nexmark/nexmark's Flink SQL uses
 * `0.908 * price` as a decimal; Beam's is the reference here.)
 *
 *   eddy run examples/nexmark/q1.ts -i nexmark-events=nexmark.jsonl -o nexmark-q1=q1.jsonl
 */
export const toEuros = (price: number): number => Math.floor((price * 89) / 100);

const p = pipeline('nexmark-q1');
bids(nexmarkEvents(p))
  .map((bid) => ({ ...bid, price: toEuros(bid.price) }), { name: 'to-euros' })
  .sink('nexmark-q1');
export default p;
