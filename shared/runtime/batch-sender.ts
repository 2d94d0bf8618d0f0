import type { DeadLetter, DeadLetterSink } from './io/dead-letter-sink.js';
import type { RecordWriter, RefusedOutput, WriteOutcome } from './io/record-writer.js';
import type { InputRecord, OutputRecord } from './records.js';

/** What one send of a batch's outputs and dead letters did. */
export interface SendOutcome {
  /** Outputs and dead letters' records that could not be written. */
  readonly failed: OutputRecord[];
  /** Kinesis PutRecords calls, and SendMessageBatch calls of a dead-letter queue. */
  readonly requests: number;
  /** Streams whose packs landed in another shard than listed: their shard list is stale. */
  readonly misrouted: readonly string[];
  /** Records written per logical stream, and to the dead-letter queue by its name. */
  readonly written: Record<string, number>;
  /** Outputs their destination refused for good, dead-lettered (docs/sinks.md). */
  readonly refused: number;
}

/** The dead letter of an output its destination refused, from the input record it came from. */
export type RefusalLetter = (refused: RefusedOutput, input: InputRecord) => DeadLetter;

/**
 * Sends a batch's outputs and its dead letters, each through its own door, at once; then the dead
 * letters of the outputs a destination refused for good, so that the stage goes on without them.
 */
export class BatchSender {
  constructor(
    private readonly writer: RecordWriter,
    private readonly deadLetters: DeadLetterSink,
    /** The dead-letter stream's (or queue's) name, for `written`. */
    private readonly deadLetterTo: string,
    private readonly refusalLetter?: RefusalLetter,
  ) {}

  /** @param inputs the batch's input records: a refused output's dead letter names the one it came from. */
  async send(
    outputs: readonly OutputRecord[],
    letters: readonly DeadLetter[],
    deadline: number,
    inputs: readonly InputRecord[] = [],
  ): Promise<SendOutcome> {
    const nothing: WriteOutcome = { failed: [], requests: 0 };
    const [outcome, sent] = await Promise.all([
      outputs.length === 0 ? nothing : this.writer.write(outputs, deadline),
      this.deadLetters.send(letters, deadline),
    ]);
    const refusedLetters = (outcome.refused ?? []).map((refused) => this.#letterOf(refused, inputs));
    const refusals =
      refusedLetters.length === 0 ? { failed: [], requests: 0 } : await this.deadLetters.send(refusedLetters, deadline);
    // A refusal whose letter could not be sent fails its input record: Lambda delivers it again.
    const unsentRefusals = new Set(refusals.failed.map((letter) => letter.output));
    const written = countByStream(outputs, [...outcome.failed, ...(outcome.refused ?? []).map((r) => r.record)]);
    const delivered = letters.length - sent.failed.length + refusedLetters.length - unsentRefusals.size;
    if (delivered > 0) written[this.deadLetterTo] = (written[this.deadLetterTo] ?? 0) + delivered;
    return {
      failed: [...outcome.failed, ...sent.failed.map((letter) => letter.output), ...unsentRefusals],
      requests: outcome.requests + sent.requests + refusals.requests,
      misrouted: outcome.misrouted ?? [],
      written,
      refused: refusedLetters.length,
    };
  }

  #letterOf(refused: RefusedOutput, inputs: readonly InputRecord[]): DeadLetter {
    if (this.refusalLetter === undefined) {
      throw new Error(`an output to '${refused.record.stream}' was refused, and this sender has no dead letter for it`);
    }
    const input = inputs.find((record) => record.position.sequenceNumber === refused.record.origin);
    if (input === undefined) {
      throw new Error(
        `an output to '${refused.record.stream}' was refused, and its input record ${refused.record.origin} is not in the batch`,
      );
    }
    return this.refusalLetter(refused, input);
  }
}

/** Records per logical stream, but for those `unwritten` (usually none: then no copy of the batch is made). */
function countByStream(records: readonly OutputRecord[], unwritten: readonly OutputRecord[]): Record<string, number> {
  const counts: Record<string, number> = {};
  const skipped = new Set(unwritten);
  // Counted a run of one stream's records at a time: a batch's outputs mostly go to one stream, and
  // a lookup by name per record was 2% of a pass-through stage. Streams still appear in
  // `counts` in the order of their first record.
  let stream: string | undefined;
  let run = 0;
  for (const record of records) {
    if (skipped.size > 0 && skipped.has(record)) continue;
    if (record.stream === stream) {
      run += 1;
      continue;
    }
    if (stream !== undefined) counts[stream] = (counts[stream] ?? 0) + run;
    stream = record.stream;
    run = 1;
  }
  if (stream !== undefined) counts[stream] = (counts[stream] ?? 0) + run;
  return counts;
}
