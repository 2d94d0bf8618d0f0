import { createHash } from 'node:crypto';
import { type KinesisClient, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { DeadLetterReasons } from '../../shared/operators/record-errors.js';
import type { DeadLetterEnvelope } from '../../shared/runtime/dead-letter.js';
import { backoffDelay, sleep } from '../../shared/util/backoff.js';
import type { OversizedLine } from './input-feeder.js';
import type { LocalDeadLetterQueue } from './local-dead-letter-queue.js';

/** The first bytes of an oversized line kept in its dead letter: enough to recognise it, far under any limit. */
export const KEPT_PAYLOAD_BYTES = 4096;

/** The stage name dead letters of the feeder carry: no stage saw the line. */
export const FEEDER_STAGE = 'input-feeder';

/**
 * The dead letter of a line the source stream cannot take, in the shape of a stage's (dead-letter.ts):
 * the line never got a shard or a sequence number, so its position is its partition key, which names
 * its file and line. The payload keeps the line's first bytes; `payloadTruncated` gives its size and
 * SHA-256.
 */
export function oversizedLineLetter(
  pipeline: string,
  source: string,
  stream: string,
  line: OversizedLine,
  now: number,
): DeadLetterEnvelope {
  const where = `${line.file}:${line.line}`;
  return {
    pipeline,
    stage: FEEDER_STAGE,
    correlationId: `${stream}/${line.partitionKey}`,
    error: {
      reason: DeadLetterReasons.recordTooLarge,
      operator: source,
      message:
        `the line is ${line.recordBytes} bytes with its partition key, over the stream's record limit ` +
        `of ${line.limit} bytes; it was not put into ${stream}`,
    },
    source: { stream, shardId: '', sequenceNumber: '', partitionKey: line.partitionKey, arrivalTime: now },
    payload: line.bytes.subarray(0, KEPT_PAYLOAD_BYTES).toString('base64'),
    payloadTruncated: {
      bytes: line.bytes.length,
      sha256: createHash('sha256').update(line.bytes).digest('hex'),
      keptBytes: Math.min(KEPT_PAYLOAD_BYTES, line.bytes.length),
      reason: `the line is over the record limit: only its first ${KEPT_PAYLOAD_BYTES} bytes are kept; it is still at ${where}`,
    },
    deadLetteredAt: now,
  };
}

/** Where `eddy run` sends its own dead letters: the pipeline's dead-letter stream or its local queue. */
export type FeederDeadLetterDestination =
  | { readonly kind: 'stream'; readonly client: KinesisClient; readonly stream: string }
  | { readonly kind: 'queue'; readonly queue: LocalDeadLetterQueue };

/** Sends one dead letter, retrying a PutRecords that reports it failed. */
export async function sendFeederDeadLetter(
  destination: FeederDeadLetterDestination,
  envelope: DeadLetterEnvelope,
): Promise<void> {
  if (destination.kind === 'queue') {
    destination.queue.add([envelope]);
    return;
  }
  for (let attempt = 0; ; attempt += 1) {
    if (attempt > 0) await sleep(backoffDelay(attempt));
    const response = await destination.client.send(
      new PutRecordsCommand({
        StreamName: destination.stream,
        Records: [{ PartitionKey: envelope.source.partitionKey, Data: Buffer.from(JSON.stringify(envelope)) }],
      }),
    );
    if (!response.FailedRecordCount) return;
    if (attempt >= 50) {
      throw new Error(
        `could not put the dead letter of ${envelope.correlationId} into ${destination.stream}: ${response.Records?.[0]?.ErrorMessage}`,
      );
    }
  }
}
