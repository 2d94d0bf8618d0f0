import type { PipelineGraph } from '../dag/pipeline-graph.js';
import type { StageSpec } from '../dag/plan-types.js';

/** What one operator fused in a stage did with the records that reached it, in one batch or summed. */
export interface OperatorCount {
  /** The DAG node's id (`filter-1`, the source's name, …). */
  readonly id: string;
  /** Elements that reached the operator (for a stage's input operator: data records decoded). */
  readonly recordsIn: number;
  /** Elements it passed on: to the next operator, or written to a stream or table. */
  readonly recordsOut: number;
  /** Elements a filter (or an inner enrich without a row) dropped. */
  readonly filtered: number;
  /** Elements that made it fail: sent to the dead-letter output. */
  readonly deadLettered: number;
  /** Records too late for a window or join (its late output). */
  readonly late: number;
}

/** Slots of one operator in {@link OperatorTally.values}. */
export const Slot = { in: 0, out: 1, filtered: 2, deadLettered: 3, late: 4 } as const;
const SLOTS = 5;

/**
 * Per-operator counters of one batch: a flat array of numbers indexed by the operator's position in
 * the stage (StageSpec.nodes) and a slot, so that counting an element costs an array increment.
 */
export class OperatorTally {
  readonly values: Float64Array;

  constructor(readonly operators: readonly string[]) {
    this.values = new Float64Array(operators.length * SLOTS);
  }

  /** Adds to the counter at `position` (an operator's {@link slotBase} plus a {@link Slot}). */
  count(position: number, amount = 1): void {
    this.values[position] = (this.values[position] ?? 0) + amount;
  }

  add(index: number, slot: number, amount = 1): void {
    this.count(index * SLOTS + slot, amount);
  }

  get(index: number, slot: number): number {
    return this.values[index * SLOTS + slot] ?? 0;
  }

  counts(): OperatorCount[] {
    return this.operators.map((id, index) => ({
      id,
      recordsIn: this.get(index, Slot.in),
      recordsOut: this.get(index, Slot.out),
      filtered: this.get(index, Slot.filtered),
      deadLettered: this.get(index, Slot.deadLettered),
      late: this.get(index, Slot.late),
    }));
  }
}

/** Where each operator of a stage counts: its position in StageSpec.nodes. */
export type OperatorIndex = ReadonlyMap<string, number>;

export function operatorIndex(stage: StageSpec): OperatorIndex {
  return new Map(stage.nodes.map((node, index) => [node, index]));
}

/** The slot base of an operator in a tally's values. */
export function slotBase(index: OperatorIndex, operator: string): number {
  const position = index.get(operator);
  if (position === undefined) throw new Error(`operator '${operator}' is not fused in this stage`);
  return position * SLOTS;
}

/** Adds one batch's counts to running totals, operator by operator (same stage, same order). */
export function addOperatorCounts(totals: readonly OperatorCount[], batch: readonly OperatorCount[]): OperatorCount[] {
  const byId = new Map(totals.map((count) => [count.id, count]));
  for (const count of batch) {
    const total = byId.get(count.id);
    byId.set(
      count.id,
      total === undefined
        ? count
        : {
            id: count.id,
            recordsIn: total.recordsIn + count.recordsIn,
            recordsOut: total.recordsOut + count.recordsOut,
            filtered: total.filtered + count.filtered,
            deadLettered: total.deadLettered + count.deadLettered,
            late: total.late + count.late,
          },
    );
  }
  return [...byId.values()];
}

/** What an operator is, beside its id, for screens and dashboards: its kind (`source`, `filter`, `join`, …). */
export function operatorLabel(graph: PipelineGraph, id: string): string {
  return graph.node(id).kind;
}
