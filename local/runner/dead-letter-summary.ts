import { DeadLetterReasons } from '../../shared/operators/record-errors.js';
import type { DeadLetterEnvelope } from '../../shared/runtime/dead-letter.js';
import type { LineOrigin } from './input-feeder.js';
import type { ArrivedDeadLetter } from './local-pipeline.js';

/**
 * Dead letters a run's summary keeps, with their input lines: enough to print and to test, bounded
 * however many records a run dead-letters (an `--output` of the dead-letter stream has every one).
 */
export const deadLetterSampleSize = 1000;

export interface DeadLetterSample {
  /** The first `deadLetterSampleSize` letters that passed `keep`, with their origin when known. */
  readonly deadLetters: { readonly envelope: DeadLetterEnvelope; readonly origin?: LineOrigin }[];
  /** Every letter that passed `keep`. */
  readonly deadLetterCount: number;
  /**
   * Those of them that are late records (`lateRecords: 'dead-letter'`), not bad ones: the stage
   * tables count them late, so the totals must not call them dead-lettered.
   */
  readonly lateDeadLetterCount: number;
}

/** Counts dead letters page by page and keeps the first few, looking up only their origins. */
export async function sampleDeadLetters(
  pages: AsyncIterable<readonly ArrivedDeadLetter[]>,
  originOf: (envelope: DeadLetterEnvelope) => Promise<LineOrigin | undefined> = async () => undefined,
  keep: (letter: ArrivedDeadLetter) => boolean = () => true,
): Promise<DeadLetterSample> {
  const deadLetters: DeadLetterSample['deadLetters'] = [];
  let deadLetterCount = 0;
  let lateDeadLetterCount = 0;
  for await (const page of pages) {
    for (const letter of page) {
      if (!keep(letter)) continue;
      deadLetterCount += 1;
      if (letter.envelope.error.reason === DeadLetterReasons.late) lateDeadLetterCount += 1;
      if (deadLetters.length >= deadLetterSampleSize) continue;
      const origin = await originOf(letter.envelope);
      deadLetters.push(origin === undefined ? { envelope: letter.envelope } : { envelope: letter.envelope, origin });
    }
  }
  return { deadLetters, deadLetterCount, lateDeadLetterCount };
}

/** Dead letters as records whose data is their envelope's JSON (the dead-letter stream's records), page by page. */
export async function* envelopeRecords(
  pages: AsyncIterable<readonly ArrivedDeadLetter[]>,
): AsyncGenerator<{ data: Buffer }[]> {
  for await (const page of pages) yield page.map(({ envelope }) => ({ data: Buffer.from(JSON.stringify(envelope)) }));
}
