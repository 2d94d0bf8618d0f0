import { RecordProcessingError } from '../operators/record-errors.js';
import type { RowUpdate } from '../tables/table-operator.js';
import type { DeadLetterEnvelope } from './dead-letter.js';
import type { Decoded } from './decode.js';
import { fitDeadLetter } from './fit-dead-letter.js';
import type { DeadLetter } from './io/dead-letter-sink.js';
import { type OperatorCount, OperatorTally, Slot } from './operator-counts.js';
import { correlationIdOf, type InputRecord, type OutputRecord } from './records.js';
import { MAX_RECORD_BYTES } from './shuffle-pack.js';
import type { ElementSink, StageProgram } from './stage-program.js';
import type { BatchLookups } from './table-lookups.js';
import { UpstreamTraces } from './upstream-traces.js';
import type { WatermarkRecord } from './watermark-records.js';

/** Counts of one batch. Conservation: every input record is written, filtered or dead-lettered at least once per branch. */
export interface BatchCounts {
  /** Data records (control records that carry time are not counted). */
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
  /** The dead letters (envelope and record together), in input order: what the stage's DeadLetterSink sends. */
  readonly letters: DeadLetter[];
  readonly counts: BatchCounts;
  /** The same per operator fused in the stage, in StageSpec.nodes order: the input operator first. */
  readonly operators: OperatorCount[];
  /** The highest event time among the batch's data records that had one. */
  readonly maxEventTime?: number;
  /** The batch held an end-of-input marker: no data will follow on this shard. */
  readonly endOfInput: boolean;
  /** Watermark records, in arrival order. */
  readonly watermarks: WatermarkRecord[];
  /** X-Ray trace ids of the invocations that wrote the batch's shuffle packs. */
  readonly upstreamTraces: readonly string[];
  /** Updates of the tables the stage keeps (`toTable`), in input order. */
  readonly rowUpdates: TableRowUpdate[];
}

/** An update of a table, tied to the input record it came from. */
export interface TableRowUpdate extends RowUpdate {
  readonly table: string;
  /** Sequence number of the input record, to report it if the write fails. */
  readonly origin: string;
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
  const letters: DeadLetter[] = [];
  const counts: BatchCounts = { recordsIn: 0, recordsOut: 0, filtered: 0, deadLettered: 0 };
  const watermarks: WatermarkRecord[] = [];
  const rowUpdates: TableRowUpdate[] = [];
  let maxEventTime: number | undefined;
  let endOfInput = false;

  const deadLetter = (record: InputRecord, error: RecordProcessingError, correlationId?: string): void => {
    const letter = deadLetterOf(context, program.stage.id, record, error, correlationId);
    failures.push(letter.envelope);
    deadLetters.push(letter.output);
    letters.push(letter);
    counts.deadLettered += 1;
  };

  const traces = new UpstreamTraces();
  const lookups = context.lookups;
  // The stage's input operator (a source, or the shuffle it reads) is the first; the rest count themselves.
  const tally = new OperatorTally(program.stage.nodes);
  // One sink for the whole batch (program.run is synchronous): what it needs of the current element
  // is in these three variables, instead of closures made per element.
  let origin = '';
  let failedRecord: InputRecord | undefined;
  let failedId = '';
  const sink: ElementSink = {
    emit: (emitted) => {
      outputs.push({ stream: emitted.stream, partitionKey: emitted.partitionKey, data: emitted.data, origin });
      counts.recordsOut += 1;
    },
    filtered: () => {
      counts.filtered += 1;
    },
    // Past decoding, the correlation id is the one the record carries from its source.
    failed: (error) => deadLetter(failedRecord as InputRecord, error, failedId),
    writeRow: (table, update) => {
      rowUpdates.push({ ...update, table, origin });
      counts.recordsOut += 1;
    },
    tally,
  };
  if (lookups !== undefined) sink.lookup = (table, key, operator) => lookups.lookup(table, key, operator);
  for (const record of records) {
    origin = record.position.sequenceNumber;
    let decoded: readonly Decoded[];
    try {
      decoded = program.decode(record);
    } catch (error) {
      if (!(error instanceof RecordProcessingError)) throw error;
      counts.recordsIn += 1;
      tally.add(0, Slot.in);
      tally.add(0, Slot.deadLettered);
      deadLetter(record, error);
      continue;
    }
    traces.addAll(decoded);
    for (const item of decoded) {
      if (item.kind === 'end-of-input') {
        endOfInput = true;
        continue;
      }
      if (item.kind === 'watermark') {
        watermarks.push(item.record);
        continue;
      }
      counts.recordsIn += 1;
      tally.add(0, Slot.in);
      if (item.kind === 'invalid') {
        tally.add(0, Slot.deadLettered);
        deadLetter(item.record, item.error, item.id);
        continue;
      }
      tally.add(0, Slot.out);
      const element = item.element;
      if (element.eventTime !== undefined && (maxEventTime === undefined || element.eventTime > maxEventTime)) {
        maxEventTime = element.eventTime;
      }
      failedRecord = item.record ?? record;
      failedId = element.id;
      program.run(element, sink);
    }
  }
  return {
    outputs,
    deadLetters,
    failures,
    letters,
    counts,
    operators: tally.counts(),
    endOfInput,
    watermarks,
    upstreamTraces: traces.list(),
    rowUpdates,
    ...(maxEventTime !== undefined && { maxEventTime }),
  };
}
