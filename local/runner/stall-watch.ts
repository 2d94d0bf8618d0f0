/**
 * Stall detection for a local run: instead of a fixed limit on how long draining may take (which a
 * loaded machine or a large input overruns while still making progress), a run fails only when no
 * record moved anywhere for `stallLimitMs`.
 */

/** What one shard of a stage's mapping shows; the fields that change whenever a record moves. */
export interface ShardMotion {
  readonly shardId: string;
  readonly checkpoint: string | undefined;
  readonly recordsDelivered: number;
  readonly invocations: number;
  readonly failedInvocations: number;
  readonly recordsSentToOnFailure: number;
  readonly caughtUp: boolean;
  readonly millisBehindLatest: number | undefined;
  readonly lastError: string | undefined;
  readonly lag: { readonly pendingRecords: number; readonly iteratorAgeMs: number };
}

/** One stage as the stall watch sees it. */
export interface StageMotion {
  readonly stageId: string;
  /** Invocations started and finished, and records fed into the stage's input by this runner. */
  readonly invocations: number;
  readonly shards: readonly ShardMotion[];
}

/** The default stall limit: several minutes without any record moving. */
export const defaultStallLimitMs = 5 * 60_000;
export const stallLimitVariable = 'EDDY_STALL_LIMIT_SECONDS';

/** EDDY_STALL_LIMIT_SECONDS, else the default. */
export function stallLimitFromEnvironment(env: NodeJS.ProcessEnv = process.env): number {
  const value = env[stallLimitVariable];
  if (value === undefined || value === '') return defaultStallLimitMs;
  return parseStallLimitSeconds(value, stallLimitVariable);
}

/** A stall limit in seconds, as the CLI and the environment give it, in ms. */
export function parseStallLimitSeconds(value: string, source: string): number {
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds <= 0) {
    throw new Error(`${source}: expected a number of seconds above 0, got '${value}'`);
  }
  return Math.round(seconds * 1000);
}

/**
 * A fingerprint of everything that changes when a record moves: invocations started or finished,
 * checkpoints, records delivered or discarded, the read position (millisBehindLatest), plus
 * `extra` (records fed, say). Two equal marks mean nothing moved in between.
 */
export function motionMark(stages: readonly StageMotion[], extra = 0): string {
  const parts = [String(extra)];
  for (const stage of stages) {
    parts.push(`${stage.stageId}:${stage.invocations}`);
    for (const s of stage.shards) {
      parts.push(
        `${s.shardId}:${s.checkpoint ?? '-'}:${s.recordsDelivered}:${s.invocations}:${s.failedInvocations}:` +
          `${s.recordsSentToOnFailure}:${s.millisBehindLatest ?? '-'}:${s.lag.pendingRecords}`,
      );
    }
  }
  return parts.join('|');
}

/** Remembers the last mark and when it changed. */
export class StallWatch {
  #mark: string | undefined;
  #since: number;

  constructor(
    readonly limitMs: number,
    now: number,
  ) {
    this.#since = now;
  }

  /** Takes the current mark; returns how long nothing has moved (0 when it just moved). */
  observe(mark: string, now: number): number {
    if (mark !== this.#mark) {
      this.#mark = mark;
      this.#since = now;
    }
    return now - this.#since;
  }

  stalled(mark: string, now: number): boolean {
    return this.observe(mark, now) >= this.limitMs;
  }
}

/** Raised when a run made no progress for the stall limit; the message says where work was left. */
export class StallError extends Error {
  override readonly name = 'StallError';
}

/** Names every stage that still had work, and each of its shards that was not caught up. */
export function stallMessage(pipeline: string, stages: readonly StageMotion[], stalledMs: number): string {
  const waiting = stages.flatMap((stage) =>
    stage.shards
      .filter((shard) => !shard.caughtUp)
      .map(
        (shard) =>
          `  stage ${stage.stageId}, shard ${shard.shardId}: ${shard.lag.pendingRecords} records read and not done, ` +
          `behind the tip by ${shard.millisBehindLatest ?? 'unknown'} ms, oldest unfinished record ${shard.lag.iteratorAgeMs} ms old` +
          (shard.lastError === undefined ? '' : `; last error: ${shard.lastError}`),
      ),
  );
  const seconds = Math.round(stalledMs / 1000);
  return (
    `pipeline '${pipeline}' stalled: no record moved for ${seconds} s (no invocation finished, no checkpoint ` +
    `advanced, no read position changed). ${waiting.length === 0 ? 'Every shard looked caught up, yet invocations did not settle.' : 'Work left:'}\n` +
    waiting.join('\n') +
    `\nRaise the limit with --stall-limit <seconds> or ${stallLimitVariable} if the machine is only slow.`
  );
}
