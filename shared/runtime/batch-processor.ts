import type { DeadLetterEnvelope } from './dead-letter.js';
import { RecordProcessingError } from './dead-letter.js';
import { correlationIdOf, type InputRecord, type OutputRecord } from './records.js';
import type { StageProgram } from './stage-program.js';

/** Counts of one batch. Conservation: every input record is written, filtered or dead-lettered at least once per branch. */
export interface BatchCounts {
  recordsIn: number;
  recordsOut: number;
  filtered: number;
  deadLettered: number;
}

export interface ProcessedBatch {
  /** Records for sinks and shuffle streams, in input order. */
  readonly outputs: OutputRecord[];
  /** Records for the dead-letter stream, in input order. */
  readonly deadLetters: OutputRecord[];
  /** The dead letters' envelopes, for logging. */
  readonly failures: DeadLetterEnvelope[];
  readonly counts: BatchCounts;
}

export interface BatchContext {
  readonly pipeline: string;
  readonly deadLetterStream: string;
  readonly now: () => number;
}

/**
 * Runs a batch through a stage's operators. Pure apart from the clock: no I/O, so the same code runs
 * in Lambda, in the local stack, in tests and in benchmarks.
 */
export function processBatch(
  program: StageProgram,
  records: readonly InputRecord[],
  context: BatchContext,
): ProcessedBatch {
  const outputs: OutputRecord[] = [];
  const deadLetters: OutputRecord[] = [];
  const failures: DeadLetterEnvelope[] = [];
  const counts: BatchCounts = { recordsIn: records.length, recordsOut: 0, filtered: 0, deadLettered: 0 };

  for (const record of records) {
    const origin = record.position.sequenceNumber;
    // Past decoding, the correlation id is the one the record carries from its source.
    let correlationId = correlationIdOf(record.position);
    const fail = (error: RecordProcessingError): void => {
      const envelope: DeadLetterEnvelope = {
        pipeline: context.pipeline,
        stage: program.stage.id,
        correlationId,
        error: error.detail,
        source: record.position,
        payload: Buffer.from(record.data).toString('base64'),
        deadLetteredAt: context.now(),
      };
      failures.push(envelope);
      deadLetters.push({
        stream: context.deadLetterStream,
        partitionKey: record.position.partitionKey,
        data: JSON.stringify(envelope),
        origin,
      });
      counts.deadLettered += 1;
    };
    let element: ReturnType<StageProgram['decode']>;
    try {
      element = program.decode(record);
    } catch (error) {
      if (error instanceof RecordProcessingError) {
        fail(error);
        continue;
      }
      throw error;
    }
    correlationId = element.id;
    program.run(element, {
      emit: (emitted) => {
        outputs.push({ ...emitted, origin });
        counts.recordsOut += 1;
      },
      filtered: () => {
        counts.filtered += 1;
      },
      failed: fail,
    });
  }
  return { outputs, deadLetters, failures, counts };
}
