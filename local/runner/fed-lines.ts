import type { KinesisClient } from '@aws-sdk/client-kinesis';
import type { FeedOptions } from './input-feeder.js';
import type { InputProgress, ShardPositions } from './input-progress.js';
import { lineOf } from './line-keys.js';
import { forEachRecord } from './stream-reader.js';

/** The stream no longer holds a record an earlier session put and recorded: the data folder lost writes. */
export class LostFedRecordsError extends Error {
  override readonly name = 'LostFedRecordsError';
}

/**
 * The lines of `file` after `afterLine` that are in `stream` already: what a round in flight when a
 * run stopped got in, wholly or partly (PutRecords can take some records of a call and fail others).
 * Each shard is read from the position recorded for it, so the cost is the records written since the
 * last recorded round, not the stream; a shard without one (new since, or the run stopped in its
 * first round) is read from its start.
 *
 * The recorded record itself must still be there: if it is not, the emulators' files lost writes
 * they had acknowledged (a crash of the machine, not of a process: LevelDB does not fsync), the
 * checkpoints and state may be ahead of the streams, and no resumed run can be trusted. That is an
 * error, never a silent re-feed.
 */
export async function linesInStream(
  client: KinesisClient,
  stream: string,
  file: string,
  afterLine: number,
  recorded: ShardPositions,
): Promise<Set<number>> {
  const lines = new Set<number>();
  const found = new Set<string>();
  const lostError = (shardId: string, cause?: unknown) =>
    new LostFedRecordsError(
      `stream ${stream} no longer holds record ${recorded[shardId] ?? '(unknown)'} of ${shardId}, which an earlier ` +
        `run put from ${file} and recorded as in: the data folder lost acknowledged writes (a machine crash?), so ` +
        'its checkpoints and state may be ahead of its streams. Delete the data folder and run again from the start.',
      { cause },
    );
  let reading = '';
  try {
    await forEachRecord(
      client,
      stream,
      (shardId) => {
        reading = shardId;
        const position = recorded[shardId];
        return position === undefined ? {} : { at: position };
      },
      (record) => {
        if (record.sequenceNumber === recorded[record.shardId]) {
          found.add(record.shardId);
          return;
        }
        const line = lineOf(record.partitionKey, file);
        if (line !== undefined && line > afterLine) lines.add(line);
      },
    );
  } catch (error) {
    // Kinesis refuses an iterator at a sequence number its shard never had.
    if ((error as Error).name === 'InvalidArgumentException' && recorded[reading] !== undefined) {
      throw lostError(reading, error);
    }
    throw error;
  }
  const lost = Object.keys(recorded).find((shardId) => !found.has(shardId));
  if (lost !== undefined) throw lostError(lost);
  return lines;
}

/** An input file, the stream it is fed into as its progress names it, and as Kinesis does. */
export interface FedFileRef {
  readonly stream: string;
  readonly physicalStream: string;
  readonly file: string;
}

/**
 * Where a resumed feed of a file starts: after the last line recorded as in its stream, skipping the
 * lines of the round in flight at the stop that are in the stream already. A file never fed (or
 * changed since) is recorded as started before its first round, so that a stop during that round is
 * resumed the same way.
 */
export async function resumePoint(
  client: KinesisClient,
  progress: InputProgress,
  input: FedFileRef,
): Promise<Pick<FeedOptions, 'afterLine' | 'alreadyIn'>> {
  const fed = progress.fed(input.stream, input.file);
  if (fed === undefined) {
    progress.record(input.stream, input.file, 0);
    return {};
  }
  const alreadyIn = await linesInStream(client, input.physicalStream, input.file, fed.line, fed.shards);
  return { afterLine: fed.line, alreadyIn };
}
