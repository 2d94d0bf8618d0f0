/**
 * DynamoDB requests of the stream-table join of examples/views-by-country.ts, per record, beside one
 * request per record (a GetItem per view, a PutItem per update): the real stages run in process on a
 * DynamoDB table store over dynalite, which counts every request and the capacity units DynamoDB
 * reports. The output is checked against the batch lookup (test/reference/views-by-country.ts).
 *
 *   npx tsx bench/table-requests.ts [--clicks 50000] [--updates 20000]
 */
import { parseArgs } from 'node:util';
import { generateClickLines } from '../examples/data/click-generator.js';
import { generateProfileLines } from '../examples/data/profile-generator.js';
import viewsByCountry from '../examples/views-by-country.js';
import { createDynamoDbClient } from '../local/aws-clients.js';
import { startEmulators } from '../local/emulators/index.js';
import { ensurePipelineTables, localTableNames } from '../local/runner/pipeline-tables.js';
import { DynamoDbTableStore } from '../shared/runtime/io/dynamodb-table-store.js';
import { MemoryRecordWriter } from '../shared/runtime/io/memory-record-writer.js';
import type { InputRecord } from '../shared/runtime/records.js';
import { StageRunner } from '../shared/runtime/stage-runner.js';
import { expectedCountryViews } from '../test/reference/views-by-country.js';
import { type BenchRow, isMain } from './results.js';

let sequence = 1_000_000n;
function asRecords(stream: string, lines: readonly string[]): InputRecord[] {
  return lines.map((line) => {
    sequence += 1n;
    const position = { stream, shardId: 'shardId-0', sequenceNumber: `${sequence}`, partitionKey: 'k', arrivalTime: 0 };
    return { position, data: Buffer.from(line) };
  });
}

export async function run(options: { clicks?: number; updates?: number } = {}): Promise<BenchRow[]> {
  const clicks = [...generateClickLines({ events: options.clicks ?? 50_000, seed: 3, users: 600 })];
  const updates = [...generateProfileLines({ updates: options.updates ?? 20_000, seed: 4, users: 500 })];
  const emulators = await startEmulators({ kinesis: false });
  const client = createDynamoDbClient(emulators.dynamodbEndpoint as string);
  const rows: BenchRow[] = [];
  try {
    const plan = viewsByCountry.plan();
    const names = localTableNames(plan, 'bench-');
    await ensurePipelineTables(client, plan, names);
    for (const batchSize of [100, 500]) {
      // A fresh table per batch size: the counts must not see the other run's rows.
      const store = new DynamoDbTableStore({ client, tableNames: { profiles: `bench-${batchSize}` } });
      await ensurePipelineTables(client, plan, { profiles: `bench-${batchSize}` });
      const writer = new MemoryRecordWriter();
      const stage = (id: string) => new StageRunner({ pipeline: viewsByCountry, stageId: id, writer, tables: store });
      const keeper = stage('from-user-profiles');
      const enricher = stage('from-clicks');
      const measure = async (runner: StageRunner, stream: string, lines: readonly string[]) => {
        const before = store.counter.snapshot();
        for (let i = 0; i < lines.length; i += batchSize) {
          const result = await runner.run(asRecords(stream, lines.slice(i, i + batchSize)), Date.now() + 60_000);
          if (result.failedSequenceNumbers.length > 0) throw new Error('a batch failed');
        }
        const after = store.counter.snapshot();
        return {
          requests: after.requests - before.requests,
          readUnits: after.readUnits - before.readUnits,
          writeUnits: after.writeUnits - before.writeUnits,
        };
      };
      const kept = await measure(keeper, 'user-profiles', updates);
      const enriched = await measure(enricher, 'clicks', clicks);

      const expected = expectedCountryViews(clicks, updates)
        .map((view) => JSON.stringify(view))
        .sort();
      // The views go on to the keyBy's shuffle stream, in packs: unpack their values to compare.
      const emitted = (writer.streams.get('views-by-country-keyBy-1') ?? [])
        .flatMap((record) => (JSON.parse(record.data) as { e?: { v: unknown }[] }).e ?? [])
        .map((envelope) => JSON.stringify(envelope.v))
        .sort();
      const exact = JSON.stringify(emitted) === JSON.stringify(expected);
      if (!exact) throw new Error(`batch ${batchSize}: output differs from the batch lookup`);
      const views = expected.length;
      const baseline = 'one request per record';
      rows.push(
        {
          name: `toTable, batch ${batchSize}: DynamoDB requests per update`,
          value: kept.requests / updates.length,
          unit: 'requests/record',
          baseline,
          baselineValue: 1,
          ratio: kept.requests / updates.length,
        },
        {
          name: `enrich, batch ${batchSize}: DynamoDB requests per view`,
          value: enriched.requests / views,
          unit: 'requests/record',
          baseline,
          baselineValue: 1,
          ratio: enriched.requests / views,
        },
        {
          name: `enrich, batch ${batchSize}: read units per view (strongly consistent)`,
          value: enriched.readUnits / views,
          unit: 'RRU/record',
        },
      );
    }
  } finally {
    client.destroy();
    await emulators.stop();
  }
  return rows;
}

if (isMain(import.meta.url)) {
  const { values } = parseArgs({
    options: { clicks: { type: 'string', default: '50000' }, updates: { type: 'string', default: '20000' } },
  });
  const rows = await run({ clicks: Number(values.clicks), updates: Number(values.updates) });
  console.table(rows.map((row) => ({ name: row.name, value: row.value.toFixed(4), unit: row.unit })));
}
