import type { PipelinePlan } from '../../shared/dag/plan-types.js';
import type { DeadLetterEnvelope } from '../../shared/runtime/dead-letter.js';

/**
 * The last dead letters, late records and failed invocations of a running local pipeline, for
 * `/status` and the console: bounded rings (the newest last), fed as things happen, never by
 * reading a whole stream again.
 */

export interface RecentDeadLetter {
  readonly stage: string;
  readonly reason: string;
  /** The operator that failed. */
  readonly operator?: string;
  /** Where the record was: `<stream>/<shard>/<sequence number>`. */
  readonly recordId?: string;
  readonly message: string;
  /** When it was dead-lettered, epoch ms. */
  readonly at: number;
}

export interface RecentLateRecord {
  readonly stage: string;
  readonly recordId?: string;
  /** The record's event time, epoch ms. */
  readonly eventTime?: number;
  /** The watermark it missed, epoch ms. */
  readonly watermark?: number;
  readonly reason?: string;
  /** The late output stream it went to. */
  readonly output: string;
  readonly at: number;
}

export interface RecentError {
  readonly stage: string;
  readonly shardId?: string;
  readonly message: string;
  readonly at: number;
}

/** `StatusReport.recent`: the newest last in each list. */
export interface RecentReport {
  readonly deadLetters: readonly RecentDeadLetter[];
  readonly late: readonly RecentLateRecord[];
  readonly errors: readonly RecentError[];
}

/** How many of each kind are kept. */
export const RECENT_LIMIT = 50;

export class RecentEvents {
  readonly #deadLetters: RecentDeadLetter[] = [];
  readonly #late: RecentLateRecord[] = [];
  readonly #errors: RecentError[] = [];

  constructor(readonly limit = RECENT_LIMIT) {}

  addDeadLetter(letter: RecentDeadLetter): void {
    this.#push(this.#deadLetters, letter);
  }

  addLate(record: RecentLateRecord): void {
    this.#push(this.#late, record);
  }

  /** A failed invocation (LocalPipelineOptions.onInvocationError). */
  readonly addError = (stage: string, error: unknown, shardId: string | undefined): void => {
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    this.#push(this.#errors, { stage, ...(shardId !== undefined && { shardId }), message, at: Date.now() });
  };

  report(): RecentReport {
    return { deadLetters: [...this.#deadLetters], late: [...this.#late], errors: [...this.#errors] };
  }

  #push<T>(ring: T[], item: T): void {
    ring.push(item);
    if (ring.length > this.limit) ring.splice(0, ring.length - this.limit);
  }
}

/** What the console shows of a dead-letter envelope. */
export function recentDeadLetter(envelope: DeadLetterEnvelope, at: number): RecentDeadLetter {
  const source = envelope.source;
  return {
    stage: envelope.stage,
    reason: envelope.error.reason,
    operator: envelope.error.operator,
    recordId: `${source.stream}/${source.shardId}/${source.sequenceNumber}`,
    message: envelope.error.message,
    at,
  };
}

/** A record of a window's or a join's late output (LateOutputRecord, JoinLateRecord); tolerant of other shapes (a process function's `late`). */
export function recentLateRecord(
  plan: PipelinePlan,
  output: string,
  payload: Record<string, unknown>,
  at: number,
): RecentLateRecord {
  const number = (value: unknown) => (typeof value === 'number' && Number.isFinite(value) ? value : undefined);
  const id = payload.id;
  const eventTime = number(payload.time);
  const watermark = number(payload.watermark);
  return {
    stage: plan.streams.find((stream) => stream.name === output)?.producers[0] ?? '?',
    ...(typeof id === 'string' && { recordId: id }),
    ...(eventTime !== undefined && { eventTime }),
    ...(watermark !== undefined && { watermark }),
    ...(typeof payload.reason === 'string' && { reason: payload.reason }),
    output,
    at,
  };
}
