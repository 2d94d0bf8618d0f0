import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeClickSample } from '../../examples/data/click-generator.js';
import pageViewTable from '../../examples/page-view-table.js';
import type { LocalPipelineOptions } from '../../local/runner/local-pipeline.js';
import { useEmulators } from '../helpers/emulators.js';
import { faultCases } from '../helpers/fault-cases.js';
import { type FaultRule, startFaultProxy } from '../helpers/fault-proxy.js';
import { describeStages, pageViewCountsOf, runPipelineWithFaults } from '../helpers/pipeline-run.js';

const TABLE = 'page-views-per-minute';
const pipelineModule = fileURLToPath(new URL('../../examples/page-view-table.ts', import.meta.url));

/** The sink's final table as `page|windowStart|windowEnd` → views, the shape of the batch computation. */
function viewsOf(items: readonly Record<string, unknown>[]): Map<string, number> {
  return new Map(items.map((item) => [`${item.page}|${item.windowStart}|${item.windowEnd}`, item.views as number]));
}

/**
 * examples/page-view-table.ts on kinesalite + dynalite: every call of its stages, mappings, state and
 * sink table through the fault proxy (one fault type per run), or its workers killed mid-batch. The
 * table must end exactly as the batch computation: one item per page and minute with its count,
 * nothing missing, nothing extra, no tombstone.
 */
describe('toDynamoDb under faults: the table ends exactly as the batch computation', () => {
  const emulators = useEmulators({ engines: 'kinesalite+dynalite' });
  const dir = mkdtempSync(join(tmpdir(), 'eddy-dynamodb-sink-'));
  const input = join(dir, 'clicks.jsonl');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  beforeAll(async () => {
    const sample = join(dir, 'sample.jsonl');
    await writeClickSample(sample, { events: 4_000, seed: 43, users: 100, pages: 15, badLineRate: 0.002 });
    // Spread over 20 minutes (300 ms a click, same disorder): windows close all along the run, so the
    // sink stage gets batch after batch rather than every window at the end of the input.
    const lines = readFileSync(sample, 'utf8').split('\n');
    const spread = lines.map((line, i) => {
      const click = line.startsWith('{') && line.endsWith('}') ? (JSON.parse(line) as { ts: unknown }) : undefined;
      return typeof click?.ts === 'number' ? JSON.stringify({ ...click, ts: click.ts + i * 290 }) : line;
    });
    writeFileSync(input, spread.join('\n'));
  });

  const cases: [string, FaultRule[], Partial<LocalPipelineOptions>][] = [
    ...faultCases
      .filter((c) => ['throttling', '500/503', 'cut after, all writes'].includes(c.id))
      .map((c): [string, FaultRule[], Partial<LocalPipelineOptions>] => [c.name, c.rules, {}]),
    [
      'workers of the sink stage killed in the middle of batches',
      [],
      {
        pipelineModule,
        sandboxes: 'worker',
        killWorkers: { rate: 0.5, seed: 5, atLeast: 1, stages: ['from-page-view-table-keyBy-2'] },
      },
    ],
  ];

  it.each(cases)('%s', async (name, rules, options) => {
    // Prepare
    const proxy = await startFaultProxy({
      upstream: { kinesis: emulators().kinesisEndpoint, dynamodb: emulators().dynamodbEndpoint ?? '' },
      rules,
      seed: 23,
    });
    try {
      // Act
      const run = await runPipelineWithFaults({
        ...options,
        pipeline: pageViewTable,
        endpoint: proxy.endpoint,
        dynamodbEndpoint: proxy.endpoint,
        directKinesisEndpoint: emulators().kinesisEndpoint,
        inputs: [{ stream: 'clicks', file: input }],
        outputs: ['late-clicks'],
        tables: { names: [TABLE], directDynamoDbEndpoint: emulators().dynamodbEndpoint ?? '' },
      });

      // Assess
      const items = run.tables.get(TABLE) ?? [];
      console.log(
        `${name}: ${run.fed} clicks in ${(run.elapsedMs / 1000).toFixed(1)} s, ${items.length} items; ` +
          `faults ${JSON.stringify(proxy.counts().faults)}; workers killed ${run.workerKills}\n${describeStages(run.stages)}`,
      );
      expect(items.filter((item) => item.eddyDeleted !== undefined)).toEqual([]);
      expect(viewsOf(items)).toEqual(pageViewCountsOf(input));
      expect(run.outputs.get('late-clicks')).toEqual([]);
      expect(run.failedBatches).toEqual([]);
      // The sink's writes (PutItem, as the window store's) were among the calls faulted.
      const putItemFaults = Object.values(proxy.counts().faults['DynamoDB_20120810.PutItem'] ?? {});
      if (rules.length > 0) expect(putItemFaults.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
      else expect(run.workerKills).toBeGreaterThanOrEqual(1);
    } finally {
      await proxy.stop();
    }
  });
});
