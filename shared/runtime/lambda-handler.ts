import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import middy from '@middy/core';
import type { Context, KinesisStreamBatchResponse, KinesisStreamEvent } from 'aws-lambda';
import type { Pipeline } from '../dsl/pipeline.js';
import { DynamoDbWindowStore } from './io/dynamodb-window-store.js';
import { KinesisRecordWriter } from './io/kinesis-record-writer.js';
import type { RecordWriter } from './io/record-writer.js';
import { KinesisShardDirectory, type ShardDirectory } from './io/shard-directory.js';
import type { WindowStore } from './io/window-store.js';
import { fromKinesisEventRecord } from './kinesis-event.js';
import { type BatchReport, StageRunner } from './stage-runner.js';

export interface LambdaStageHandlerOptions {
  /** @default process.env.EDDY_STAGE_ID */
  readonly stageId?: string;
  /** @default process.env.EDDY_STREAM_PREFIX ?? '' */
  readonly streamPrefix?: string;
  /** @default a KinesisRecordWriter over a default KinesisClient */
  readonly writer?: RecordWriter;
  /** @default ListShards through the same client as the writer */
  readonly shards?: ShardDirectory;
  /** State of a windowed stage. @default the DynamoDB table named by EDDY_STATE_TABLE, for stateful stages */
  readonly store?: WindowStore;
  readonly logger?: Logger;
  readonly metrics?: Metrics;
  readonly tracer?: Tracer;
  /** Called after every batch: the local stack collects its run summary from here. */
  readonly onBatch?: (report: BatchReport) => void;
}

export type StageHandler = (event: KinesisStreamEvent, context: Context) => Promise<KinesisStreamBatchResponse>;

/**
 * The Lambda handler of one stage: middy with Powertools' logger (one correlation id per record),
 * metrics (EMF, flushed after each invocation) and tracer around the stage runner. The local stack
 * calls this same handler, so what runs locally is what runs in Lambda.
 *
 * @example
 * export const handler = createLambdaStageHandler(pipeline); // EDDY_STAGE_ID picks the stage
 */
export function createLambdaStageHandler(pipeline: Pipeline, options: LambdaStageHandlerOptions = {}): StageHandler {
  const stageId = options.stageId ?? process.env.EDDY_STAGE_ID;
  if (stageId === undefined || stageId === '') {
    throw new Error('EDDY_STAGE_ID is not set: the function does not know which stage of the pipeline it runs');
  }
  const serviceName = pipeline.name;
  const logger = options.logger ?? new Logger({ serviceName });
  const metrics =
    options.metrics ?? new Metrics({ serviceName, namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'Eddy' });
  const tracer = options.tracer ?? new Tracer({ serviceName });
  metrics.setDefaultDimensions({ pipeline: pipeline.name, stage: stageId });
  logger.appendPersistentKeys({ pipeline: pipeline.name, stage: stageId });

  const streamPrefix = options.streamPrefix ?? process.env.EDDY_STREAM_PREFIX ?? '';
  let kinesis: KinesisClient | undefined;
  const client = () => {
    kinesis ??= tracer.captureAWSv3Client(new KinesisClient({}));
    return kinesis;
  };
  const writer = options.writer ?? new KinesisRecordWriter({ client: client(), streamPrefix });
  const shards =
    options.shards ??
    (options.writer === undefined ? new KinesisShardDirectory({ client: client(), streamPrefix }) : undefined);
  const stateful = pipeline.plan().stages.find((stage) => stage.id === stageId)?.stateful === true;
  const table = process.env.EDDY_STATE_TABLE;
  const store =
    options.store ??
    (stateful && table !== undefined
      ? new DynamoDbWindowStore({ client: tracer.captureAWSv3Client(new DynamoDBClient({})), tableName: table })
      : undefined);
  const runner = new StageRunner({
    pipeline,
    stageId,
    writer,
    ...(shards !== undefined && { shards }),
    ...(store !== undefined && { store }),
  });

  const handle = async (event: KinesisStreamEvent, context: Context): Promise<KinesisStreamBatchResponse> => {
    const started = Date.now();
    const records = (event.Records ?? []).map(fromKinesisEventRecord);
    const deadline = started + context.getRemainingTimeInMillis();
    const { failedSequenceNumbers, report } = await runner.run(records, deadline);

    for (const deadLetter of report.deadLetters) {
      logger.setCorrelationId(deadLetter.correlationId);
      logger.warn('record dead-lettered', {
        reason: deadLetter.error.reason,
        operator: deadLetter.error.operator,
        error: deadLetter.error.message,
        ...(deadLetter.error.issues !== undefined && { issues: deadLetter.error.issues }),
        source: deadLetter.source,
      });
    }
    const first = records[0]?.position;
    if (first !== undefined) logger.setCorrelationId(`${first.stream}/${first.shardId}/${first.sequenceNumber}`);
    if (failedSequenceNumbers.length > 0) {
      logger.error('outputs could not be written; Lambda will deliver these records again', {
        failedSequenceNumbers,
      });
    }
    logger.debug('batch processed', { ...report, deadLetters: report.deadLetters.length });

    metrics.addMetric('RecordsIn', MetricUnit.Count, report.recordsIn);
    metrics.addMetric('RecordsOut', MetricUnit.Count, report.recordsOut);
    metrics.addMetric('RecordsFiltered', MetricUnit.Count, report.filtered);
    metrics.addMetric('RecordsDeadLettered', MetricUnit.Count, report.deadLettered);
    metrics.addMetric('RecordsFailed', MetricUnit.Count, report.failedRecords);
    metrics.addMetric('PutRecordsRequests', MetricUnit.Count, report.writeRequests);
    metrics.addMetric('BatchDuration', MetricUnit.Milliseconds, Date.now() - started);
    if (report.late !== undefined) metrics.addMetric('RecordsLate', MetricUnit.Count, report.late);
    if (report.stateRequests !== undefined) metrics.addMetric('StateRequests', MetricUnit.Count, report.stateRequests);
    // Watermark lag: how far event time trails the clock, what a dashboard watches for a stalled stage.
    if (report.watermark !== undefined && report.watermark < 8.64e15) {
      metrics.addMetric('WatermarkLag', MetricUnit.Milliseconds, Math.max(0, Date.now() - report.watermark));
    }
    options.onBatch?.(report);

    return { batchItemFailures: failedSequenceNumbers.map((itemIdentifier) => ({ itemIdentifier })) };
  };

  return middy(handle)
    .use(captureLambdaHandler(tracer))
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics));
}
