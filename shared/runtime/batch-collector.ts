import { RecordProcessingError } from '../operators/record-errors.js';
import type { DeadLetterEnvelope } from './dead-letter.js';
import type { Decoded } from './decode.js';
import { fitDeadLetter } from './fit-dead-letter.js';
import type { DeadLetter } from './io/dead-letter-sink.js';
import { OperatorTally, Slot } from './operator-counts.js';
import type { InputRecord, OutputRecord } from './records.js';
import { correlationIdOf } from './records.js';
import { MAX_RECORD_BYTES } from './shuffle-pack.js';
import type { StageProgram } from './stage-program.js';
import type { BatchLookups } from './table-lookups.js';
import { UpstreamTraces } from './upstream-traces.js';

/** Counts of one batch. Conservation: every input record is written, filtered or dead-lettered at least once per branch. */
export interface BatchCounts {
  /** Data records (control records that carry time are not counted). */
  recordsIn: number;
  recordsOut: number;
  filtered: number;
  deadLettered: number;
}

export interface BatchContext {
  readonly pipeline: string;
  /** The dead-letter stream: the `stream` of dead-letter records (the queue's name when they go to a queue). */
  readonly deadLetterStream: string;
  readonly now: () => number;
  /** The batch's table lookups (`enrich`): rows fetched so far, and the keys still to fetch. */
  readonly lookups?: Pick<BatchLookups, 'lookup'>;
}

/** The dead-letter stream's record for an input record that failed, and its envelope. */
export function deadLetterOf(
  context: BatchContext,
  stageId: string,
  record: InputRecord,
  error: RecordProcessingError,
  correlationId: string = correlationIdOf(record.position),
): DeadLetter {
  const partitionKey = record.position.partitionKey;
  // Fitted to a Kinesis record (data and partition key); a queue's sink fits it again to its own limit.
  const { envelope, data } = fitDeadLetter(
    {
      pipeline: context.pipeline,
      stage: stageId,
      correlationId,
      error: error.detail,
      source: record.position,
      payload: Buffer.from(record.data).toString('base64'),
      deadLetteredAt: context.now(),
    },
    MAX_RECORD_BYTES - Buffer.byteLength(partitionKey),
    'a Kinesis record (1 MiB)',
  );
  return {
    envelope,
    output: { stream: context.deadLetterStream, partitionKey, data, origin: record.position.sequenceNumber },
  };
}

/**
 * What one batch of a stage produced so far, whatever the stage (stateless or stateful): the input
 * records decoded and counted, outputs and dead letters in the order they came, the counts, the
 * per-operator tally and the upstream traces. The stateless path (`processBatch`) and the stateful
 * runner both fill one, so a record is decoded, counted and dead-lettered the same way in both.
 */
export class BatchCollector {
  readonly outputs: OutputRecord[] = [];
  /** The dead letters (envelope and record together), in the order they came. */
  readonly letters: DeadLetter[] = [];
  readonly counts: BatchCounts = { recordsIn: 0, recordsOut: 0, filtered: 0, deadLettered: 0 };
  /** Per operator, in StageSpec.nodes order: the input operator (index 0) is counted by {@link decode}. */
  readonly tally: OperatorTally;
  readonly traces = new UpstreamTraces();
  /** Input records that could not be read (their decoding failed): dead letters of the input operator. */
  undecodable = 0;
  readonly #program: StageProgram;
  readonly #context: BatchContext;

  constructor(program: StageProgram, context: BatchContext) {
    this.#program = program;
    this.#context = context;
    this.tally = new OperatorTally(program.stage.nodes);
  }

  /**
   * Decodes one input record and counts what it holds into the input operator: each data record
   * in, each one that cannot be read dead-lettered (the caller sends the letter, in batch order).
   * Control records (watermarks, end of input) are not counted. A record that cannot be decoded at
   * all is returned as its error.
   */
  decode(record: InputRecord): readonly Decoded[] | RecordProcessingError {
    let items: readonly Decoded[];
    try {
      items = this.#program.decode(record);
    } catch (error) {
      if (!(error instanceof RecordProcessingError)) throw error;
      this.#countIn(1, 1);
      return error;
    }
    let data = 0;
    let invalid = 0;
    let packed = false;
    for (const item of items) {
      if (item.kind === 'data') {
        data += 1;
        packed ||= item.from !== undefined;
      } else if (item.kind === 'invalid') {
        data += 1;
        invalid += 1;
      }
    }
    this.#countIn(data, invalid);
    // Only packed envelopes carry an upstream trace: a source record's items are not looked at again.
    if (packed) this.traces.addAll(items);
    return items;
  }

  #countIn(records: number, unreadable: number): void {
    this.counts.recordsIn += records;
    this.undecodable += unreadable;
    this.tally.add(0, Slot.in, records);
    this.tally.add(0, Slot.deadLettered, unreadable);
  }

  /** An output of the batch, counted as a record out. */
  output(record: OutputRecord): void {
    this.outputs.push(record);
    this.counts.recordsOut += 1;
  }

  /** A record written that is not an output of the stage's operators (a late record): not counted out. */
  aside(record: OutputRecord): void {
    this.outputs.push(record);
  }

  filtered(): void {
    this.counts.filtered += 1;
  }

  /** @param correlationId the record's own, when it is known past decoding */
  deadLetter(record: InputRecord, error: RecordProcessingError, correlationId?: string): void {
    this.letters.push(deadLetterOf(this.#context, this.#program.stage.id, record, error, correlationId));
    this.counts.deadLettered += 1;
  }

  /**
   * A late record sent to the dead letters (a window or join without a late stream): counted late by
   * its operator, not dead-lettered, as it would be on a late stream.
   */
  lateLetter(record: InputRecord, error: RecordProcessingError): void {
    this.letters.push(deadLetterOf(this.#context, this.#program.stage.id, record, error));
  }

  /** The dead letters' envelopes, for logging and the batch report. */
  envelopes(): DeadLetterEnvelope[] {
    return this.letters.map((letter) => letter.envelope);
  }
}
