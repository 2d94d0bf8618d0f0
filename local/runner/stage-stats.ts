import { addOperatorCounts, type OperatorCount } from '../../shared/runtime/operator-counts.js';
import type { BatchReport } from '../../shared/runtime/stage-runner.js';

/** What one stage did during a local run, summed over its invocations. */
export class StageStats {
  recordsIn = 0;
  recordsOut = 0;
  filtered = 0;
  deadLettered = 0;
  failedRecords = 0;
  late = 0;
  duplicates = 0;
  stateRequests = 0;
  /** The last watermark the stage sent or reached. */
  watermark: number | undefined;
  invocations = 0;
  functionErrors = 0;
  /** The last function error, for diagnosis. */
  lastError: string | undefined;
  /** Milliseconds spent inside the handler, all invocations added up. */
  busyMs = 0;
  /** Invocations that failed because their execution environment exited (worker sandboxes). */
  sandboxExits = 0;
  /** Of those, the workers killed on purpose (`killWorkers`). */
  sandboxKills = 0;
  /** AWS requests of the last few invocations that answered (worker sandboxes): where kills may land. */
  readonly recentRequests: number[] = [];
  readonly written = new Map<string, number>();
  /** Table writes refused by their version condition, per table (BatchReport.refusedRows). */
  readonly refusedRows = new Map<string, number>();
  /** Counts per operator fused in the stage, summed (StageSpec.nodes order). */
  operators: OperatorCount[] = [];
  /** The highest watermark seen per input channel, event time in ms. */
  readonly channelWatermarks = new Map<string, number>();

  constructor(readonly stageId: string) {}

  noteRequests(requests: number): void {
    this.recentRequests.push(requests);
    if (this.recentRequests.length > 10) this.recentRequests.shift();
  }

  add(report: BatchReport): void {
    this.recordsIn += report.recordsIn;
    this.recordsOut += report.recordsOut;
    this.filtered += report.filtered;
    this.deadLettered += report.deadLettered;
    this.failedRecords += report.failedRecords;
    this.late += report.late ?? 0;
    this.duplicates += report.duplicates ?? 0;
    this.stateRequests += report.stateRequests ?? 0;
    if (report.watermark !== undefined) this.watermark = Math.max(this.watermark ?? report.watermark, report.watermark);
    if (report.operators !== undefined) this.operators = addOperatorCounts(this.operators, report.operators);
    for (const [channel, value] of Object.entries(report.channelWatermarks ?? {})) {
      this.channelWatermarks.set(channel, Math.max(this.channelWatermarks.get(channel) ?? value, value));
    }
    for (const [stream, count] of Object.entries(report.written)) {
      this.written.set(stream, (this.written.get(stream) ?? 0) + count);
    }
    for (const [table, count] of Object.entries(report.refusedRows ?? {})) {
      this.refusedRows.set(table, (this.refusedRows.get(table) ?? 0) + count);
    }
  }
}
