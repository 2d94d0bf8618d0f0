import { describeError, sleep, Wakeup } from './async-tools.js';
import { type BatchVerdict, interpretBatchResponse } from './batch-response.js';
import { decideBatch } from './batching.js';
import { CheckpointTracker } from './checkpoint-tracker.js';
import { type BatchAttempt, decideAfterAttempt, firstAttempt, splitExpired } from './failure-policy.js';
import {
  buildEvent,
  type EventContext,
  maxInvokePayloadBytes,
  type ShardRecord,
  toShardRecord,
} from './kinesis-event.js';
import { lagBehindNewest } from './lag.js';
import { laneOf } from './lanes.js';
import { buildOnFailureRecord } from './on-failure-record.js';
import type { ResolvedOptions } from './options.js';
import type { ShardDescription } from './shard-lineage.js';
import { maxGetRecordsLimit, type ReadStart, ShardReader } from './shard-reader.js';
import {
  type OnFailureCondition,
  OnFailureConditions,
  type ShardLag,
  type ShardState,
  ShardStates,
  type ShardStats,
} from './types.js';

export interface ShardPollerOptions {
  readonly mapping: ResolvedOptions;
  readonly shard: ShardDescription;
  /** Where to read from when the shard has no checkpoint yet. */
  readonly start: ReadStart;
  /** Records that arrived before this (ms since the epoch) are skipped: AT_TIMESTAMP. */
  readonly notBeforeMs: number | undefined;
  /** Called once, when the shard is closed and every record of it is done and checkpointed. */
  readonly onFinished: (shardId: string) => void;
}

/** One of the ParallelizationFactor concurrent batch sequences of a shard. */
interface Lane {
  readonly queue: ShardRecord[];
  /** When each queued record was read, for the batching window. */
  readonly enqueuedAtMs: number[];
  busy: boolean;
  /** Since when the lane has had no batch in flight; a batching window opens no earlier. */
  freeSinceMs: number;
  readonly wakeup: Wakeup;
}

const maxBackoffMs = 5_000;

/**
 * Consumes one shard as Lambda does: reads it with its own loop and sends batches to the function
 * through up to ParallelizationFactor lanes (one lane keeps the whole shard in order), applying the
 * retry, bisect, record age and partial-response rules, and checkpoints only what is done.
 *
 * The reader reads ahead of the lanes by up to a batch per lane so that a full batch is ready when a
 * lane frees up; records read are held in memory until processed, never dropped.
 */
export class ShardPoller {
  readonly shardId: string;
  readonly parentShardIds: readonly string[];
  readonly #options: ShardPollerOptions;
  readonly #mapping: ResolvedOptions;
  readonly #eventContext: EventContext;
  readonly #lanes: Lane[];
  readonly #abort = new AbortController();
  readonly #readerWakeup = new Wakeup();
  readonly #readAheadRecords: number;
  readonly #readAheadBytes: number;
  #closed: boolean;
  #state: ShardState = ShardStates.waitingForParents;
  #stopping = false;
  #preparing: Promise<boolean> | undefined;
  #prepared = false;
  #reader: ShardReader | undefined;
  #tracker = new CheckpointTracker();
  #loops: Promise<void>[] = [];
  #bufferedRecords = 0;
  #bufferedBytes = 0;
  #lastReadEmpty = false;
  #millisBehindLatest: number | undefined;
  /** Arrival of the last record read, ms: where MillisBehindLatest is measured from. */
  #lastReadArrivalMs: number | undefined;
  /** The last read returned fewer records than asked and MillisBehindLatest 0: nothing newer was there. */
  #lastReadAtTip = false;
  #recordsDelivered = 0;
  #invocations = 0;
  #failedInvocations = 0;
  #bisects = 0;
  #recordsSentToOnFailure = 0;
  #lastError: string | undefined;
  #readAheadFull = false;
  #lastBatchIteratorAgeMs: number | undefined;
  #maxIteratorAgeMs = 0;
  #persisted: string | undefined;
  #persisting: Promise<void> | undefined;

  constructor(options: ShardPollerOptions) {
    this.#options = options;
    this.#mapping = options.mapping;
    this.shardId = options.shard.shardId;
    this.parentShardIds = options.shard.parentShardIds;
    this.#closed = options.shard.closed;
    this.#eventContext = {
      awsRegion: this.#mapping.awsRegion,
      eventSourceArn: this.#mapping.streamArn,
      invokeIdentityArn: this.#mapping.invokeIdentityArn,
    };
    const laneCount = this.#mapping.parallelizationFactor;
    this.#lanes = Array.from({ length: laneCount }, () => ({
      queue: [],
      enqueuedAtMs: [],
      busy: false,
      freeSinceMs: 0,
      wakeup: new Wakeup(),
    }));
    this.#readAheadRecords = this.#mapping.batchSize * laneCount;
    this.#readAheadBytes = 2 * maxInvokePayloadBytes * laneCount;
  }

  get state(): ShardState {
    return this.#state;
  }

  /** The listing shows the shard closed (split or merged); it finishes once read to its end. */
  markClosed(): void {
    this.#closed = true;
  }

  /**
   * Loads the checkpoint and gets the first shard iterator (retrying until it works or the poller
   * stops). Done at discovery, before the parents finish, so that LATEST is the tip at start time.
   * Resolves to false when stopped first.
   */
  prepare(): Promise<boolean> {
    this.#preparing ??= this.#prepareOnce();
    return this.#preparing;
  }

  /** Begins reading and invoking; the mapping calls it once the parents are finished. */
  start(): void {
    if (this.#state !== ShardStates.waitingForParents || this.#stopping) return;
    this.#state = ShardStates.polling;
    // The loops handle every expected failure themselves; anything else is a bug, reported rather
    // than left as an unhandled rejection.
    this.#loops = [this.#readLoop(), ...this.#lanes.map((lane) => this.#laneLoop(lane))].map((loop) =>
      loop.catch((error: unknown) => this.#reportError(error, 'poller')),
    );
  }

  /** Stops reading and invoking; waits for the invocations in flight and the checkpoint write. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#abort.abort();
    this.#readerWakeup.notify();
    for (const lane of this.#lanes) lane.wakeup.notify();
    await this.#preparing;
    await Promise.all(this.#loops);
    await this.#persisting;
  }

  /**
   * Caught up: the last GetRecords found nothing new, nothing is buffered, in flight or waiting for a
   * retry, and everything read is checkpointed (and the checkpoint written). A closed shard is
   * caught up only once finished.
   */
  isCaughtUp(): boolean {
    if (this.#state === ShardStates.finished) return true;
    if (this.#state !== ShardStates.polling || this.#closed || this.#reader?.ended) return false;
    return (
      this.#prepared &&
      this.#lastReadEmpty &&
      (this.#millisBehindLatest ?? 0) === 0 &&
      this.#bufferedRecords === 0 &&
      this.#lanes.every((lane) => !lane.busy) &&
      this.#tracker.outstanding === 0 &&
      this.#persisting === undefined
    );
  }

  stats(): ShardStats {
    return {
      shardId: this.shardId,
      parentShardIds: this.parentShardIds,
      state: this.#state,
      checkpoint: this.#tracker.checkpoint,
      recordsDelivered: this.#recordsDelivered,
      invocations: this.#invocations,
      failedInvocations: this.#failedInvocations,
      bisects: this.#bisects,
      recordsSentToOnFailure: this.#recordsSentToOnFailure,
      millisBehindLatest: this.#millisBehindLatest,
      caughtUp: this.isCaughtUp(),
      lastError: this.#lastError,
      lag: this.#lag(),
    };
  }

  #lag(): ShardLag {
    const oldest = this.#tracker.oldestPending;
    const now = this.#mapping.clock();
    const pendingRecords = this.#tracker.outstanding;
    return {
      pendingRecords,
      iteratorAgeMs: oldest?.arrivalMs === undefined ? 0 : Math.max(0, now - oldest.arrivalMs),
      lagMs: lagBehindNewest({
        millisBehindLatest: this.#millisBehindLatest,
        lastReadArrivalMs: this.#lastReadArrivalMs,
        oldestPendingArrivalMs: oldest?.arrivalMs,
        pendingRecords,
        lastReadAtTip: this.#lastReadAtTip || this.#state === ShardStates.finished,
      }),
      lastBatchIteratorAgeMs: this.#lastBatchIteratorAgeMs,
      maxIteratorAgeMs: this.#maxIteratorAgeMs,
      readAheadFull: this.#readAheadFull,
    };
  }

  async #prepareOnce(): Promise<boolean> {
    const { mapping } = this.#options;
    for (let failures = 0; !this.#stopping; failures += 1) {
      try {
        const stored = await mapping.checkpoints.get(this.shardId);
        this.#tracker = new CheckpointTracker(stored);
        this.#persisted = stored;
        const reader = new ShardReader({
          kinesis: mapping.kinesis,
          streamName: mapping.streamName,
          shardId: this.shardId,
          start: stored === undefined ? this.#options.start : { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: stored },
        });
        await reader.open(this.#abort.signal);
        this.#reader = reader;
        this.#prepared = true;
        return true;
      } catch (error) {
        if (this.#stopping) break;
        this.#reportError(error, 'GetShardIterator');
        await sleep(this.#backoffMs(failures), this.#abort.signal);
      }
    }
    return false;
  }

  async #readLoop(): Promise<void> {
    if (!(await this.prepare())) return;
    const reader = this.#reader;
    if (!reader) return;
    let failures = 0;
    while (!this.#stopping && !reader.ended) {
      if (this.#bufferedRecords >= this.#readAheadRecords || this.#bufferedBytes >= this.#readAheadBytes) {
        // Backpressure: the function is slower than the shard fills; records wait in the stream.
        this.#readAheadFull = true;
        await this.#readerWakeup.wait(Number.POSITIVE_INFINITY, this.#abort.signal);
        continue;
      }
      this.#readAheadFull = false;
      let result: Awaited<ReturnType<ShardReader['read']>>;
      const limit = this.#readAheadRecords - this.#bufferedRecords;
      try {
        result = await reader.read(limit, this.#abort.signal);
        failures = 0;
      } catch (error) {
        if (this.#stopping) break;
        this.#lastReadEmpty = false;
        // ProvisionedThroughputExceededException included: back off and read again from the same iterator.
        this.#reportError(error, 'GetRecords');
        await sleep(this.#backoffMs(failures), this.#abort.signal);
        failures += 1;
        continue;
      }
      this.#millisBehindLatest = result.millisBehindLatest;
      this.#lastReadEmpty = result.records.length === 0;
      // A full read may have stopped short of the tip even when the engine says 0 (kinesis-mock can).
      this.#lastReadAtTip =
        result.records.length < Math.min(limit, maxGetRecordsLimit) && (result.millisBehindLatest ?? 0) === 0;
      const lastArrival = result.records.at(-1)?.ApproximateArrivalTimestamp;
      if (lastArrival !== undefined) this.#lastReadArrivalMs = lastArrival.getTime();
      this.#accept(result.records.map((record) => toShardRecord(this.shardId, record, this.#eventContext)));
      if (result.endOfShard) {
        this.#closed = true;
        for (const lane of this.#lanes) lane.wakeup.notify();
        this.#maybeFinish();
        break;
      }
      // Like Lambda: poll at the base rate while idle, at once while records keep coming.
      if (result.records.length === 0) await sleep(this.#mapping.pollIntervalMs, this.#abort.signal);
    }
  }

  #accept(records: readonly ShardRecord[]): void {
    const nowMs = this.#mapping.clock();
    const skipped: string[] = [];
    const touched = new Set<Lane>();
    const { notBeforeMs } = this.#options;
    for (const record of records) {
      this.#tracker.track(record.sequenceNumber, record.arrivalMs);
      if (notBeforeMs !== undefined && record.arrivalMs < notBeforeMs) {
        skipped.push(record.sequenceNumber);
        continue;
      }
      const lane = this.#lanes[laneOf(record.partitionKey, this.#lanes.length)];
      if (!lane) throw new RangeError(`no lane for partition key ${record.partitionKey}`);
      lane.queue.push(record);
      lane.enqueuedAtMs.push(nowMs);
      this.#bufferedRecords += 1;
      this.#bufferedBytes += record.payloadBytes;
      touched.add(lane);
    }
    if (skipped.length > 0) this.#complete(skipped);
    for (const lane of touched) lane.wakeup.notify();
  }

  async #laneLoop(lane: Lane): Promise<void> {
    if (!(await this.prepare())) return;
    const { batchSize, maxBatchingWindowMs, clock } = this.#mapping;
    while (!this.#stopping) {
      if (lane.queue.length === 0) {
        if (this.#reader?.ended) break;
        await lane.wakeup.wait(Number.POSITIVE_INFINITY, this.#abort.signal);
        continue;
      }
      const nowMs = clock();
      const decision = decideBatch(
        lane.queue,
        { batchSize, maxBatchingWindowMs },
        {
          openedAtMs: Math.max(lane.enqueuedAtMs[0] ?? nowMs, lane.freeSinceMs),
          nowMs,
          moreMayCome: !this.#reader?.ended,
        },
      );
      if (!decision.ready) {
        await lane.wakeup.wait(decision.waitMs, this.#abort.signal);
        continue;
      }
      const batch = lane.queue.splice(0, decision.length);
      lane.enqueuedAtMs.splice(0, decision.length);
      this.#bufferedRecords -= batch.length;
      this.#bufferedBytes -= batch.reduce((total, record) => total + record.payloadBytes, 0);
      this.#readerWakeup.notify();
      lane.busy = true;
      try {
        await this.#processBatch(batch);
      } finally {
        lane.busy = false;
        lane.freeSinceMs = clock();
      }
      this.#maybeFinish();
    }
    this.#maybeFinish();
  }

  /** Invokes until the batch is done (processed or discarded) or the poller stops. */
  async #processBatch(records: readonly ShardRecord[]): Promise<void> {
    const mapping = this.#mapping;
    let work: BatchAttempt[] = [firstAttempt(records)];
    while (!this.#stopping) {
      let attempt = work.shift();
      if (!attempt) return;
      const { expired, fresh } = splitExpired(attempt.records, mapping.clock(), mapping.maximumRecordAgeMs);
      if (expired.length > 0) {
        if (!(await this.#discard(expired, OnFailureConditions.recordAgeExceeded, attempt.invokeCount))) return;
        if (fresh.length === 0) continue;
        attempt = { ...attempt, records: fresh };
      }
      attempt = { ...attempt, invokeCount: attempt.invokeCount + 1 };
      const verdict = await this.#invoke(attempt.records);
      const decision = decideAfterAttempt(attempt, verdict, mapping);
      if (decision.bisected) this.#bisects += 1;
      if (decision.succeeded.length > 0) {
        this.#recordsDelivered += decision.succeeded.length;
        this.#complete(decision.succeeded.map((record) => record.sequenceNumber));
      }
      if (decision.exhausted) {
        const { records: given, invokeCount } = decision.exhausted;
        if (!(await this.#discard(given, OnFailureConditions.retryAttemptsExhausted, invokeCount))) return;
      }
      work = [...decision.next, ...work];
      if (verdict.kind !== 'success' && work.length > 0) await sleep(mapping.retryDelayMs, this.#abort.signal);
    }
  }

  async #invoke(records: readonly ShardRecord[]): Promise<BatchVerdict> {
    this.#invocations += 1;
    // Lambda's IteratorAge: the age of the batch's last record when the function gets it.
    const last = records.at(-1);
    if (last !== undefined) {
      this.#lastBatchIteratorAgeMs = Math.max(0, this.#mapping.clock() - last.arrivalMs);
      this.#maxIteratorAgeMs = Math.max(this.#maxIteratorAgeMs, this.#lastBatchIteratorAgeMs);
    }
    let verdict: BatchVerdict;
    try {
      const response = await this.#mapping.invoke(buildEvent(records));
      // Without ReportBatchItemFailures, Lambda ignores what the function returns.
      verdict = this.#mapping.reportBatchItemFailures ? interpretBatchResponse(response, records) : { kind: 'success' };
    } catch (error) {
      verdict = { kind: 'failure', reason: describeError(error) };
    }
    if (verdict.kind !== 'success') {
      this.#failedInvocations += 1;
      this.#lastError =
        verdict.kind === 'failure'
          ? `function error: ${verdict.reason}`
          : `partial batch failure at index ${verdict.failedIndex}`;
    }
    return verdict;
  }

  /**
   * Gives up on records: tells the on-failure destination (until it accepts, so that a failing
   * destination loses nothing), then moves the shard past them. False when stopped before that.
   */
  async #discard(
    records: readonly ShardRecord[],
    condition: OnFailureCondition,
    invokeCount: number,
  ): Promise<boolean> {
    const { onFailure, clock, retryDelayMs } = this.#mapping;
    if (onFailure) {
      const document = buildOnFailureRecord(
        { shardId: this.shardId, records, condition, invokeCount, nowMs: clock() },
        this.#mapping,
      );
      for (;;) {
        try {
          await onFailure(document);
          break;
        } catch (error) {
          this.#reportError(error, 'onFailure');
          if (this.#stopping) return false;
          await sleep(retryDelayMs, this.#abort.signal);
          if (this.#stopping) return false;
        }
      }
    }
    this.#recordsSentToOnFailure += records.length;
    this.#complete(records.map((record) => record.sequenceNumber));
    return true;
  }

  #complete(sequenceNumbers: readonly string[]): void {
    if (this.#tracker.complete(sequenceNumbers) !== undefined) this.#persistingCheckpoint();
  }

  #persistingCheckpoint(): void {
    this.#persisting ??= this.#persistLoop().finally(() => {
      this.#persisting = undefined;
      // A checkpoint that moved after the loop's last look must not wait for the next batch.
      if (!this.#stopping && this.#tracker.checkpoint !== this.#persisted) this.#persistingCheckpoint();
      else this.#maybeFinish();
    });
  }

  // One write at a time, always of the newest checkpoint: writes are never reordered.
  async #persistLoop(): Promise<void> {
    let failures = 0;
    for (;;) {
      const target = this.#tracker.checkpoint;
      if (target === undefined || target === this.#persisted) return;
      try {
        await this.#mapping.checkpoints.put(this.shardId, target);
        this.#persisted = target;
        failures = 0;
      } catch (error) {
        this.#reportError(error, 'checkpoint');
        if (this.#stopping) return;
        await sleep(this.#backoffMs(failures), this.#abort.signal);
        failures += 1;
      }
    }
  }

  #maybeFinish(): void {
    if (
      this.#state === ShardStates.polling &&
      this.#reader?.ended &&
      this.#bufferedRecords === 0 &&
      this.#lanes.every((lane) => !lane.busy && lane.queue.length === 0) &&
      this.#tracker.outstanding === 0 &&
      this.#persisting === undefined &&
      this.#persisted === this.#tracker.checkpoint
    ) {
      this.#state = ShardStates.finished;
      this.#options.onFinished(this.shardId);
    }
  }

  #backoffMs(failures: number): number {
    return Math.min(maxBackoffMs, Math.max(this.#mapping.pollIntervalMs, 10) * 2 ** Math.min(failures, 10));
  }

  #reportError(error: unknown, operation: string): void {
    this.#lastError = `${operation}: ${describeError(error)}`;
    this.#mapping.onInternalError(error, { shardId: this.shardId, operation });
  }
}
