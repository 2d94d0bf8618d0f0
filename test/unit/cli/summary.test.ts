import { describe, expect, it } from 'vitest';
import { formatSummary, totalsLine } from '../../../cli/summary.js';
import type { StageStatus } from '../../../local/runner/local-pipeline.js';
import type { RunSummary } from '../../../local/runner/run-files.js';
import { StageStats } from '../../../local/runner/stage-stats.js';

const stage = (id: string, counts: Partial<Pick<StageStats, 'recordsIn' | 'recordsOut' | 'deadLettered' | 'late'>>) =>
  ({
    stage: { id },
    stats: Object.assign(new StageStats(id), counts),
    lag: { pendingRecords: 0, iteratorAgeMs: 0, maxIteratorAgeMs: 0, backpressuredShards: 0 },
    bisects: 0,
  }) as unknown as StageStatus;

// One bad record dead-lettered by the source stage, two late records sent to the dead letters by
// the window stage (`lateRecords: 'dead-letter'`): three letters on the dead-letter stream.
const summary = (late: number): RunSummary => ({
  pipeline: 'clicks',
  inputRecords: 10,
  elapsedMs: 1000,
  stages: [
    stage('from-clicks', { recordsIn: 10, recordsOut: 9, deadLettered: 1 }),
    stage('from-clicks-keyBy-1', { recordsIn: 9, recordsOut: 3, late }),
  ],
  outputs: [],
  sinkRecords: {},
  deadLetters: [],
  deadLetterCount: 1 + late,
  lateDeadLetterCount: late,
  failedBatches: [],
});

describe('totalsLine', () => {
  it('counts as dead-lettered only the bad records, as the stage table does, and the late letters apart', () => {
    expect(totalsLine(summary(2))).toBe(
      'records in 19, out 12, failed 0, dead-lettered 1, late to the dead letters 2 (all stages)',
    );
  });

  it('says nothing of late letters when there are none', () => {
    expect(totalsLine(summary(0))).toBe('records in 19, out 12, failed 0, dead-lettered 1 (all stages)');
  });
});

describe('formatSummary', () => {
  it('splits the dead letters it lists into bad and late records', () => {
    expect(formatSummary(summary(2))).toContain(
      'dead letters (3: 1 bad records, 2 late, in stream clicks-dead-letters):',
    );
  });
});
