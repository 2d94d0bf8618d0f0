import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ProgressView, progressLine } from '../../../cli/progress.js';
import { countRecordLines } from '../../../local/runner/count-lines.js';
import type { StageStatus } from '../../../local/runner/local-pipeline.js';
import type { RunProgress } from '../../../local/runner/run-files.js';

const stage = (
  id: string,
  pendingRecords: number,
  iteratorAgeMs: number,
  flow = { input: 'in', outputs: [] as string[], in: 0, out: 0 },
) =>
  ({
    stage: { id, input: flow.input, outputs: flow.outputs },
    stats: { recordsIn: flow.in, recordsOut: flow.out },
    lag: { pendingRecords, iteratorAgeMs, maxIteratorAgeMs: 0, backpressuredShards: 0 },
  }) as unknown as StageStatus;
const progress = (processed: number, fed: number, stages: StageStatus[] = []): RunProgress => ({
  inputRecords: fed,
  fed,
  sourceRecordsProcessed: processed,
  stages,
});

describe('progressLine', () => {
  it('shows processed of the total known before feeding, the rate and an ETA', () => {
    expect(progressLine('eddy run', progress(2_500, 6_000), 10_000, 500)).toBe(
      'eddy run: 2,500/10,000 source records (25%) | 500 rec/s | ETA 15 s | fed 6,000',
    );
  });

  it('shows the later stages draining once the sources took in every record', () => {
    // The source stage put out 6,000 envelopes; the next stage decoded 4,000 and holds 500 more.
    const stages = [
      stage('from-clicks', 0, 0, { input: 'clicks', outputs: ['clicks-keyBy-1'], in: 10_000, out: 6_000 }),
      stage('from-clicks-keyBy-1', 500, 3_200, { input: 'clicks-keyBy-1', outputs: ['views'], in: 4_000, out: 4_000 }),
    ];
    expect(progressLine('eddy run', progress(10_000, 10_000, stages), 10_000, 500)).toBe(
      'eddy run: 10,000/10,000 source records (100%) | 500 rec/s | draining: from-clicks-keyBy-1 2,000 to read, 500 in flight, 3.2 s behind',
    );
    const drained = [
      stages[0] as StageStatus,
      stage('from-clicks-keyBy-1', 0, 0, { input: 'clicks-keyBy-1', outputs: [], in: 6_000, out: 0 }),
    ];
    expect(progressLine('eddy run', progress(10_000, 10_000, drained), 10_000, 0)).toBe(
      'eddy run: 10,000/10,000 source records (100%) | 0 rec/s | draining: nothing left to read; finishing (last checkpoints, outputs, summary)',
    );
  });

  it('never goes past the total, however often records were delivered again', () => {
    expect(progressLine('eddy run', progress(12_000, 10_000), 10_000, 12_000)).toMatch(
      /^eddy run: 10,000\/10,000 source records \(100%\)/,
    );
  });

  it('without a total (a replay): the records and the rate, no ETA', () => {
    expect(progressLine('eddy replay', progress(300, 300), undefined, 150)).toBe(
      'eddy replay: 300 source records | 150 rec/s | fed 300',
    );
  });
});

describe('ProgressView', () => {
  it('without a terminal: one plain line every 5 s of updates, and the last one at the end', () => {
    // Prepare: updates every 200 ms for 12 s, as the runner's ticker sends them.
    let now = 0;
    const lines: string[] = [];
    const view = new ProgressView({
      label: 'eddy run',
      total: 600,
      output: { isTTY: false, write: (text: string) => lines.push(text) },
      now: () => now,
    });

    // Act
    for (let tick = 1; tick <= 60; tick += 1) {
      now = tick * 200;
      view.update(progress(tick * 10, 600));
    }
    view.stop();

    // Assess: at 0.2 s, 5.2 s, 10.2 s, then the final state.
    expect(lines).toHaveLength(4);
    expect(lines.every((line) => line.endsWith('\n') && !line.includes('\r'))).toBe(true);
    expect(lines[0]).toMatch(/^eddy run: 10\/600 source records \(1%\)/);
    expect(lines.at(-1)).toMatch(/^eddy run: 600\/600 source records \(100%\)/);
  });

  it("rates the last 10 s, not the run's start-up: the ETA follows the current pace", () => {
    // Prepare: nothing for 60 s (emulators starting), then 100 records a second.
    let now = 0;
    const lines: string[] = [];
    const view = new ProgressView({
      label: 'eddy run',
      total: 10_000,
      output: { isTTY: false, write: (text: string) => lines.push(text) },
      plainEveryMs: 0,
      now: () => now,
    });
    for (let at = 1_000; at <= 60_000; at += 1_000) {
      now = at;
      view.update(progress(0, 0));
    }

    // Act
    for (let second = 1; second <= 20; second += 1) {
      now = 60_000 + second * 1_000;
      view.update(progress(second * 100, 10_000));
    }

    // Assess: 2,000 done at 100/s, 8,000 to go.
    expect(lines.at(-1)).toBe(
      'eddy run: 2,000/10,000 source records (20%) | 100 rec/s | ETA 1 min 20 s | fed 10,000\n',
    );
  });

  it('on a terminal: redraws one line in place and ends it at stop', () => {
    const writes: string[] = [];
    const view = new ProgressView({
      label: 'eddy run',
      total: 10,
      output: { isTTY: true, write: (t: string) => writes.push(t) },
    });
    view.update(progress(5, 10));
    view.update(progress(10, 10));
    view.stop();
    expect(writes).toHaveLength(3);
    expect(writes[0]?.startsWith('\r\x1b[2K')).toBe(true);
    expect(writes[2]).toBe('\n');
  });
});

describe('countRecordLines', () => {
  const dir = mkdtempSync(join(tmpdir(), 'eddy-count-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('counts the lines the feeder puts: blank ones left out, a last line without a newline counted', async () => {
    const file = join(dir, 'in.jsonl');
    writeFileSync(file, '{"a":1}\n\n  \t\r\n{"a":2}\r\nnot json\n{"a":3}');
    expect(await countRecordLines(file)).toBe(4);
  });

  it('an empty file: none', async () => {
    const file = join(dir, 'empty.jsonl');
    writeFileSync(file, '');
    expect(await countRecordLines(file)).toBe(0);
  });
});
