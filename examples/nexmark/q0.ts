import { pipeline } from 'eddy';
import { nexmarkEvents } from './source.js';

/**
 * Nexmark query 0, pass-through: every event, unchanged. What it costs to read, validate and write
 * the stream, the floor under every other query.
 *
 *   eddy run examples/nexmark/q0.ts -i nexmark-events=nexmark.jsonl -o nexmark-q0=q0.jsonl
 */
const p = pipeline('nexmark-q0');
nexmarkEvents(p).sink('nexmark-q0');
export default p;
