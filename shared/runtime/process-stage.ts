import type { ProcessNode } from '../dag/graph.js';
import type { StageSpec } from '../dag/plan-types.js';
import { DeadLetterReasons, RecordProcessingError } from '../operators/record-errors.js';
import {
  type Emission,
  emptyKeyState,
  type Failure,
  isEmptyState,
  type KeyedInput,
  type KeyState,
  type KeyStep,
  nextTimer,
  runKey,
} from '../process/keyed-process.js';
import { compareStrings } from '../util/compare-strings.js';
import { STORE_TIME_BOUND } from '../windows/event-time.js';
import type { Decoded } from './decode.js';
import { inheritedDue } from './inherited-timers.js';
import { MAX_STATE_ITEM_BYTES } from './io/item-size.js';
import { compareSequenceNumbers, isApplied } from './io/sequence-numbers.js';
import type { ShardDirectory } from './io/shard-directory.js';
import { InvalidStateRequestError } from './io/state-errors.js';
import { timerOf } from './io/state-keys.js';
import type { PutWindowChange, StoredWindow, WatermarkStore, WindowRef, WindowStore } from './io/state-store.js';
import { stateItemBytes } from './io/window-items.js';
import { ownedValue } from './owned-value.js';
import type { Element, InputRecord } from './records.js';
import type { Step } from './stage-program.js';
import {
  type Arrival,
  producedRecord,
  recordReaching,
  type StatefulBatchSink,
  type WalkedBatch,
  walkBatch,
} from './stateful-batch.js';

export interface ProcessStageOptions {
  readonly stage: StageSpec;
  readonly node: ProcessNode;
  /** One item per key: the key's state and timers, with the version and fence windows use. */
  readonly store: WindowStore & WatermarkStore;
  /** The operators after the process function, compiled. */
  readonly downstream: Step;
  /** The clock of processing-time timers and TTL: the same the window stage reads. */
  readonly now: () => number;
  readonly producers: readonly string[];
  /**
   * The input stream's shards, for their lineage: a shard born of a reshard starts from its parents'
   * applied positions, and fires keys timed on its finished parents.
   */
  readonly shards?: Pick<ShardDirectory, 'describeShard'>;
}

/** What a process stage did with one batch: one put per key touched or fired, written after the outputs. */
export interface ProcessBatch extends WalkedBatch {
  readonly changes: PutWindowChange<KeyState>[];
  readonly counts: { applied: number; duplicates: number; timers: number; late: number };
}

/**
 * A key's item in the state table: the window item's layout with a fixed [0, 0) "window", so that a
 * key's state is one item, read with one BatchGetItem key and written with one conditional put
 * carrying the version and the per-shard fence (docs/state.md). `fireAt` is the key's earliest timer,
 * so the fire-time index finds the keys with due timers; a key with none sorts past every time.
 */
const KEY_SLOT = { start: 0, end: 0 } as const;
const NO_TIMER = STORE_TIME_BOUND - 1;

/**
 * One batch of a keyed process function (docs/process-functions.md): the batch walked in shard order,
 * each touched key's item read once (consistent BatchGetItem), records an earlier attempt applied
 * skipped (the item's fence), the function run per key ({@link runKey}), then the keys whose timers
 * are due found through the fire-time index, re-read consistently and fired. The caller writes the
 * outputs first and the puts after: a crash between them repeats outputs (same ids), never loses one,
 * and a key's records and timers are applied at most once because its fence and timers are in the
 * same item as its state.
 */
export class ProcessStage {
  readonly #options: ProcessStageOptions;

  constructor(options: ProcessStageOptions) {
    this.#options = options;
  }

  async process(
    records: readonly InputRecord[],
    decoded: readonly (readonly Decoded[] | RecordProcessingError)[],
    sink: StatefulBatchSink,
  ): Promise<ProcessBatch> {
    const { store, stage, node } = this.#options;
    const first = records[0] as InputRecord;
    const shardId = first.position.shardId;
    const lastRecord = records.at(-1) as InputRecord;
    const walked = await walkBatch(store, records, decoded, sink.deadLetter.bind(sink), {
      stageId: stage.id,
      producers: this.#options.producers,
      operator: node.name,
      ...(this.#options.shards !== undefined && { lineage: { directory: this.#options.shards, stream: stage.input } }),
    });
    const now = this.#options.now();
    const counts = { applied: 0, duplicates: 0, timers: 0, late: 0 };
    const byKey = new Map<string, Arrival[]>();
    for (const arrival of walked.arrivals) {
      const list = byKey.get(arrival.key);
      if (list === undefined) byKey.set(arrival.key, [arrival]);
      else list.push(arrival);
    }
    const stored = new Map(
      (await store.getWindows<KeyState>(stage.id, [...byKey.keys()].map(refOf))).map((w) => [w.state.key, w]),
    );
    const changes: PutWindowChange<KeyState>[] = [];
    const emitted: { element: Element; output?: string; origin: InputRecord }[] = [];

    /**
     * The record an emission is reported under, the same in every attempt however the batch is cut,
     * so that its position on a shuffle stream is (docs/shuffle.md): a record's call, that record; an
     * event-time timer, the record that moved the watermark to its time, or the key's record run
     * before it if later (a timer registered for a time already passed). A processing-time timer
     * fires by the clock: under `fallback`.
     */
    const originOf = (emission: Emission, fresh: readonly Arrival[], fallback: InputRecord): InputRecord => {
      const input = emission.after === undefined ? undefined : (fresh[emission.after] as Arrival).record;
      if (emission.timer === undefined) return input ?? fallback;
      if (emission.timer.domain === 'processing') return fallback;
      const reached = recordReaching(records, walked, emission.timer.time);
      const later =
        input !== undefined &&
        compareSequenceNumbers(input.position.sequenceNumber, reached.position.sequenceNumber) > 0;
      return later ? input : reached;
    };
    const settle = (
      key: string,
      item: StoredWindow<KeyState> | undefined,
      step: KeyStep,
      fresh: readonly Arrival[],
      fallback: InputRecord,
    ) => {
      counts.timers += step.failures.filter((f) => f.timer !== undefined).length;
      for (const emission of step.emissions) {
        const element = { id: emission.id, key, value: emission.value, eventTime: emission.time };
        const origin = originOf(emission, fresh, fallback);
        emitted.push({ element, ...(emission.output !== undefined && { output: emission.output }), origin });
      }
      // Nothing changed (every record applied before, no timer due): no write, one fewer request.
      if (item !== undefined && JSON.stringify(step.state) === JSON.stringify(live(item))) return;
      // The fence never moves back: a bisected retry's last record can be before an earlier attempt's.
      const fenced = item?.fence[shardId];
      const last = lastRecord.position.sequenceNumber;
      const sequence = fenced !== undefined && compareSequenceNumbers(fenced, last) > 0 ? fenced : last;
      const change = this.#put(key, item, step.state, shardId, sequence, now);
      if (change !== undefined) changes.push(change);
    };

    for (const [key, arrivals] of byKey) {
      const item = stored.get(key);
      const fresh = item === undefined ? arrivals : arrivals.filter((a) => !this.#applied(item, a, shardId));
      counts.duplicates += arrivals.length - fresh.length;
      const before = live(item);
      const inputs: KeyedInput[] = fresh.map((a) => ({
        id: a.element.id,
        value: a.element.value,
        time: a.time,
        watermark: a.watermark,
      }));
      const options = { idPrefix: stage.id, watermark: walked.watermark, now, processingTimers: node.processingTimers };
      let step = runKey(node.process, node.state, key, before, inputs, options);
      // The key's item would not fit: run again, refusing each record (or timer) whose effect breaks it.
      if (this.#unfit(key, step.state, now) !== undefined) {
        step = runKey(node.process, node.state, key, before, inputs, {
          ...options,
          unfit: (state) => this.#unfit(key, state, now),
        });
      }
      for (const failure of step.failures) {
        if (failure.record !== undefined) {
          const arrival = fresh[failure.record] as Arrival;
          sink.deadLetter(arrival.record, this.#error(failure), arrival.element.id);
        } else this.#timerFailed(sink, key, failure, (arrivals.at(-1) as Arrival).record);
      }
      counts.applied += fresh.length - step.failures.filter((f) => f.record !== undefined).length;
      settle(key, item, step, fresh, (arrivals.at(-1) as Arrival).record);
    }

    // Keys this batch did not touch whose timers are due: found through the fire-time index, never a
    // scan, and read again consistently (the index is eventually consistent) before they fire.
    // Below NO_TIMER: the end of input (a watermark past every time) must not find the keys with no timer.
    const bound = Math.min(node.processingTimers ? Math.max(walked.watermark, now) : walked.watermark, NO_TIMER - 1);
    if (Number.isFinite(bound)) {
      const found = await store.dueWindows<KeyState>(stage.id, shardId, bound);
      // Keys still timed on a finished ancestor shard (none of their records came since a reshard):
      // the one shard whose hash key range holds the key fires them.
      const inherited = await inheritedDue(
        this.#options.shards,
        stage.input,
        shardId,
        (ancestor) => store.dueWindows<KeyState>(stage.id, ancestor, bound),
        (w) => w.state.key,
      );
      // The timer each key was found under, once per key (a lagging index can show it under two).
      const foundUnder = new Map<string, string>();
      for (const w of [...found, ...inherited]) {
        if (!byKey.has(w.state.key) && !foundUnder.has(w.state.key)) foundUnder.set(w.state.key, w.timer);
      }
      const own = timerOf(stage.id, shardId);
      // As the table holds them now; a key whose timer moved since the index saw it to a shard other
      // than this one is that shard's to fire.
      const due =
        foundUnder.size === 0
          ? []
          : (await store.getWindows<KeyState>(stage.id, [...foundUnder.keys()].map(refOf))).filter(
              (w) =>
                w.state.closed !== true &&
                w.fireAt <= bound &&
                (w.timer === own || w.timer === foundUnder.get(w.state.key)),
            );
      for (const item of due) {
        const options = {
          idPrefix: stage.id,
          watermark: walked.watermark,
          now,
          processingTimers: node.processingTimers,
        };
        let step = runKey(node.process, node.state, item.state.key, live(item), [], options);
        if (this.#unfit(item.state.key, step.state, now) !== undefined) {
          step = runKey(node.process, node.state, item.state.key, live(item), [], {
            ...options,
            unfit: (state) => this.#unfit(item.state.key, state, now),
          });
        }
        for (const failure of step.failures) this.#timerFailed(sink, item.state.key, failure, lastRecord);
        settle(item.state.key, item, step, [], lastRecord);
      }
    }

    // Emissions reported under one record take their positions in this order (shuffle-pack.ts): by
    // key, not in the order the batch met its keys, which depends on where the batch was cut; a key's
    // own emissions keep their order.
    emitted.sort((a, b) => compareStrings(a.element.key ?? '', b.element.key ?? ''));
    for (const { element, output, origin } of emitted) {
      if (output !== undefined) {
        const stream = node.sideOutputs[output];
        if (stream === undefined) {
          const error = new RecordProcessingError({
            reason: DeadLetterReasons.operatorError,
            operator: node.name,
            message: `emitted to side output '${output}', which the operator does not declare (sideOutputs: [${Object.keys(node.sideOutputs).join(', ')}])`,
          });
          sink.deadLetter(producedRecord(origin, element.value), error, element.id);
          continue;
        }
        sink.output(
          {
            stream,
            partitionKey: element.key ?? '',
            data: JSON.stringify({ id: element.id, key: element.key, time: element.eventTime, value: element.value }),
          },
          origin,
        );
        continue;
      }
      // A copy: what a function emits may be its state (or a CEP match's events), written after this.
      this.#options.downstream(
        { ...element, value: ownedValue(element.value) },
        {
          emit: (record) => sink.output(record, origin),
          filtered: (operator) => sink.filtered(operator),
          ...(sink.tally !== undefined && { tally: sink.tally }),
          failed: (error) => sink.deadLetter(producedRecord(origin, element.value), error, element.id),
        },
      );
    }
    return { ...walked, changes, counts };
  }

  /** Whether an earlier attempt of this batch (or an earlier batch) already applied the record to the key. */
  #applied(item: StoredWindow<KeyState>, arrival: Arrival, shardId: string): boolean {
    return isApplied(item.fence, shardId, arrival.record.position.sequenceNumber);
  }

  /**
   * The key's item after the step: state, timers and the batch's fence. A key left with nothing is
   * written as a tombstone (out of every shard's timer, expiring after the retention) so that its
   * fence outlives it; a key that never had an item and has nothing is not written at all.
   */
  #put(
    key: string,
    item: StoredWindow<KeyState> | undefined,
    state: KeyState,
    shardId: string,
    sequenceNumber: string,
    now: number,
  ): PutWindowChange<KeyState> | undefined {
    const empty = isEmptyState(state);
    // A key that fired timers keeps the count in a tombstone: a timer it registers later is named by
    // it, and a retry cut elsewhere would otherwise name that timer's emissions differently.
    if (empty && item === undefined && state.f === undefined) return undefined;
    return {
      kind: 'put',
      stageId: this.#options.stage.id,
      state: {
        key,
        ...KEY_SLOT,
        accumulator: state,
        count: 0,
        emitted: 0,
        ...(empty && { closed: true }),
      },
      expectedVersion: item?.version ?? 0,
      shardId,
      sequenceNumber,
      fireAt: empty ? now : (nextTimer(state, true) ?? NO_TIMER),
    };
  }

  /** Why the key's state cannot be written, if it cannot: too large for an item, or not storable. */
  #unfit(key: string, state: KeyState, now: number): string | undefined {
    const change = this.#put(key, undefined, state, 'shard', '0', now);
    if (change === undefined) return undefined;
    let bytes: number;
    try {
      bytes = stateItemBytes(change);
    } catch (error) {
      if (error instanceof InvalidStateRequestError)
        return `the state of key ${JSON.stringify(key)} cannot be stored: ${error.message}`;
      throw error;
    }
    if (bytes <= MAX_STATE_ITEM_BYTES) return undefined;
    return (
      `the state of key ${JSON.stringify(key)} would take about ${bytes} bytes with this call's changes, more than ` +
      `the ${MAX_STATE_ITEM_BYTES} a DynamoDB item is allowed here: they are not applied (state, timers, emissions); ` +
      'keep the state bounded (a TTL, or clear it in a timer)'
    );
  }

  #error(failure: Failure): RecordProcessingError {
    const tooLarge = failure.message.includes('a DynamoDB item is allowed');
    return new RecordProcessingError(
      {
        reason: tooLarge ? DeadLetterReasons.stateTooLarge : DeadLetterReasons.operatorError,
        operator: this.#options.node.name,
        message: failure.message,
      },
      { cause: failure.cause },
    );
  }

  /** A timer whose onTimer threw: a dead letter naming the key and the timer; the timer is gone. */
  #timerFailed(sink: StatefulBatchSink, key: string, failure: Failure, origin: InputRecord): void {
    const timer = failure.timer as { domain: string; time: number };
    const id = `${this.#options.stage.id}/${key}/timer/${timer.domain}/${timer.time}`;
    const error = this.#error({
      ...failure,
      message: `${timer.domain}-time timer ${timer.time} of key ${JSON.stringify(key)}: ${failure.message}`,
    });
    sink.deadLetter(producedRecord(origin, { key, timer }), error, id);
  }
}

function refOf(key: string): WindowRef {
  return { key, ...KEY_SLOT };
}

/**
 * The key's state as stored, or nothing when the item is absent or a tombstone; a tombstone keeps the
 * count of timers fired, which names the next timer's emissions.
 */
function live(item: StoredWindow<KeyState> | undefined): KeyState {
  if (item === undefined) return emptyKeyState();
  if (item.state.closed !== true) return item.state.accumulator;
  const fired = item.state.accumulator?.f;
  return fired === undefined ? emptyKeyState() : { ...emptyKeyState(), f: fired };
}
