import { seededRandom } from '../../shared/util/random.js';
import { writeLines } from './write-lines.js';

export { seededRandom };

export interface ClickSampleOptions {
  readonly events: number;
  readonly seed?: number;
  readonly users?: number;
  readonly pages?: number;
  /** Event time of the first click, epoch ms. @default 2026-01-01T00:00:00Z */
  readonly startTime?: number;
  /** Clicks are out of order by up to this much event time. @default 5000 */
  readonly maxDisorderMs?: number;
  /** Share of lines that are broken (bad JSON or a wrong field type), to show dead-lettering. @default 0 */
  readonly badLineRate?: number;
}

const KINDS = ['view', 'view', 'view', 'click', 'scroll'] as const;

/**
 * Generates click events as JSON lines: Zipf-like popularity of pages (a few hot pages), event times
 * advancing about 10 ms per event with random disorder, and optionally some broken lines.
 */
export function* generateClickLines(options: ClickSampleOptions): Generator<string> {
  const random = seededRandom(options.seed ?? 42);
  const users = options.users ?? 500;
  const pages = options.pages ?? 50;
  const start = options.startTime ?? Date.UTC(2026, 0, 1);
  const disorder = options.maxDisorderMs ?? 5000;
  const badRate = options.badLineRate ?? 0;
  for (let i = 0; i < options.events; i += 1) {
    const ts = start + i * 10 - Math.floor(random() * disorder);
    // Skewed popularity: squaring the uniform draw makes low page numbers hot.
    const page = `/page/${Math.floor(random() ** 2 * pages)}`;
    const user = `user-${Math.floor(random() * users)}`;
    const kind = KINDS[Math.floor(random() * KINDS.length)] ?? 'view';
    const bad = random() < badRate;
    if (bad && random() < 0.5) yield `{"user":"${user}","page":"${page}","kind":"${kind}","ts":${ts}`;
    else if (bad) yield JSON.stringify({ user, page, kind, ts: new Date(ts).toISOString() });
    else yield JSON.stringify({ user, page, kind, ts });
  }
}

export async function writeClickSample(file: string, options: ClickSampleOptions): Promise<void> {
  await writeLines(file, generateClickLines(options));
}
