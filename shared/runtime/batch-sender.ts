import type { DeadLetter, DeadLetterSink } from './io/dead-letter-sink.js';
import type { RecordWriter, WriteOutcome } from './io/record-writer.js';
import type { OutputRecord } from './records.js';

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
}

/** Sends a batch's outputs and its dead letters, each through its own door, at once. */
export class BatchSender {
  constructor(
    private readonly writer: RecordWriter,
    private readonly deadLetters: DeadLetterSink,
    /** The dead-letter stream's (or queue's) name, for `written`. */
    private readonly deadLetterTo: string,
  ) {}

  async send(outputs: readonly OutputRecord[], letters: readonly DeadLetter[], deadline: number): Promise<SendOutcome> {
    const nothing: WriteOutcome = { failed: [], requests: 0 };
    const [outcome, sent] = await Promise.all([
      outputs.length === 0 ? nothing : this.writer.write(outputs, deadline),
      this.deadLetters.send(letters, deadline),
    ]);
    const failed = new Set(outcome.failed);
    const written = countByStream(outputs.filter((record) => !failed.has(record)));
    const delivered = letters.length - sent.failed.length;
    if (delivered > 0) written[this.deadLetterTo] = (written[this.deadLetterTo] ?? 0) + delivered;
    return {
      failed: [...outcome.failed, ...sent.failed.map((letter) => letter.output)],
      requests: outcome.requests + sent.requests,
      misrouted: outcome.misrouted ?? [],
      written,
    };
  }
}

/** Records per logical stream. */
function countByStream(records: readonly OutputRecord[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const record of records) counts[record.stream] = (counts[record.stream] ?? 0) + 1;
  return counts;
}
