import type { BatchReport } from '../../shared/runtime/stage-runner.js';

/** What one stage did during a local run, summed over its invocations. */
export class StageStats {
  recordsIn = 0;
  recordsOut = 0;
  filtered = 0;
  deadLettered = 0;
  failedRecords = 0;
  invocations = 0;
  functionErrors = 0;
  /** Milliseconds spent inside the handler, all invocations added up. */
  busyMs = 0;
  readonly written = new Map<string, number>();

  constructor(readonly stageId: string) {}

  add(report: BatchReport): void {
    this.recordsIn += report.recordsIn;
    this.recordsOut += report.recordsOut;
    this.filtered += report.filtered;
    this.deadLettered += report.deadLettered;
    this.failedRecords += report.failedRecords;
    for (const [stream, count] of Object.entries(report.written)) {
      this.written.set(stream, (this.written.get(stream) ?? 0) + count);
    }
  }
}
