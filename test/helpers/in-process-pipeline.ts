import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { KinesisStreamBatchResponse } from 'aws-lambda';
import type { Pipeline } from '../../shared/dsl/pipeline.js';
import type { DeadLetterEnvelope } from '../../shared/runtime/dead-letter.js';
import { MemoryRecordWriter } from '../../shared/runtime/io/memory-record-writer.js';
import { MemoryWindowStore } from '../../shared/runtime/io/memory-window-store.js';
import type { WriteOutcome } from '../../shared/runtime/io/record-writer.js';
import { createLambdaStageHandler } from '../../shared/runtime/lambda-handler.js';
import type { OutputRecord } from '../../shared/runtime/records.js';
import { MAX_RECORD_BYTES } from '../../shared/runtime/shuffle-pack.js';
import { CONTROL_PARTITION_KEY, END_OF_INPUT_DATA } from '../../shared/runtime/watermark-records.js';
import { kinesisEvent, lambdaContext, type RecordInit } from './kinesis-events.js';

process.env.POWERTOOLS_METRICS_DISABLED = 'true';

/**
 * A memory writer that refuses what Kinesis refuses: a PutRecords with a record over 1 MiB (data and
 * partition key) fails as a whole with a ValidationException, as the service answers it.
 */
export class KinesisLimitedWriter extends MemoryRecordWriter {
  override async write(records: readonly OutputRecord[]): Promise<WriteOutcome> {
    records.forEach((record, index) => {
      const bytes = Buffer.byteLength(record.data) + Buffer.byteLength(record.partitionKey);
      if (bytes > MAX_RECORD_BYTES) {
        throw Object.assign(
          new Error(
            `1 validation error detected: Value at 'records.${index + 1}.member.data' failed to satisfy ` +
              `constraint: Member must have length less than or equal to ${MAX_RECORD_BYTES}`,
          ),
          { name: 'ValidationException' },
        );
      }
    });
    return super.write(records);
  }
}

export interface InProcessRun {
  readonly writer: KinesisLimitedWriter;
  /** Every stage's answers, by stage id. */
  readonly responses: Map<string, KinesisStreamBatchResponse[]>;
  values(stream: string): unknown[];
  deadLetters(): DeadLetterEnvelope[];
}

/**
 * Runs every stage of a pipeline once, in plan order, through its Lambda handler with in-memory I/O:
 * each source stage gets its records in batches of `batchSize` and then the end of input; each later
 * stage the records given for its input stream, or else everything the stages before wrote to it, in
 * batches of `batchSize`.
 */
export async function runInProcess(
  p: Pipeline,
  sources: Readonly<Record<string, readonly RecordInit[]>>,
  batchSize = 500,
): Promise<InProcessRun> {
  const writer = new KinesisLimitedWriter();
  const store = new MemoryWindowStore();
  const responses = new Map<string, KinesisStreamBatchResponse[]>();
  const plan = p.plan();
  for (const stage of plan.stages) {
    const handler = createLambdaStageHandler(p, {
      stageId: stage.id,
      writer,
      store,
      logger: new Logger({ logLevel: 'SILENT' }),
      metrics: new Metrics({ namespace: 'test' }),
    });
    const given = sources[stage.input];
    const isSource = plan.streams.some((s) => s.name === stage.input && s.role === 'source');
    const records: RecordInit[] =
      given !== undefined
        ? [
            ...given.map((r) => ({ ...r, stream: stage.input })),
            // A source's input ends as `eddy run` ends it; records given for another stream are taken as they are.
            ...(isSource
              ? [{ stream: stage.input, partitionKey: CONTROL_PARTITION_KEY, data: END_OF_INPUT_DATA }]
              : []),
          ]
        : (writer.streams.get(stage.input) ?? []).map((r) => ({
            stream: stage.input,
            partitionKey: r.partitionKey,
            data: r.data,
          }));
    const answers: KinesisStreamBatchResponse[] = [];
    for (let i = 0; i < records.length; i += batchSize) {
      answers.push(await handler(kinesisEvent(records.slice(i, i + batchSize)), lambdaContext()));
    }
    responses.set(stage.id, answers);
  }
  return {
    writer,
    responses,
    values: (stream) => writer.values(stream),
    deadLetters: () => writer.values(plan.deadLetter.name) as DeadLetterEnvelope[],
  };
}
