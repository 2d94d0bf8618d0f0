import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { createDynamoDbClient } from '../../local/aws-clients.js';
import { ensurePipelineTables, localTableNames, seedTable } from '../../local/runner/pipeline-tables.js';
import type { TableSpec } from '../../shared/dag/plan-types.js';
import { pipeline } from '../../shared/index.js';
import { DynamoDbTableStore } from '../../shared/runtime/io/dynamodb-table-store.js';
import { MemoryTableStore } from '../../shared/runtime/io/memory-table-store.js';
import { latestUpdates, type RowUpdate } from '../../shared/tables/table-operator.js';
import { useEmulators } from '../helpers/emulators.js';

const emulators = useEmulators({ kinesis: false });
let client: DynamoDBClient;
let store: DynamoDbTableStore;

/** A pipeline with a versioned table, an unversioned one and an external one with number keys. */
function tablesPipeline() {
  const p = pipeline('tables-it');
  const Row = z.object({ id: z.string(), n: z.number() });
  p.source('a', { schema: Row }).toTable('versioned', { key: (r) => r.id, version: (r) => r.n });
  p.source('b', { schema: Row }).toTable('plain', { key: (r) => r.id });
  const external = p.table('numbers', {
    tableName: `eddy-it-numbers-${process.pid}`,
    partitionKey: 'id',
    partitionKeyType: 'number',
    schema: z.object({ id: z.number(), name: z.string() }),
  });
  p.source('c', { schema: z.object({ id: z.number() }) })
    .enrich(external, { key: (r) => r.id })
    .sink('out');
  return p;
}
const plan = tablesPipeline().plan();
const prefix = `it${process.pid}-`;
const spec = (name: string) => plan.tables?.find((table) => table.name === name) as TableSpec;

beforeAll(async () => {
  client = createDynamoDbClient(emulators().dynamodbEndpoint as string);
  const names = localTableNames(plan, prefix);
  await ensurePipelineTables(client, plan, names);
  store = new DynamoDbTableStore({ client, tableNames: names, backoff: { baseMs: 1, capMs: 2 } });
});

afterAll(() => client?.destroy());

const update = (key: string, row: string | undefined, version?: number): RowUpdate => ({
  key,
  ...(row !== undefined && { row }),
  ...(version !== undefined && { version }),
});

describe('DynamoDbTableStore on DynamoDB (dynalite)', () => {
  it('ends with the same rows as the in-memory store for any sequence of batches, versioned or not', async () => {
    let round = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('versioned', 'plain'),
        fc.array(
          fc.array(
            fc.record({
              key: fc.constantFrom('a', 'b', 'c', 'd'),
              version: fc.integer({ min: 0, max: 20 }),
              deleted: fc.boolean(),
            }),
            { maxLength: 12 },
          ),
          { maxLength: 5 },
        ),
        async (name, batches) => {
          round += 1;
          const table = spec(name);
          const memory = new MemoryTableStore();
          // Fresh keys per run: the table outlives the run.
          const keyOf = (key: string) => `${round}-${key}`;
          for (const batch of batches) {
            const updates = batch.map((u, i) =>
              update(
                keyOf(u.key),
                u.deleted ? undefined : JSON.stringify({ id: u.key, n: u.version, i }),
                name === 'versioned' ? u.version : undefined,
              ),
            );
            const latest = latestUpdates(updates);
            expect((await store.putRows(table, latest)).failed).toEqual([]);
            await memory.putRows({ ...table, tableName: 'memory' }, latest);
          }
          const keys = ['a', 'b', 'c', 'd'].map(keyOf);
          const stored = await store.getRows(table, keys);
          const expected = await memory.getRows({ ...table, tableName: 'memory' }, keys);
          expect(stored).toEqual(expected);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('refuses an older version (stale updates are dropped, not failed), and keeps a delete as a tombstone', async () => {
    const table = spec('versioned');
    await store.putRows(table, [update('t', '{"v":5}', 5)]);
    const before = store.counter.snapshot().conditionalFailures;
    expect((await store.putRows(table, [update('t', '{"v":3}', 3)])).failed).toEqual([]);
    expect(store.counter.snapshot().conditionalFailures).toBe(before + 1);
    expect(await store.getRows(table, ['t'])).toEqual(new Map([['t', { v: 5 }]]));
    await store.putRows(table, [update('t', undefined, 6)]);
    await store.putRows(table, [update('t', '{"v":4}', 4)]);
    expect(await store.getRows(table, ['t'])).toEqual(new Map());
  });

  it('looks up more keys than one BatchGetItem takes, and writes more rows than one BatchWriteItem takes', async () => {
    const table = spec('plain');
    const keys = Array.from({ length: 260 }, (_, i) => `many-${i}`);
    const before = store.counter.snapshot().requests;
    await store.putRows(
      table,
      keys.map((key) => update(key, JSON.stringify({ key }))),
    );
    const rows = await store.getRows(table, [...keys, 'many-missing', 'many-1']);
    expect(rows.size).toBe(260);
    expect(rows.get('many-259')).toEqual({ key: 'many-259' });
    // 11 BatchWriteItems of at most 25, 3 BatchGetItems of at most 100.
    expect(store.counter.snapshot().requests - before).toBe(11 + 3);
  });

  it("reads an external table's items as they are, by a number partition key", async () => {
    const table = spec('numbers');
    await seedTable(client, table.tableName, [
      { id: 1, name: 'one' },
      { id: 2, name: 'two', extra: [1, 2] },
    ]);
    expect(await store.getRows(table, ['1', '2', '3'])).toEqual(
      new Map<string, unknown>([
        ['1', { id: 1, name: 'one' }],
        ['2', { id: 2, name: 'two', extra: [1, 2] }],
      ]),
    );
  });
});
