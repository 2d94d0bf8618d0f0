import type { StageStatus } from '../local/runner/local-pipeline.js';
import type { RunProgress } from '../local/runner/run-files.js';

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

/** Where the progress goes: stderr, or a test's stand-in. */
export interface ProgressOutput {
  readonly isTTY?: boolean;
  write(text: string): unknown;
}

export interface ProgressViewOptions {
  /** The command, first on the line: `eddy run`. */
  readonly label: string;
  /** Source records the run will process, counted from its input files before feeding; unknown for a replay. */
  readonly total: number | undefined;
  readonly output: ProgressOutput;
  /** Without a terminal, one line this often at most. @default 5000 */
  readonly plainEveryMs?: number;
  readonly now?: () => number;
}

function duration(ms: number): string {
  const seconds = Math.ceil(ms / 1000);
  return seconds < 60 ? `${seconds} s` : `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
}

/** How far back the rate looks: the run's recent pace, not its start-up, makes the ETA. */
const RATE_WINDOW_MS = 10_000;

/**
 * One line of progress. While the source stages work: processed of the total, the rate (records a
 * second) and an ETA at that rate.
 * Once they have taken in every record, the later stages' drain: the records each still holds (read,
 * not checkpointed) and how far it trails its input.
 */
export function progressLine(label: string, progress: RunProgress, total: number | undefined, rate: number): string {
  const processed =
    total === undefined ? progress.sourceRecordsProcessed : Math.min(progress.sourceRecordsProcessed, total);
  const parts: string[] = [];
  if (total === undefined) parts.push(`${integer.format(processed)} source records`);
  else {
    const percent = total === 0 ? 100 : Math.floor((processed / total) * 100);
    parts.push(`${integer.format(processed)}/${integer.format(total)} source records (${percent}%)`);
  }
  parts.push(`${integer.format(rate)} rec/s`);
  const sourcesDone = total !== undefined && processed >= total;
  if (!sourcesDone) {
    if (total !== undefined && rate > 0) parts.push(`ETA ${duration(((total - processed) / rate) * 1000)}`);
    parts.push(`fed ${integer.format(progress.fed)}`);
  } else {
    const behind = progress.stages.flatMap((s) => {
      const unread = unreadRecords(progress.stages, s);
      if (unread === 0 && s.lag.pendingRecords === 0) return [];
      return [
        `${s.stage.id} ${integer.format(unread)} to read, ${integer.format(s.lag.pendingRecords)} in flight, ` +
          `${(s.lag.iteratorAgeMs / 1000).toFixed(1)} s behind`,
      ];
    });
    parts.push(
      behind.length === 0
        ? 'draining: nothing left to read; finishing (last checkpoints, outputs, summary)'
        : `draining: ${behind.join('; ')}`,
    );
  }
  return `${label}: ${parts.join(' | ')}`;
}

/**
 * Records the stages before `stage` emitted that it has not taken in yet: what they put out (envelopes
 * and values, before packing) less what it decoded. An estimate: a redelivered batch counts twice on
 * both sides, and a stage that also writes a sink counts those records as well.
 */
function unreadRecords(stages: readonly StageStatus[], stage: StageStatus): number {
  const emitted = stages
    .filter((producer) => producer.stage.outputs.includes(stage.stage.input))
    .reduce((sum, producer) => sum + producer.stats.recordsOut, 0);
  return Math.max(0, emitted - stage.stats.recordsIn);
}

/**
 * The progress of a run on stderr: redrawn in place on a terminal; without one (CI logs), a plain
 * line every few seconds and one at the end, not a line per redraw.
 */
export class ProgressView {
  readonly #options: ProgressViewOptions;
  readonly #now: () => number;
  /** Recent (time, records processed) samples, oldest first, for the rate. */
  readonly #samples: { at: number; processed: number }[] = [];
  #lastPlain = Number.NEGATIVE_INFINITY;
  #latest: string | undefined;
  #printed: string | undefined;

  constructor(options: ProgressViewOptions) {
    this.#options = options;
    this.#now = options.now ?? (() => performance.now());
    this.#samples.push({ at: this.#now(), processed: 0 });
  }

  #rate(now: number, processed: number): number {
    this.#samples.push({ at: now, processed });
    while (this.#samples.length > 2 && now - (this.#samples[1]?.at ?? now) >= RATE_WINDOW_MS) this.#samples.shift();
    const oldest = this.#samples[0] ?? { at: now, processed };
    return now > oldest.at ? ((processed - oldest.processed) / (now - oldest.at)) * 1000 : 0;
  }

  update(progress: RunProgress): void {
    const now = this.#now();
    const rate = this.#rate(now, progress.sourceRecordsProcessed);
    this.#latest = progressLine(this.#options.label, progress, this.#options.total, rate);
    if (this.#options.output.isTTY === true) {
      this.#options.output.write(`\r\x1b[2K${this.#latest}`);
      return;
    }
    if (now - this.#lastPlain >= (this.#options.plainEveryMs ?? 5000)) this.#plain(now);
  }

  /** Ends the line on a terminal; elsewhere prints the latest progress unless it was the last line printed. */
  stop(): void {
    if (this.#options.output.isTTY === true) {
      if (this.#latest !== undefined) this.#options.output.write('\n');
      return;
    }
    if (this.#latest !== this.#printed) this.#plain(this.#now());
  }

  #plain(now: number): void {
    if (this.#latest === undefined) return;
    this.#options.output.write(`${this.#latest}\n`);
    this.#printed = this.#latest;
    this.#lastPlain = now;
  }
}
