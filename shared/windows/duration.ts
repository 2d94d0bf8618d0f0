import { PipelineDefinitionError } from '../dag/errors.js';
import type { Duration } from './types.js';

const unitMs = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
type Unit = keyof typeof unitMs;

// No sign, exponent or whitespace: '5s' and '1.5h' yes, '-5s', '1e3ms' and ' 5s' are more likely typos than intent.
const durationText = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;

/**
 * Parses a {@link Duration} into milliseconds: '500ms', '5s', '1.5m', '1h', '1d' or a non-negative
 * finite number of milliseconds.
 *
 * The DSL takes durations as text because `'30s'` reads better than `30000`; parsing happens once,
 * when the pipeline is defined, so a typo fails the build with the option's name (`label`) rather than
 * a Lambda at run time.
 *
 * @throws {PipelineDefinitionError} naming `label` and the value, when `d` is not a duration.
 */
export function parseDuration(d: Duration, label: string): number {
  if (typeof d === 'number') {
    if (Number.isFinite(d) && d >= 0) return d;
  } else if (typeof d === 'string') {
    const match = durationText.exec(d);
    if (match !== null) {
      const ms = Number(match[1]) * unitMs[match[2] as Unit];
      // '1.1s' is 1100.0000000000002 in binary floating point; nobody meant the tail.
      const rounded = Math.round(ms);
      if (Number.isFinite(ms)) return Math.abs(ms - rounded) < 1e-6 ? rounded : ms;
    }
  }
  throw new PipelineDefinitionError(
    `${label} ${describeValue(d)} is not a duration: use a number of milliseconds or '500ms', '5s', '1m', '1h', '1d'`,
  );
}

/** Shows a user's value in an error message: strings quoted, so `'5x'` and `5` read differently. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return `'${value}'`;
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  if (value === undefined) return 'undefined';
  if (typeof value === 'function' || typeof value === 'symbol') return `a ${typeof value}`;
  try {
    const json = JSON.stringify(value);
    return json.length > 80 ? `${json.slice(0, 77)}...` : json;
  } catch {
    return `a ${typeof value}`;
  }
}
