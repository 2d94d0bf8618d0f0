import { GetRecordsCommand, GetShardIteratorCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import type { DeadLetterEnvelope } from '../../shared/runtime/dead-letter.js';
import type { LineOrigin } from './input-feeder.js';
import { lineOf } from './line-keys.js';

/** An input file of the run and the physical stream it was fed into. */
export interface FedInput {
  readonly stream: string;
  readonly file: string;
}

/**
 * The input line a dead letter came from, read from partition keys rather than kept in memory for
 * every fed record: the feeder's keys name file and line (line-keys.ts). A letter of a source stage
 * carries its record's key; a letter of a later stage names its source record in its correlation id
 * (`<stream>/<shardId>/<sequenceNumber>[/...]`), which is read back from the stream (two requests,
 * for letters only). Undefined for records no input file of this run fed.
 */
export async function originOf(
  client: KinesisClient,
  inputs: readonly FedInput[],
  envelope: DeadLetterEnvelope,
): Promise<LineOrigin | undefined> {
  const fromKey = (stream: string, partitionKey: string): LineOrigin | undefined => {
    for (const input of inputs.filter((candidate) => candidate.stream === stream)) {
      const line = lineOf(partitionKey, input.file);
      if (line !== undefined) return { file: input.file, line };
    }
    return undefined;
  };
  const own = fromKey(envelope.source.stream, envelope.source.partitionKey);
  if (own !== undefined) return own;
  const [stream = '', shardId = '', sequenceNumber = ''] = envelope.correlationId.split('/');
  if (!inputs.some((input) => input.stream === stream) || !/^[0-9]+$/.test(sequenceNumber)) return undefined;
  const partitionKey = await partitionKeyAt(client, stream, shardId, sequenceNumber);
  return partitionKey === undefined ? undefined : fromKey(stream, partitionKey);
}

async function partitionKeyAt(
  client: KinesisClient,
  stream: string,
  shardId: string,
  sequenceNumber: string,
): Promise<string | undefined> {
  try {
    const { ShardIterator } = await client.send(
      new GetShardIteratorCommand({
        StreamName: stream,
        ShardId: shardId,
        ShardIteratorType: 'AT_SEQUENCE_NUMBER',
        StartingSequenceNumber: sequenceNumber,
      }),
    );
    const page = await client.send(new GetRecordsCommand({ ShardIterator: ShardIterator, Limit: 1 }));
    const record = page.Records?.[0];
    return record?.SequenceNumber === sequenceNumber ? record.PartitionKey : undefined;
  } catch {
    // Past its retention, or a shard that is gone: the letter is reported without its line.
    return undefined;
  }
}
