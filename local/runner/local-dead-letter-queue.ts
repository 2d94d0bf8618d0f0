import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { DeadLetterEnvelope } from '../../shared/runtime/dead-letter.js';
import type { DeadLetter, DeadLetterOutcome, DeadLetterSink } from '../../shared/runtime/io/dead-letter-sink.js';

/**
 * The local stand-in for a pipeline's dead-letter SQS queue (`deadLetter: { queue: true }`): there is
 * no SQS emulator among the local stack's dependencies, so the stages' handlers get this in-process
 * DeadLetterSink in place of `SqsDeadLetterSink`. It keeps the envelopes in arrival order, in memory,
 * and with a data folder also in a JSON-lines file there (`dead-letter-queues/<queue>.jsonl`), which
 * a later run on the same folder starts from, as a queue outlives its consumers. It never fails a
 * send: SQS partial failures are covered by SqsDeadLetterSink's unit tests, not locally.
 */
export class LocalDeadLetterQueue implements DeadLetterSink {
  readonly #letters: DeadLetterEnvelope[] = [];

  constructor(
    /** The queue's physical name. */
    readonly name: string,
    /** A JSON-lines file that keeps the messages across runs. @default none: in memory only */
    readonly file?: string,
  ) {
    if (file !== undefined && existsSync(file)) {
      for (const line of readFileSync(file, 'utf8').split('\n')) {
        if (line.trim() !== '') this.#letters.push(JSON.parse(line) as DeadLetterEnvelope);
      }
    }
  }

  async send(letters: readonly DeadLetter[]): Promise<DeadLetterOutcome> {
    this.add(letters.map((letter) => letter.envelope));
    return { failed: [], requests: Math.ceil(letters.length / 10) };
  }

  /** Envelopes sent elsewhere (by a worker sandbox's handler), delivered here. */
  add(envelopes: readonly DeadLetterEnvelope[]): void {
    if (envelopes.length === 0) return;
    this.#letters.push(...envelopes);
    if (this.file !== undefined) {
      mkdirSync(dirname(this.file), { recursive: true });
      appendFileSync(this.file, envelopes.map((envelope) => `${JSON.stringify(envelope)}\n`).join(''));
    }
  }

  /** Every message the queue holds, oldest first (nothing is deleted locally). */
  messages(): readonly DeadLetterEnvelope[] {
    return [...this.#letters];
  }
}
