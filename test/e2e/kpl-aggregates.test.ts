import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { afterAll, describe, expect, it } from 'vitest';
import { writeClickSample } from '../../examples/data/click-generator.js';
import pageViewCounts from '../../examples/page-view-counts.js';
import { LocalPipeline } from '../../local/runner/local-pipeline.js';
import { readWholeStream } from '../../local/runner/stream-reader.js';
import { kplAggregate } from '../helpers/kpl.js';
import { PAGE_VIEW_COUNTS_SINK, pageViewCountsOf } from '../helpers/pipeline-run.js';
import { compareWindows, type WindowResult } from '../helpers/window-check.js';

describe('KPL aggregates on the embedded stack: page-view-counts over aggregated clicks', () => {
  const dir = mkdtempSync(join(tmpdir(), 'eddy-kpl-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("gives the batch computation's windows, and one dead letter per corrupt aggregate or bad user record", async () => {
    // Prepare: 3,000 clicks in aggregates of 1 to 25 user records (aws-kinesis-agg), each user record
    // keyed by its user; one aggregate with a non-JSON user record in the middle, one with a bad MD5.
    const input = join(dir, 'clicks.jsonl');
    await writeClickSample(input, { events: 3000, seed: 16 });
    const lines = readFileSync(input, 'utf8').trim().split('\n');
    const aggregates: { partitionKey: string; data: Buffer }[] = [];
    for (let at = 0, size = 1; at < lines.length; at += size, size = (size * 7) % 25 || 1) {
      const users = lines.slice(at, at + size).map((line) => ({ partitionKey: JSON.parse(line).user, data: line }));
      aggregates.push(kplAggregate(users));
    }
    const withBadRecord = kplAggregate([
      { partitionKey: 'x', data: '{"not": "a click"' },
      { partitionKey: 'y', data: 'not json' },
      { partitionKey: 'z', data: '{"still": "not a click"}' },
    ]);
    const corrupt = kplAggregate([{ partitionKey: 'x', data: lines[0] as string }]);
    corrupt.data[corrupt.data.length - 1] = (corrupt.data[corrupt.data.length - 1] as number) ^ 0xff;
    aggregates.splice(10, 0, withBadRecord, corrupt);
    const local = await LocalPipeline.start({ pipeline: pageViewCounts, logLevel: 'SILENT' });
    try {
      // Act
      const stream = local.physicalName('clicks');
      for (let i = 0; i < aggregates.length; i += 100) {
        const entries = aggregates.slice(i, i + 100).map((a) => ({ PartitionKey: a.partitionKey, Data: a.data }));
        const answer = await local.kinesis.send(new PutRecordsCommand({ StreamName: stream, Records: entries }));
        expect(answer.FailedRecordCount ?? 0).toBe(0);
      }
      await local.endInput('clicks');
      await local.waitUntilDrained();

      // Assess
      const results = (await readWholeStream(local.kinesis, local.physicalName(PAGE_VIEW_COUNTS_SINK))).map(
        (record) => JSON.parse(Buffer.from(record.data).toString('utf8')) as WindowResult,
      );
      const comparison = compareWindows(results, pageViewCountsOf(input));
      expect(comparison.differences).toEqual([]);
      expect(comparison.windows).toBeGreaterThan(10);
      const letters = (await local.readDeadLetters()).map(({ envelope }) => envelope);
      expect(
        letters
          .map((l) => [l.error.reason, l.source.subSequenceNumber ?? null, l.source.partitionKey])
          .sort((a, b) => String(a).localeCompare(String(b))),
      ).toEqual([
        ['malformed-aggregate', null, 'x'],
        ['malformed-json', 0, 'x'],
        ['malformed-json', 1, 'y'],
        ['schema-violation', 2, 'z'],
      ]);
      const source = local.status().find((s) => s.stage.id === 'from-clicks');
      // Every user record counted in, and the corrupt aggregate once.
      expect(source?.stats.recordsIn).toBe(lines.length + 3 + 1);
      expect(local.failedBatches).toEqual([]);
    } finally {
      await local.stop();
    }
  });
});
