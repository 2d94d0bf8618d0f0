import type { WindowNode } from '../dag/graph.js';
import type { StageSpec } from '../dag/plan-types.js';
import { DeadLetterReasons, RecordProcessingError } from '../operators/record-errors.js';
import { compareStrings } from '../util/compare-strings.js';
import { assignWindows, lastWindowStart } from '../windows/assigners.js';
import type { WindowState } from '../windows/types.js';
import {
  type FailedWindow,
  fireWindows,
  type LateRecord,
  processKeyBatch,
  type TimedValue,
  type WindowSpec,
  windowFireAt,
} from '../windows/window-operator.js';
import type { AppliedPositions } from './applied-positions.js';
import type { ChannelWatermarks } from './channel-watermarks.js';
import type { Decoded } from './decode.js';
import { inheritedDue } from './inherited-timers.js';
import { MAX_STATE_ITEM_BYTES } from './io/item-size.js';
import { isApplied } from './io/sequence-numbers.js';
import type { ShardDirectory } from './io/shard-directory.js';
import { InvalidStateRequestError, StateItemTooLargeError } from './io/state-errors.js';
import { timerOf } from './io/state-keys.js';
import type {
  PutWindowChange,
  StoredWindow,
  WatermarkStore,
  WindowChange,
  WindowRef,
  WindowStore,
} from './io/state-store.js';
import { stateItemBytes } from './io/window-items.js';
import { ownedValue } from './owned-value.js';
import type { Element, InputRecord } from './records.js';
import {
  type AbsorbedSession,
  absorbedSessions,
  isSessionsItem,
  packSessions,
  sessionsItemRef,
  unpackSessions,
} from './session-items.js';
import {
  absorbedOf,
  appliedBeforeUpgrade,
  firstUpgradeState,
  readsOldItems,
  sortOldItems,
  UpgradeNotes,
  type UpgradeState,
  upgradeStateAfter,
} from './session-upgrade.js';
import type { Step } from './stage-program.js';
import {
  type Arrival,
  producedRecord,
  recordReaching,
  type StatefulBatchSink,
  type WalkedBatch,
  walkBatch,
} from './stateful-batch.js';
import { END_OF_TIME } from './watermark-records.js';

/** What a window stage did with one batch: the state to write once its outputs are written. */
export interface WindowBatch {
  /** Puts (new and changed windows, tombstones of fired ones): written first. */
  readonly changes: WindowChange[];
  /** Windows removed without firing, deleted after the puts (sessions, one item per key, have none). */
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
  /**
   * The most records Lambda puts in one batch of the stage: how far past its first record an attempt
   * of the stage before an upgrade can have written (session-upgrade.ts). @default 10,000 (Kinesis)
   */
  readonly maxBatchRecords?: number;
}

/** The most records Lambda's Kinesis event source mapping puts in one batch (its BatchSize limit). */
const KINESIS_MAX_BATCH_RECORDS = 10_000;

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
      ...(this.#options.shards !== undefined && { lineage: { directory: this.#options.shards, stream: stage.input } }),
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
    const session = this.spec.assigner.kind === 'session';
    // A session stage upgraded from one item per session reads the old items while they can matter.
    const upgrade = session ? await this.#upgrade(walked, shardId) : undefined;
    const readOld = upgrade !== undefined && readsOldItems(upgrade.state, walked.watermarkBefore);
    const stored = await this.#load(byKey, readOld);
    const changes: WindowChange[] = [];
    const deletes: WindowChange[] = [];
    const touched = new Set<string>();
    const results: { result: ReturnType<typeof fireWindows>['results'][number]; origin: InputRecord }[] = [];

    const runKey = (key: string, keyArrivals: readonly Arrival[], windows: readonly StoredWindow[]) => {
      for (const w of windows) touched.add(windowId(w.state));
      let fresh: readonly Arrival[];
      let target: KeyTarget;
      if (session) {
        // One item holds the key's sessions and one fence: a record is applied when the fence reaches it.
        const item = windows.find((w) => isSessionsItem(w.state));
        const fence = item?.fence ?? {};
        const old = readOld
          ? sortOldItems(
              item,
              windows.filter((w) => !isSessionsItem(w.state)),
              shardId,
            )
          : undefined;
        fresh =
          item === undefined && old === undefined
            ? keyArrivals
            : keyArrivals.filter(
                (a) =>
                  !applied(fence, sequenceOf(a)) &&
                  !(old !== undefined && appliedBeforeUpgrade(old.holders, a.time, sequenceOf(a), applied)),
              );
        const open = item === undefined ? [] : unpackSessions(item);
        if (old === undefined || (old.open.length === 0 && old.leftovers.length === 0)) {
          target = {
            kind: 'sessions',
            item,
            open,
            absorbed: readOld ? absorbedSessions(item) : [],
            moved: [],
            copies: [],
          };
        } else {
          target = {
            kind: 'sessions',
            item,
            open: [...open, ...old.open.map((w) => w.state)].sort((a, b) => a.start - b.start),
            absorbed: [...absorbedSessions(item), ...old.open.map(absorbedOf)],
            moved: old.open,
            copies: old.leftovers,
          };
        }
      } else {
        const open = windows.filter((w) => w.state.closed !== true);
        // Whether an earlier attempt can have applied any of these records: only if a stored window's
        // fence reaches one of their sequence numbers (few: the envelopes of a pack share its own).
        const sequences = new Set(keyArrivals.map(sequenceOf));
        const retried = windows.some((w) => [...sequences].some((sequence) => applied(w.fence, sequence)));
        fresh = retried
          ? keyArrivals.filter((arrival) => !this.#alreadyApplied(arrival, windows, applied))
          : keyArrivals;
        target = { kind: 'fixed', live: windows, open, check: retried ? applied : notApplied };
      }
      counts.duplicates += keyArrivals.length - fresh.length;
      // A window whose state would outgrow a DynamoDB item: its records of this batch are
      // dead-lettered, not applied, and the key is computed again without them.
      let outcome = this.#applyKey(key, fresh, target, watermark, shardId, lastSequence);
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
        outcome = this.#applyKey(key, fresh, target, watermark, shardId, lastSequence);
      }
      changes.push(...outcome.changes);
      deletes.push(...outcome.deletes);
      counts.applied += fresh.length - outcome.late.length - outcome.failed.length;
      const lastOfKey = (keyArrivals.at(-1)?.record ?? records.at(-1)) as InputRecord;
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
    };
    for (const [key, keyArrivals] of byKey) runKey(key, keyArrivals, stored.get(key) ?? []);

    // Windows closed by the watermark that this batch did not touch: their keys sent nothing new.
    // Before every channel has spoken the watermark is -Infinity: nothing can be due.
    const candidates = !Number.isFinite(watermark)
      ? []
      : upgrade?.found !== undefined
        ? upgrade.found.all.filter((w) => w.fireAt <= watermark)
        : (await this.#timed(shardId, watermark)).all;
    let untouched = candidates.filter((w) => !touched.has(windowId(w.state)));
    if (readOld) {
      // A key with a due old item is run as a key of the batch without records: its old sessions move
      // into its sessions item (or a copy left by a crash is deleted), and what is due fires from there.
      const keys = [...new Set(untouched.filter((w) => !isSessionsItem(w.state)).map((w) => w.state.key))];
      const loaded = keys.length === 0 ? new Map<string, StoredWindow[]>() : await store.queryWindows(stage.id, keys);
      for (const key of keys) runKey(key, [], loaded.get(key) ?? []);
      untouched = untouched.filter((w) => !touched.has(windowId(w.state)) && !keys.includes(w.state.key));
    }
    const due = await this.#reread(untouched, watermark, shardId);
    const fireDue = (states: readonly WindowState<unknown>[]) => {
      const fired = fireWindows(this.spec, states, [], watermark);
      for (const failed of fired.failed) this.#windowFailed(sink, failed, records.at(-1) as InputRecord);
      for (const result of fired.results) {
        results.push({ result, origin: originOf(result) ?? (records.at(-1) as InputRecord) });
      }
      return fired;
    };
    // A due sessions item fires its due sessions and keeps the others: a fired session is gone from it.
    const sessionItems = session ? due.filter((w) => isSessionsItem(w.state)) : [];
    for (const item of sessionItems) {
      const fired = fireDue(unpackSessions(item));
      const absorbed = readOld ? absorbedSessions(item) : [];
      if (fired.removed.length > 0)
        changes.push(this.#sessionsPut(item, fired.windows, shardId, lastSequence, absorbed));
    }
    // Windows of their own (a session stage's too, stored before sessions shared an item) leave a tombstone.
    const windowItems = session ? due.filter((w) => !isSessionsItem(w.state)) : due;
    if (windowItems.length > 0) {
      const fired = fireDue(windowItems.map((w) => w.state));
      const dueVersion = (state: WindowState<unknown>) =>
        windowItems.find((w) => windowId(w.state) === windowId(state))?.version ?? 0;
      for (const state of fired.removed) {
        changes.push(this.#tombstone(state, dueVersion(state), shardId, lastSequence));
      }
    }

    // Results reported under one record take their positions in this order (shuffle-pack.ts): an
    // order of their own, not of the batch's keys, which depends on where the batch was cut.
    results.sort((a, b) => compareResults(a.result, b.result));
    for (const { result, origin } of results) {
      const element: Element = {
        id: `${stage.id}/${result.key}/${result.windowStart}/${result.windowEnd}/${result.revision}`,
        key: result.key,
        // A copy: an early result's accumulator is still the window's state, written after this.
        value: ownedValue(result),
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
    if (upgrade !== undefined) {
      const after = upgradeStateAfter(upgrade.state, new Set(records.map(sequenceOfRecord)).size, watermark);
      walked.channels.setNote(UpgradeNotes.decided, 1);
      walked.channels.setNote(UpgradeNotes.until, after.until);
      walked.channels.setNote(UpgradeNotes.owed, after.owed);
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
   * What a session stage knows of its upgrade from one item per session (session-upgrade.ts): from
   * the shard's notes, or, the first time the sessions-item code runs on the shard, from the items
   * open on it and its ancestors, which are then also the batch's due candidates (`found`): a fresh
   * shard whose batch has a watermark makes no request for it.
   */
  async #upgrade(walked: WalkedBatch, shardId: string): Promise<{ state: UpgradeState; found?: TimedWindows }> {
    const notes = walked.channels;
    if (notes.note(UpgradeNotes.decided) !== undefined) {
      const until = notes.note(UpgradeNotes.until);
      const owed = notes.note(UpgradeNotes.owed);
      return { state: { ...(until !== undefined && { until }), ...(owed !== undefined && { owed }) } };
    }
    const found = await this.#timed(shardId, END_OF_TIME);
    const old = (windows: readonly StoredWindow[]) => windows.filter((w) => !isSessionsItem(w.state));
    const state = firstUpgradeState({
      savedBefore: walked.channelsVersion > 0,
      oldOwn: old(found.own),
      oldInherited: old(found.inherited),
      maxBatchRecords: this.#options.maxBatchRecords ?? KINESIS_MAX_BATCH_RECORDS,
    });
    return { state, found };
  }

  /**
   * The live windows timed on the shard with `fireAt <= bound`, and those still timed on a finished
   * parent shard whose key is in this shard's hash key range (Lambda reads a child only after its
   * parents): the child that holds their key fires them.
   */
  async #timed(shardId: string, bound: number): Promise<TimedWindows> {
    const { store, stage } = this.#options;
    const own = await store.dueWindows(stage.id, shardId, bound);
    const inherited = await inheritedDue(
      this.#options.shards,
      stage.input,
      shardId,
      (ancestor) => store.dueWindows(stage.id, ancestor, bound),
      (w) => w.state.key,
    );
    return { own, inherited, all: [...own, ...inherited] };
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
   * write; `unfit` names the first window whose item would not fit in DynamoDB.
   */
  #applyKey(
    key: string,
    fresh: readonly Arrival[],
    target: KeyTarget,
    watermark: number,
    shardId: string,
    lastSequence: string,
  ) {
    const values: TimedValue<unknown>[] = fresh.map((a) => ({
      value: a.element.value,
      time: a.time,
      id: a.element.id,
    }));
    const fixed = target.kind === 'fixed' ? target : undefined;
    const skip = (index: number, window: { start: number; end: number }): boolean => {
      if (fixed === undefined || fixed.check === notApplied) return false;
      const arrival = fresh[index] as Arrival;
      const existing = fixed.live.find((w) => w.state.start === window.start && w.state.end === window.end);
      return existing !== undefined && fixed.check(existing.fence, sequenceOf(arrival));
    };
    const outcome = processKeyBatch(
      this.spec,
      target.kind === 'fixed' ? target.open.map((w) => w.state) : target.open,
      key,
      values,
      (index) => (fresh[index] as Arrival).watermark,
      watermark,
      skip,
    );
    if (target.kind === 'sessions') {
      const changed =
        outcome.put.length > 0 || outcome.deleted.length > 0 || outcome.results.length > 0 || target.moved.length > 0;
      const changes = changed
        ? [this.#sessionsPut(target.item ?? key, outcome.windows, shardId, lastSequence, target.absorbed)]
        : [];
      // Old items go after the sessions item that took them in is written (puts before deletes).
      const deletes: WindowChange[] = [...target.moved, ...target.copies].map((w) => ({
        kind: 'delete',
        stageId: this.#options.stage.id,
        window: w.state,
        expectedVersion: w.version,
      }));
      return { ...outcome, changes, deletes, unfit: this.#unfitSessions(key, changes[0], outcome.put) };
    }
    const changes: PutWindowChange[] = [];
    const deletes: WindowChange[] = [];
    const versionOf = (state: { start: number; end: number }): number =>
      target.live.find((w) => w.state.start === state.start && w.state.end === state.end)?.version ?? 0;
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
    let unfit: UnfitState | undefined;
    for (const change of changes) {
      unfit = unfitOf(change);
      if (unfit !== undefined) break;
    }
    return { ...outcome, changes, deletes, unfit };
  }

  /**
   * The key's sessions item with `sessions` (its open sessions after the batch), replacing `item`
   * (or created, given only the key): one write, whatever the sessions merged, moved or fired.
   */
  #sessionsPut(
    item: StoredWindow | string,
    sessions: readonly WindowState<unknown>[],
    shardId: string,
    lastSequence: string,
    absorbed: readonly AbsorbedSession[],
  ): PutWindowChange {
    const stored = typeof item === 'string' ? undefined : item;
    const key = stored?.state.key ?? (item as string);
    // With no session left, the item keeps its fence until TTL; it expires counting from its last fireAt.
    const { state, fireAt } = packSessions(key, sessions, this.spec.allowedLateness, stored?.fireAt ?? 0, absorbed);
    return {
      kind: 'put',
      stageId: this.#options.stage.id,
      state,
      expectedVersion: stored?.version ?? 0,
      shardId,
      sequenceNumber: lastSequence,
      fireAt,
    };
  }

  /**
   * Whether the key's sessions item would not fit in DynamoDB: then a session this batch changed is
   * blamed, one that cannot be stored at all or else the largest, so that its records are dead-lettered.
   */
  #unfitSessions(
    key: string,
    change: PutWindowChange | undefined,
    changed: readonly WindowState<unknown>[],
  ): UnfitState | undefined {
    const whole = change === undefined ? undefined : unfitOf(change);
    if (change === undefined || whole === undefined) return undefined;
    let blamed: WindowRef | undefined;
    let most = -1;
    for (const state of changed) {
      const window = { key, start: state.start, end: state.end };
      const own = measure(this.#put(state, 0, change.shardId, change.sequenceNumber));
      if (own.problem !== undefined) return { window, bytes: 0, problem: own.problem };
      if (own.bytes > most) {
        most = own.bytes;
        blamed = window;
      }
    }
    return blamed === undefined ? whole : { ...whole, window: blamed };
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

  /**
   * Loads the windows the batch can touch: exact windows for fixed assigners, each key's sessions item
   * for sessions, and with `readOld` every item of each key (a Query), per-session items of an upgrade too.
   */
  async #load(byKey: Map<string, Arrival[]>, readOld: boolean): Promise<Map<string, StoredWindow[]>> {
    const { store, stage } = this.#options;
    if (readOld) return byKey.size === 0 ? new Map() : store.queryWindows(stage.id, [...byKey.keys()]);
    // Each window once, in the order first met; a key's fixed windows differ by their start.
    const refs: WindowRef[] = [];
    if (this.spec.assigner.kind === 'session') for (const key of byKey.keys()) refs.push(sessionsItemRef(key));
    else
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
   * Whether an earlier attempt of this batch already applied the record to all its fixed windows
   * (the operator checks them window by window too: `skip`).
   */
  #alreadyApplied(arrival: Arrival, windows: readonly StoredWindow[], applied: AppliedCheck): boolean {
    const sequence = arrival.record.position.sequenceNumber;
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

/** What a put would write: its item's bytes, or why DynamoDB cannot store it at all. */
function measure(change: PutWindowChange): { readonly bytes: number; readonly problem?: InvalidStateRequestError } {
  try {
    return { bytes: stateItemBytes(change) };
  } catch (error) {
    if (!(error instanceof InvalidStateRequestError)) throw error;
    return { bytes: 0, problem: error };
  }
}

/** The put's window, when its item would not fit in DynamoDB or cannot be stored at all. */
function unfitOf(change: PutWindowChange): UnfitState | undefined {
  const { bytes, problem } = measure(change);
  if (problem === undefined && bytes <= MAX_STATE_ITEM_BYTES) return undefined;
  const window = { key: change.state.key, start: change.state.start, end: change.state.end };
  return problem === undefined ? { window, bytes } : { window, bytes, problem };
}

/** Where a key's records of a batch go: its fixed windows, each an item, or its sessions item. */
type KeyTarget =
  | {
      readonly kind: 'fixed';
      readonly live: readonly StoredWindow[];
      readonly open: readonly StoredWindow[];
      /** Whether an earlier attempt applied a record to a window; {@link notApplied} when none can have. */
      readonly check: AppliedCheck;
    }
  | {
      readonly kind: 'sessions';
      /** The key's sessions item, when it has one. */
      readonly item: StoredWindow | undefined;
      /** Its open sessions, and those of per-session items it takes in. */
      readonly open: readonly WindowState<unknown>[];
      /** What the item records of the per-session items it took in (kept while they can matter). */
      readonly absorbed: readonly AbsorbedSession[];
      /** Per-session items it takes in now: deleted after it is written. */
      readonly moved: readonly StoredWindow[];
      /** Per-session items that are copies (taken in before, or a merge's leftovers): deleted. */
      readonly copies: readonly StoredWindow[];
    };

/** Windows found through the fire-time index: timed on the shard, on its ancestors (its keys), and both. */
interface TimedWindows {
  readonly own: readonly StoredWindow[];
  readonly inherited: readonly StoredWindow[];
  readonly all: readonly StoredWindow[];
}

function sequenceOf(arrival: Arrival): string {
  return arrival.record.position.sequenceNumber;
}

function sequenceOfRecord(record: InputRecord): string {
  return record.position.sequenceNumber;
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
