/**
 * The window stage as it was before a key's sessions shared one item (commit 4417bf2,
 * shared/runtime/window-stage.ts, unchanged but for its imports and this header): a session stage
 * keeps one item per session, Queries each key, and deletes the sessions a merge replaced. Tests run
 * it for a prefix of an input and the current stage for the rest, as an upgrade of Eddy under a
 * running pipeline does (test/unit/runtime/session-upgrade-properties.test.ts). Test-only: frozen.
 */
import { createHash } from 'node:crypto';
import type { WindowNode } from '../../shared/dag/graph.js';
import type { StageSpec } from '../../shared/dag/plan-types.js';
import { DeadLetterReasons, RecordProcessingError } from '../../shared/operators/record-errors.js';
import type { AppliedPositions } from '../../shared/runtime/applied-positions.js';
import type { ChannelWatermarks } from '../../shared/runtime/channel-watermarks.js';
import type { Decoded } from '../../shared/runtime/decode.js';
import { MAX_STATE_ITEM_BYTES } from '../../shared/runtime/io/item-size.js';
import { compareSequenceNumbers, isApplied } from '../../shared/runtime/io/sequence-numbers.js';
import type { ShardDirectory } from '../../shared/runtime/io/shard-directory.js';
import { InvalidStateRequestError, StateItemTooLargeError } from '../../shared/runtime/io/state-errors.js';
import { timerOf } from '../../shared/runtime/io/state-keys.js';
import type {
  PutWindowChange,
  StoredWindow,
  WatermarkStore,
  WindowChange,
  WindowRef,
  WindowStore,
} from '../../shared/runtime/io/state-store.js';
import { stateItemBytes } from '../../shared/runtime/io/window-items.js';
import type { Element, InputRecord } from '../../shared/runtime/records.js';
import type { Step } from '../../shared/runtime/stage-program.js';
import {
  type Arrival,
  producedRecord,
  recordReaching,
  type StatefulBatchSink,
  walkBatch,
} from '../../shared/runtime/stateful-batch.js';
import type { StatefulKinds } from '../../shared/runtime/stateful-runner.js';
import { windowOperatorWith } from '../../shared/runtime/stateful-window.js';
import { compareStrings } from '../../shared/util/compare-strings.js';
import { assignWindows, lastWindowStart } from '../../shared/windows/assigners.js';
import type { WindowState } from '../../shared/windows/types.js';
import {
  type FailedWindow,
  fireWindows,
  type LateRecord,
  processKeyBatch,
  type TimedValue,
  type WindowSpec,
  windowFireAt,
} from '../../shared/windows/window-operator.js';

/** What a window stage did with one batch: the state to write once its outputs are written. */
export interface WindowBatch {
  /** Puts (new and changed windows, tombstones of fired ones): written first. */
  readonly changes: WindowChange[];
  /** Sessions merged away and leftovers: deleted after the puts, so a crash never loses a window. */
  readonly deletes: WindowChange[];
  readonly watermark: number;
  readonly channels: ChannelWatermarks;
  /** The highest envelope position applied per upstream channel, saved with the channel watermarks. */
  readonly positions: AppliedPositions;
  readonly channelsVersion: number;
  /**
   * `duplicates`: records an earlier attempt of this batch applied (the windows' fences);
   * `repeats`: envelopes the stage before wrote again when it was retried (their positions).
   */
  readonly counts: { applied: number; duplicates: number; repeats: number; late: number };
}

/** A record on a window's late output: the record, why it is late, and the windows it missed. */
export interface LateOutputRecord {
  readonly id: string;
  readonly key: string;
  readonly time: number;
  readonly watermark: number;
  readonly windows: readonly { readonly start: number; readonly end: number }[];
  readonly reason: string;
  readonly value: unknown;
}

export interface WindowStageOptions {
  /** The input stream's shards, for their lineage (windows left on finished parents). */
  readonly shards?: ShardDirectory;
  readonly stage: StageSpec;
  readonly window: WindowNode;
  readonly store: WindowStore & WatermarkStore;
  /** The operators after the window, compiled. */
  readonly downstream: Step;
  readonly now: () => number;
  /** The stages that write the input stream. */
  readonly producers: readonly string[];
}

/**
 * One batch of a windowed stage: the watermark walked through the batch, the touched keys' windows
 * loaded, records already applied by an earlier attempt skipped (each window's fence), the window
 * operator run per key, due windows fired. The caller writes the outputs first and the state after
 * (docs/architecture.md, exactly-once): a crash between them repeats results, never loses them.
 */
export class WindowStage {
  readonly spec: WindowSpec<unknown, unknown, unknown>;
  readonly #options: WindowStageOptions;

  constructor(options: WindowStageOptions) {
    this.#options = options;
    this.spec = {
      assigner: options.window.assigner,
      aggregation: options.window.aggregation,
      allowedLateness: options.window.allowedLateness,
      emit: options.window.emit,
    };
  }

  async process(
    records: readonly InputRecord[],
    decoded: readonly (readonly Decoded[] | RecordProcessingError)[],
    sink: StatefulBatchSink,
  ): Promise<WindowBatch> {
    const { store, stage } = this.#options;
    const first = records[0] as InputRecord;
    const shardId = first.position.shardId;
    const lastSequence = (records.at(-1) ?? first).position.sequenceNumber;
    const walked = await walkBatch(store, records, decoded, sink.deadLetter.bind(sink), {
      stageId: stage.id,
      producers: this.#options.producers,
      operator: this.#options.window.name,
      processingTime: this.spec.assigner.timeDomain === 'processing',
    });
    const { arrivals, watermark } = walked;
    const counts = { applied: 0, duplicates: 0, repeats: walked.repeats, late: 0 };
    const applied = appliedCheck(shardId);
    // A final result is reported under the record that moved the watermark to its window's firing
    // time, whichever attempt fires it (recordReaching); an early update under its key's last record.
    const originOf = (result: { kind: string; windowEnd: number }): InputRecord | undefined =>
      result.kind === 'final'
        ? recordReaching(records, walked, windowFireAt({ end: result.windowEnd }, this.spec.allowedLateness))
        : undefined;

    const byKey = new Map<string, Arrival[]>();
    for (const arrival of arrivals) {
      const list = byKey.get(arrival.key);
      if (list === undefined) byKey.set(arrival.key, [arrival]);
      else list.push(arrival);
    }
    const stored = await this.#load(byKey);
    const changes: WindowChange[] = [];
    const deletes: WindowChange[] = [];
    const touched = new Set<string>();
    const results: { result: ReturnType<typeof fireWindows>['results'][number]; origin: InputRecord }[] = [];

    for (const [key, keyArrivals] of byKey) {
      const windows = stored.get(key) ?? [];
      for (const w of windows) touched.add(windowId(w.state));
      const live = this.#dropLeftovers(windows, shardId, deletes);
      const open = live.filter((w) => w.state.closed !== true);
      // Whether an earlier attempt can have applied any of these records: only if a stored window's
      // fence reaches one of their sequence numbers (few: the envelopes of a pack share its own).
      const sequences = new Set(keyArrivals.map((arrival) => arrival.record.position.sequenceNumber));
      const retried = live.some((w) => [...sequences].some((sequence) => applied(w.fence, sequence)));
      const check = retried ? applied : notApplied;
      let fresh = retried
        ? keyArrivals.filter((arrival) => !this.#alreadyApplied(arrival, live, applied))
        : keyArrivals;
      counts.duplicates += keyArrivals.length - fresh.length;
      // A window whose state would outgrow a DynamoDB item: its records of this batch are
      // dead-lettered, not applied, and the key is computed again without them.
      let outcome = this.#applyKey(key, fresh, live, open, watermark, shardId, lastSequence, check);
      // The same for a window whose state DynamoDB cannot store at all (NaN, a function, a BigInt).
      for (let unfit = outcome.unfit; unfit !== undefined; unfit = outcome.unfit) {
        const { window } = unfit;
        const inWindow = (arrival: Arrival) => window.start <= arrival.time && arrival.time < window.end;
        const blamed = fresh.filter(inWindow);
        if (blamed.length === 0) {
          if (unfit.problem !== undefined) throw unfit.problem;
          throw new StateItemTooLargeError(stage.id, window, unfit.bytes, MAX_STATE_ITEM_BYTES);
        }
        for (const arrival of blamed) {
          sink.deadLetter(arrival.record, this.#unfitState(unfit), arrival.element.id);
        }
        fresh = fresh.filter((arrival) => !inWindow(arrival));
        outcome = this.#applyKey(key, fresh, live, open, watermark, shardId, lastSequence, check);
      }
      changes.push(...outcome.changes);
      deletes.push(...outcome.deletes);
      counts.applied += fresh.length - outcome.late.length - outcome.failed.length;
      const lastOfKey = (keyArrivals.at(-1) as Arrival).record;
      for (const result of outcome.results) results.push({ result, origin: originOf(result) ?? lastOfKey });
      for (const late of outcome.late) this.#emitLate(sink, late, fresh, key, counts);
      for (const failed of outcome.failedWindows) this.#windowFailed(sink, failed, lastOfKey);
      for (const failed of outcome.failed) {
        const arrival = fresh.find((a) => a.element.id === failed.record.id) as Arrival;
        sink.deadLetter(
          arrival.record,
          new RecordProcessingError(
            { reason: DeadLetterReasons.operatorError, operator: this.#options.window.name, message: failed.message },
            { cause: failed.cause },
          ),
          arrival.element.id,
        );
      }
    }

    // Windows closed by the watermark that this batch did not touch: their keys sent nothing new.
    // Before every channel has spoken the watermark is -Infinity: nothing can be due.
    const candidates = Number.isFinite(watermark) ? await store.dueWindows(stage.id, shardId, watermark) : [];
    // Windows still timed on a finished parent shard (Lambda reads a child only after its parents):
    // the child whose hash key range holds their key fires them.
    const directory = this.#options.shards;
    if (Number.isFinite(watermark) && directory?.describeShard !== undefined) {
      const own = await directory.describeShard(stage.input, shardId);
      const seen = new Set<string>();
      const ancestors = [...(own?.parents ?? [])];
      while (own !== undefined && ancestors.length > 0) {
        const ancestor = ancestors.shift() as string;
        if (seen.has(ancestor)) continue;
        seen.add(ancestor);
        ancestors.push(...((await directory.describeShard(stage.input, ancestor))?.parents ?? []));
        for (const w of await store.dueWindows(stage.id, ancestor, watermark)) {
          const hash = BigInt(`0x${createHash('md5').update(w.state.key, 'utf8').digest('hex')}`);
          if (own.startingHashKey <= hash && hash <= own.endingHashKey) candidates.push(w);
        }
      }
    }
    const due = await this.#reread(
      candidates.filter((w) => !touched.has(windowId(w.state))),
      watermark,
      shardId,
    );
    if (due.length > 0) {
      const fired = fireWindows(
        this.spec,
        due.map((w) => w.state),
        [],
        watermark,
      );
      const dueVersion = (state: WindowState<unknown>) =>
        due.find((w) => windowId(w.state) === windowId(state))?.version ?? 0;
      for (const state of fired.removed) {
        changes.push(this.#tombstone(state, dueVersion(state), shardId, lastSequence));
      }
      for (const failed of fired.failed) this.#windowFailed(sink, failed, records.at(-1) as InputRecord);
      for (const result of fired.results) {
        results.push({ result, origin: originOf(result) ?? (records.at(-1) as InputRecord) });
      }
    }

    // Results reported under one record take their positions in this order (shuffle-pack.ts): an
    // order of their own, not of the batch's keys, which depends on where the batch was cut.
    results.sort((a, b) => compareResults(a.result, b.result));
    for (const { result, origin } of results) {
      const element: Element = {
        id: `${stage.id}/${result.key}/${result.windowStart}/${result.windowEnd}/${result.revision}`,
        key: result.key,
        value: result,
        eventTime: result.windowEnd - 1,
      };
      this.#options.downstream(element, {
        emit: (emitted) => sink.output(emitted, origin),
        filtered: (operator) => sink.filtered(operator),
        ...(sink.tally !== undefined && { tally: sink.tally }),
        // The result's own id and value: what the operator after the window could not take.
        failed: (error) => sink.deadLetter(producedRecord(origin, result), error, element.id),
      });
    }
    return {
      changes,
      deletes,
      watermark,
      channels: walked.channels,
      positions: walked.positions,
      channelsVersion: walked.channelsVersion,
      counts,
    };
  }

  /**
   * The due windows as the table holds them now. The GSI they were found through is eventually
   * consistent in DynamoDB, and dynalite writes an item's index entries before the item itself (a
   * crash between the two leaves the index ahead): a result fired from an index copy could carry a
   * value the window never had at that version, emitted before the tombstone's version condition
   * fails, so one result identity would go out with two values. A consistent read of the item is what
   * fires; a window already closed (its tombstone written) or gone fires nothing. So does a window
   * whose timer moved since the index saw it to a shard other than this one (another shard wrote
   * it last, after a reshard): that shard fires it, and two shards firing one window could emit two
   * values under one identity.
   */
  async #reread(candidates: readonly StoredWindow[], watermark: number, shardId: string): Promise<StoredWindow[]> {
    if (candidates.length === 0) return [];
    const { store, stage } = this.#options;
    const own = timerOf(stage.id, shardId);
    const foundUnder = new Map<string, string>();
    for (const w of candidates) if (!foundUnder.has(windowId(w.state))) foundUnder.set(windowId(w.state), w.timer);
    const current = await store.getWindows(
      stage.id,
      [...new Map(candidates.map((w) => [windowId(w.state), w.state])).values()].map((state) => ({
        key: state.key,
        start: state.start,
        end: state.end,
      })),
    );
    return current.filter(
      (w) =>
        w.state.closed !== true &&
        w.fireAt <= watermark &&
        (w.timer === own || w.timer === foundUnder.get(windowId(w.state))),
    );
  }

  /**
   * Runs the window operator over one key's new records, and turns what it did into the changes to
   * write; `tooLarge` names the first window whose item would not fit in DynamoDB.
   */
  #applyKey(
    key: string,
    fresh: readonly Arrival[],
    live: readonly StoredWindow[],
    open: readonly StoredWindow[],
    watermark: number,
    shardId: string,
    lastSequence: string,
    applied: AppliedCheck,
  ) {
    const values: TimedValue<unknown>[] = fresh.map((a) => ({
      value: a.element.value,
      time: a.time,
      id: a.element.id,
    }));
    const skip = (index: number, window: { start: number; end: number }): boolean => {
      if (applied === notApplied) return false;
      const arrival = fresh[index] as Arrival;
      const existing = live.find((w) => w.state.start === window.start && w.state.end === window.end);
      return existing !== undefined && applied(existing.fence, arrival.record.position.sequenceNumber);
    };
    const outcome = processKeyBatch(
      this.spec,
      open.map((w) => w.state),
      key,
      values,
      (index) => (fresh[index] as Arrival).watermark,
      watermark,
      skip,
    );
    const changes: PutWindowChange[] = [];
    const deletes: WindowChange[] = [];
    const versionOf = (state: { start: number; end: number }): number =>
      live.find((w) => w.state.start === state.start && w.state.end === state.end)?.version ?? 0;
    for (const state of outcome.put) changes.push(this.#put(state, versionOf(state), shardId, lastSequence));
    for (const state of outcome.deleted) {
      // A window whose final result failed is closed too: dead-lettered once, never fired again.
      const closed =
        outcome.results.some((r) => r.windowStart === state.start && r.windowEnd === state.end && r.kind === 'final') ||
        outcome.failedWindows.some((f) => f.window.start === state.start && f.window.end === state.end);
      if (closed) changes.push(this.#tombstone(state, versionOf(state), shardId, lastSequence));
      else {
        deletes.push({
          kind: 'delete',
          stageId: this.#options.stage.id,
          window: state,
          expectedVersion: versionOf(state),
        });
      }
    }
    if (this.spec.assigner.kind === 'session') {
      // A session that merged stored sessions and fired in this batch was never written: without a
      // tombstone, a retry after the merged-away sessions were deleted would rebuild it from the
      // retried records alone. Fixed windows born and fired in one batch need none: all their
      // records are in the batch, and nothing of them was written.
      for (const result of outcome.results) {
        if (result.kind !== 'final' || changes.some((c) => sameWindow(c.state, result))) continue;
        const state = { key, start: result.windowStart, end: result.windowEnd, accumulator: null, count: 0 };
        changes.push(this.#tombstone({ ...state, emitted: result.revision }, versionOf(state), shardId, lastSequence));
      }
    }
    let unfit: UnfitState | undefined;
    for (const change of changes) {
      const window = { key, start: change.state.start, end: change.state.end };
      let bytes: number;
      try {
        bytes = stateItemBytes(change);
      } catch (error) {
        if (!(error instanceof InvalidStateRequestError)) throw error;
        unfit = { window, bytes: 0, problem: error };
        break;
      }
      if (bytes <= MAX_STATE_ITEM_BYTES) continue;
      unfit = { window, bytes };
      break;
    }
    return { ...outcome, changes, deletes, unfit };
  }

  #unfitState({ window, bytes, problem }: UnfitState): RecordProcessingError {
    const where = `window [${window.start}, ${window.end}) of key ${JSON.stringify(window.key)}`;
    if (problem !== undefined) {
      return new RecordProcessingError(
        {
          reason: DeadLetterReasons.operatorError,
          operator: this.#options.window.name,
          message:
            `the state of ${where} cannot be stored with this batch's records of it (${problem.message}): ` +
            'they are not applied; check what the aggregation adds',
        },
        { cause: problem },
      );
    }
    return new RecordProcessingError({
      reason: DeadLetterReasons.stateTooLarge,
      operator: this.#options.window.name,
      message:
        `${where} would hold about ${bytes} ` +
        `bytes with this record, more than the ${MAX_STATE_ITEM_BYTES} a DynamoDB item is allowed here: the record ` +
        'is not applied; use an aggregation whose accumulator stays bounded',
    });
  }

  /**
   * A window whose `result` threw: a dead letter of the window itself (its key, bounds and
   * accumulator), reported under the batch record that fired it; the other windows go on.
   */
  #windowFailed(sink: StatefulBatchSink, failed: FailedWindow<unknown>, origin: InputRecord): void {
    const { key, start, end, emitted, accumulator } = failed.window;
    const id = `${this.#options.stage.id}/${key}/${start}/${end}/${emitted}`;
    const record = producedRecord(origin, { key, windowStart: start, windowEnd: end, accumulator });
    const error = new RecordProcessingError(
      {
        reason: DeadLetterReasons.operatorError,
        operator: this.#options.window.name,
        message: `window [${start}, ${end}) of key ${JSON.stringify(key)} has no result: ${failed.message}`,
      },
      { cause: failed.cause },
    );
    sink.deadLetter(record, error, id);
  }

  /** Loads the windows the batch can touch: exact windows for fixed assigners, all of a key's for sessions. */
  async #load(byKey: Map<string, Arrival[]>): Promise<Map<string, StoredWindow[]>> {
    const { store, stage } = this.#options;
    if (this.spec.assigner.kind === 'session') return store.queryWindows(stage.id, [...byKey.keys()]);
    // Each window once, in the order first met; a key's fixed windows differ by their start.
    const refs: WindowRef[] = [];
    for (const [key, arrivals] of byKey) {
      const seen = new Set<number>();
      let lastGroup: number | undefined;
      for (const arrival of arrivals) {
        const time = Math.floor(arrival.time);
        // Records of a key mostly fall in the windows of the record before: those are asked for already.
        const group = lastWindowStart(this.spec.assigner, time);
        if (group !== undefined && group === lastGroup) continue;
        lastGroup = group;
        for (const w of assignWindows(this.spec.assigner, time)) {
          if (seen.has(w.start)) continue;
          seen.add(w.start);
          refs.push({ key, start: w.start, end: w.end });
        }
      }
    }
    const found = await store.getWindows(stage.id, refs);
    const grouped = new Map<string, StoredWindow[]>();
    for (const w of found) {
      const list = grouped.get(w.state.key);
      if (list === undefined) grouped.set(w.state.key, [w]);
      else list.push(w);
    }
    return grouped;
  }

  /**
   * A crash between the writes of a session merge can leave the merged session beside the sessions
   * it replaced (puts go first, deletes after). Sessions of a key never overlap, so where they do, the
   * one written last for this shard is the truth and the others are leftovers to delete.
   */
  #dropLeftovers(windows: StoredWindow[], shardId: string, deletes: WindowChange[]): StoredWindow[] {
    if (this.spec.assigner.kind !== 'session') return windows;
    const sorted = [...windows].sort((a, b) =>
      compareSequenceNumbers(b.fence[shardId] ?? '0', a.fence[shardId] ?? '0'),
    );
    const kept: StoredWindow[] = [];
    for (const w of sorted) {
      const overlapped = kept.some((k) => k.state.start < w.state.end && w.state.start < k.state.end);
      if (overlapped) {
        deletes.push({ kind: 'delete', stageId: this.#options.stage.id, window: w.state, expectedVersion: w.version });
      } else {
        kept.push(w);
      }
    }
    return kept;
  }

  /**
   * Whether an earlier attempt of this batch already applied the record. Fixed windows are checked
   * window by window by the operator (`skip`); a session record is applied when the session that holds
   * its time has a fence at or past its sequence number.
   */
  #alreadyApplied(arrival: Arrival, windows: readonly StoredWindow[], applied: AppliedCheck): boolean {
    const sequence = arrival.record.position.sequenceNumber;
    if (this.spec.assigner.kind === 'session') {
      const holder = windows.find((w) => w.state.start <= arrival.time && arrival.time < w.state.end);
      return holder !== undefined && applied(holder.fence, sequence);
    }
    // A record is applied to none of its windows when the key has no stored window: nothing to look up.
    if (windows.length === 0) return false;
    const mine = assignWindows(this.spec.assigner, Math.floor(arrival.time));
    return mine.every((m) => {
      const w = windows.find((s) => s.state.start === m.start && s.state.end === m.end);
      return w !== undefined && applied(w.fence, sequence);
    });
  }

  #put(state: WindowState<unknown>, expectedVersion: number, shardId: string, sequenceNumber: string): PutWindowChange {
    return {
      kind: 'put',
      stageId: this.#options.stage.id,
      state,
      expectedVersion,
      shardId,
      sequenceNumber,
      fireAt: windowFireAt(state, this.spec.allowedLateness),
    };
  }

  #tombstone(
    state: WindowState<unknown>,
    expectedVersion: number,
    shardId: string,
    sequenceNumber: string,
  ): PutWindowChange {
    return this.#put({ ...state, emitted: state.emitted + 1, closed: true }, expectedVersion, shardId, sequenceNumber);
  }

  #emitLate(
    sink: StatefulBatchSink,
    late: LateRecord<unknown>,
    fresh: readonly Arrival[],
    key: string,
    counts: { late: number },
  ): void {
    const arrival = fresh.find((a) => a.element.id === late.record.id) as Arrival;
    counts.late += 1;
    sink.late(arrival.record, {
      id: late.record.id,
      key,
      time: late.record.time,
      watermark: late.watermark,
      windows: late.windows,
      reason: late.reason,
      value: late.record.value,
    });
  }
}

function sameWindow(
  state: { key: string; start: number; end: number },
  result: { key: string; windowStart: number; windowEnd: number },
): boolean {
  return state.key === result.key && state.start === result.windowStart && state.end === result.windowEnd;
}

/** Orders results by what names them (key, window, revision). */
function compareResults(
  a: { key: string; windowStart: number; windowEnd: number; revision: number },
  b: { key: string; windowStart: number; windowEnd: number; revision: number },
): number {
  return (
    compareStrings(a.key, b.key) ||
    a.windowStart - b.windowStart ||
    a.windowEnd - b.windowEnd ||
    a.revision - b.revision
  );
}

/** A window whose item would not fit in DynamoDB: too large (`bytes`), or not storable at all (`problem`). */
interface UnfitState {
  readonly window: WindowRef;
  readonly bytes: number;
  readonly problem?: InvalidStateRequestError;
}

/** {@link isApplied} for one input shard: whether a window's fence already holds a record. */
type AppliedCheck = (fence: Readonly<Record<string, string>>, sequenceNumber: string) => boolean;

/** The check when no stored window's fence reaches any record of the key: nothing is applied. */
const notApplied: AppliedCheck = () => false;

/**
 * {@link isApplied} for the batch's shard, each (fence, sequence number) pair decided once: a batch
 * asks it for every record and every window of the record, and its records share few of either
 * (the envelopes of a pack share the pack's sequence number).
 */
function appliedCheck(shardId: string): AppliedCheck {
  const decided = new Map<string, Map<string, boolean>>();
  return (fence, sequenceNumber) => {
    const fenced = fence[shardId];
    if (fenced === undefined) return false;
    let bySequence = decided.get(fenced);
    if (bySequence === undefined) {
      bySequence = new Map();
      decided.set(fenced, bySequence);
    }
    let answer = bySequence.get(sequenceNumber);
    if (answer === undefined) {
      answer = isApplied(fence, shardId, sequenceNumber);
      bySequence.set(sequenceNumber, answer);
    }
    return answer;
  };
}

function windowId(state: { key: string; start: number; end: number }): string {
  return `${state.key}\u0000${state.start}\u0000${state.end}`;
}

/** The stateful kinds of a runner whose window stages are the per-session stage above. */
export const perSessionWindows: StatefulKinds = {
  window: windowOperatorWith({}, (options) => new WindowStage(options)),
};
