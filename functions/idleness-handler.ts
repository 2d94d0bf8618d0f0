import { Logger } from '@aws-lambda-powertools/logger';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import pipeline from '@eddy/user-pipeline';
import type { Context, ScheduledEvent } from 'aws-lambda';
import { IdlenessCheck, type IdlenessReport } from '../shared/runtime/idleness.js';
import { KinesisLatestArrival } from '../shared/runtime/io/kinesis-latest-arrival.js';
import { KinesisRecordWriter } from '../shared/runtime/io/kinesis-record-writer.js';
import { KinesisShardDirectory } from '../shared/runtime/io/shard-directory.js';

// Built once per execution environment: the shard directory's cache then spans invocations.
const streamPrefix = process.env.EDDY_STREAM_PREFIX ?? '';
const client = new KinesisClient({});
const logger = new Logger({ serviceName: pipeline.name });
logger.appendPersistentKeys({ pipeline: pipeline.name, function: 'idleness' });
const check = new IdlenessCheck({
  pipeline,
  arrivals: new KinesisLatestArrival({ client, streamPrefix }),
  shards: new KinesisShardDirectory({ client, streamPrefix }),
  writer: new KinesisRecordWriter({ client, streamPrefix }),
});

/**
 * The Lambda entry of the idleness check (docs/watermarks.md, "Idle shards"), invoked by an
 * EventBridge schedule: one run per invocation, over the bundled pipeline's sources with an
 * `idleTimeout`.
 */
export async function handler(_event: ScheduledEvent, context: Context): Promise<IdlenessReport> {
  // Leave a second to log and return: marks not written in time are written by the next run.
  const deadline = Date.now() + Math.max(0, context.getRemainingTimeInMillis() - 1000);
  const report = await check.run(new Date(), deadline);
  if (report.idle.length > 0) logger.info('idle source shards marked', { ...report });
  else logger.debug('no idle source shard', { ...report });
  if (report.failed > 0) logger.warn('idle marks not written; the next run writes them again', { ...report });
  return report;
}
