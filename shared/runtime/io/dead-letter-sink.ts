import type { DeadLetterEnvelope } from '../dead-letter.js';
import type { OutputRecord } from '../records.js';
import type { RecordWriter } from './record-writer.js';

/** One dead letter of a batch: its envelope, and the record the dead-letter stream would hold. */
export interface DeadLetter {
  readonly envelope: DeadLetterEnvelope;
  /** The envelope as a stream record; `origin` is the failed input record's sequence number. */
  readonly output: OutputRecord;
}

/** The dead letters that could not be sent in the time given. */
export interface DeadLetterOutcome {
  readonly failed: readonly DeadLetter[];
  /** Calls made (PutRecords, SendMessageBatch), for metrics. */
  readonly requests: number;
}

/**
 * Where a stage's dead letters go (docs/reliability.md, "Dead letters"): the pipeline's dead-letter
 * stream ({@link StreamDeadLetterSink}), an SQS queue (`SqsDeadLetterSink`), or a list in the local
 * stack and in tests ({@link MemoryDeadLetterSink}). A letter reported failed fails its input record
 * as a PutRecords partial failure does: Lambda delivers it again.
 */
export interface DeadLetterSink {
  /** Resolves when every letter is sent, or `deadline` (epoch ms) leaves no time to retry the rest. */
  send(letters: readonly DeadLetter[], deadline: number): Promise<DeadLetterOutcome>;
}

/** The dead-letter stream, written through the stage's RecordWriter (PutRecords). */
export class StreamDeadLetterSink implements DeadLetterSink {
  constructor(readonly writer: RecordWriter) {}

  async send(letters: readonly DeadLetter[], deadline: number): Promise<DeadLetterOutcome> {
    if (letters.length === 0) return { failed: [], requests: 0 };
    const outcome = await this.writer.write(
      letters.map((letter) => letter.output),
      deadline,
    );
    const failed = new Set(outcome.failed);
    return { failed: letters.filter((letter) => failed.has(letter.output)), requests: outcome.requests };
  }
}

/**
 * Keeps the envelopes in memory: the local stand-in for a dead-letter queue (there is no SQS
 * emulator among the local stack's dependencies), and a sink for tests.
 */
export class MemoryDeadLetterSink implements DeadLetterSink {
  readonly letters: DeadLetterEnvelope[] = [];

  async send(letters: readonly DeadLetter[]): Promise<DeadLetterOutcome> {
    for (const letter of letters) this.letters.push(letter.envelope);
    return { failed: [], requests: letters.length === 0 ? 0 : 1 };
  }
}
