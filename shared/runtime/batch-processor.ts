import { RecordProcessingError } from '../operators/record-errors.js';
import type { RowUpdate } from '../tables/table-operator.js';
import { BatchCollector, type BatchContext, type BatchCounts } from './batch-collector.js';
import type { DeadLetterEnvelope } from './dead-letter.js';
import type { DeadLetter } from './io/dead-letter-sink.js';
import { type OperatorCount, Slot } from './operator-counts.js';
import type { InputRecord, OutputRecord } from './records.js';
import type { ElementSink, StageProgram } from './stage-program.js';
import type { WatermarkRecord } from './watermark-records.js';

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

/**
 * Runs a batch through a stage's operators. Pure apart from the clock: no I/O, so the same code runs
 * in Lambda, in the local stack, in tests and in benchmarks.
 */
export function processBatch(
  program: StageProgram,
  records: readonly InputRecord[],
  context: BatchContext,
): ProcessedBatch {
  const batch = new BatchCollector(program, context);
  const watermarks: WatermarkRecord[] = [];
  const rowUpdates: TableRowUpdate[] = [];
  let maxEventTime: number | undefined;
  let endOfInput = false;

  const lookups = context.lookups;
  // One sink for the whole batch (program.run is synchronous): what it needs of the current element
  // is in these three variables, instead of closures made per element.
  let origin = '';
  let failedRecord: InputRecord | undefined;
  let failedId = '';
  const sink: ElementSink = {
    emit: (emitted) => {
      const { stream, partitionKey, data, messageId } = emitted;
      // A message sink's record keeps its deterministic id (sinks/destinations.ts).
      batch.output(
        messageId === undefined
          ? { stream, partitionKey, data, origin }
          : { stream, partitionKey, data, origin, messageId },
      );
    },
    filtered: () => batch.filtered(),
    // Past decoding, the correlation id is the one the record carries from its source.
    failed: (error) => batch.deadLetter(failedRecord as InputRecord, error, failedId),
    writeRow: (table, update) => {
      rowUpdates.push({ ...update, table, origin });
      batch.counts.recordsOut += 1;
    },
    tally: batch.tally,
  };
  if (lookups !== undefined) sink.lookup = (table, key, operator) => lookups.lookup(table, key, operator);
  for (const record of records) {
    origin = record.position.sequenceNumber;
    const decoded = batch.decode(record);
    if (decoded instanceof RecordProcessingError) {
      batch.deadLetter(record, decoded);
      continue;
    }
    for (const item of decoded) {
      if (item.kind === 'end-of-input') {
        endOfInput = true;
        continue;
      }
      if (item.kind === 'watermark') {
        watermarks.push(item.record);
        continue;
      }
      if (item.kind === 'invalid') {
        batch.deadLetter(item.record, item.error, item.id);
        continue;
      }
      batch.tally.add(0, Slot.out);
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
    outputs: batch.outputs,
    deadLetters: batch.letters.map((letter) => letter.output),
    failures: batch.envelopes(),
    letters: batch.letters,
    counts: batch.counts,
    operators: batch.tally.counts(),
    endOfInput,
    watermarks,
    upstreamTraces: batch.traces.list(),
    rowUpdates,
    ...(maxEventTime !== undefined && { maxEventTime }),
  };
}
