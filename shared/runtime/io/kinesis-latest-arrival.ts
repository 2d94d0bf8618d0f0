import { GetRecordsCommand, GetShardIteratorCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import type { LatestArrival } from '../idleness.js';

export interface KinesisLatestArrivalOptions {
  readonly client: KinesisClient;
  /** Prepended to every logical stream name. @default '' */
  readonly streamPrefix?: string;
  /**
   * How long an AT_TIMESTAMP GetShardIterator may take before the shard is scanned instead: kinesalite
   * never answers one when no record is that recent (Kinesis answers with an iterator at the tip).
   * @default 2000
   */
  readonly answerTimeoutMs?: number;
  /**
   * GetRecords pages the scan reads before it gives up and calls the shard active: the scan is the
   * emulator's path, and an unsure answer must not mark a busy shard idle. @default 20
   */
  readonly maxScanPages?: number;
}

/**
 * Whether a shard took a record since a time: an AT_TIMESTAMP iterator starts at the first record
 * that arrived at or after it, so one GetRecords of one record answers.
 */
export class KinesisLatestArrival implements LatestArrival {
  constructor(readonly options: KinesisLatestArrivalOptions) {}

  async latestArrival(stream: string, shardId: string, since: Date): Promise<boolean> {
    const streamName = `${this.options.streamPrefix ?? ''}${stream}`;
    const timeout = AbortSignal.timeout(this.options.answerTimeoutMs ?? 2000);
    let iterator: string | undefined;
    try {
      const answer = await this.options.client.send(
        new GetShardIteratorCommand({
          StreamName: streamName,
          ShardId: shardId,
          ShardIteratorType: 'AT_TIMESTAMP',
          Timestamp: since,
        }),
        { abortSignal: timeout },
      );
      iterator = answer.ShardIterator;
    } catch (error) {
      if (!timeout.aborted) throw error;
      return this.#scan(streamName, shardId, since);
    }
    if (iterator === undefined) return true;
    const page = await this.options.client.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 1 }));
    return (page.Records ?? []).length > 0;
  }

  /** Reads the shard from its oldest record: records of a shard are in arrival order, so a page's last one tells. */
  async #scan(streamName: string, shardId: string, since: Date): Promise<boolean> {
    const { ShardIterator } = await this.options.client.send(
      new GetShardIteratorCommand({ StreamName: streamName, ShardId: shardId, ShardIteratorType: 'TRIM_HORIZON' }),
    );
    let iterator = ShardIterator;
    for (let pages = 0; iterator !== undefined && pages < (this.options.maxScanPages ?? 20); pages += 1) {
      const page = await this.options.client.send(new GetRecordsCommand({ ShardIterator: iterator }));
      const last = page.Records?.at(-1)?.ApproximateArrivalTimestamp;
      if (last !== undefined && last.getTime() >= since.getTime()) return true;
      // At the tip with nothing that recent, or a closed shard read to its end.
      if ((page.Records ?? []).length === 0 && (page.MillisBehindLatest ?? 0) === 0) return false;
      iterator = page.NextShardIterator;
    }
    return iterator !== undefined;
  }
}
