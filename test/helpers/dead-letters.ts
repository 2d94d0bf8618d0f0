import type { DeadLetterEnvelope } from '../../shared/runtime/dead-letter.js';
import type { DeadLetter } from '../../shared/runtime/io/dead-letter-sink.js';

/** The `n`th dead letter of a stage `from-in`: a schema violation, its payload `payloadBytes` of `a`. */
export function deadLetter(n: number, payloadBytes = 10): DeadLetter {
  const sequenceNumber = String(1000 + n);
  const envelope: DeadLetterEnvelope = {
    pipeline: 'p',
    stage: 'from-in',
    correlationId: `in/shardId-000000000000/${sequenceNumber}`,
    error: { reason: 'schema-violation', message: 'bad', operator: 'in', issues: [{ field: 'page', message: 'x' }] },
    source: {
      stream: 'in',
      shardId: 'shardId-000000000000',
      sequenceNumber,
      partitionKey: 'pk',
      arrivalTime: 0,
    },
    payload: Buffer.alloc(payloadBytes, 'a').toString('base64'),
    deadLetteredAt: 1,
  };
  return {
    envelope,
    output: { stream: 'q', partitionKey: 'pk', data: JSON.stringify(envelope), origin: sequenceNumber },
  };
}
