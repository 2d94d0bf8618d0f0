import type { KinesisClient } from '@aws-sdk/client-kinesis';
import type { ShardPositions } from './input-progress.js';
import { lineOf } from './line-keys.js';
import { forEachRecord } from './stream-reader.js';

/**
 * The lines of `file` after `afterLine` that are in `stream` already: what a round in flight when a
 * run stopped got in, wholly or partly (PutRecords can take some records of a call and fail others).
 * Each shard is read after the position recorded for it, so the cost is the records written since the
 * last recorded round, not the stream; a shard without one (new since, or the run stopped in its
 * first round) is read from its start.
 */
export async function linesInStream(
  client: KinesisClient,
  stream: string,
  file: string,
  afterLine: number,
  after: ShardPositions,
): Promise<Set<number>> {
  const lines = new Set<number>();
  await forEachRecord(
    client,
    stream,
    (shardId) => {
      const position = after[shardId];
      return position === undefined ? {} : { after: position };
    },
    (record) => {
      const line = lineOf(record.partitionKey, file);
      if (line !== undefined && line > afterLine) lines.add(line);
    },
  );
  return lines;
}
