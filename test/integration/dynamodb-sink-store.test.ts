import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { createDynamoDbClient } from '../../local/aws-clients.js';
import {
  ensurePipelineTables,
  localTableNames,
  scanTablePages,
  seedTable,
} from '../../local/runner/pipeline-tables.js';
import type { TableSpec } from '../../shared/dag/plan-types.js';
import { pipeline } from '../../shared/index.js';
import { DynamoDbTableStore } from '../../shared/runtime/io/dynamodb-table-store.js';
import { MemoryTableStore } from '../../shared/runtime/io/memory-table-store.js';
import { sinkWriteOf } from '../../shared/tables/dynamodb-sink.js';
import { latestUpdates } from '../../shared/tables/table-operator.js';
import { useEmulators } from '../helpers/emulators.js';

const Score = z.object({ user: z.string(), game: z.number(), points: z.number(), v: z.number(), gone: z.boolean() });
type Score = z.infer<typeof Score>;

const plan = pipeline('sink-it')
  .source('scores', { schema: Score })
  .toDynamoDb('scores', {
    key: (s) => [s.user, s.game],
    partitionKey: { name: 'user' },
    sortKey: { name: 'game', type: 'number' },
    version: (s) => s.v,
    delete: (s) => s.gone,
  })
  .plan();
const table = plan.tables?.[0] as TableSpec;
const names = localTableNames(plan, `it${process.pid}-`);
const tableName = names.scores as string;

const writeOf = (score: Score) =>
  sinkWriteOf(
    {
      operator: 'toDynamoDb-1',
      key: (s) => [(s as Score).user, (s as Score).game],
      version: (s) => (s as Score).v,
      deleted: (s) => (s as Score).gone,
      table,
    },
    score,
    undefined,
  );

async function scan(client: DynamoDBClient): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  for await (const page of scanTablePages(client, tableName)) items.push(...page);
  return items;
}
const byKey = (items: readonly Record<string, unknown>[]) =>
  new Map(items.map((item) => [JSON.stringify([item.user, item.game]), item]));

// Both engine pairs: dynalite, and AWS's own DynamoDB Local (docs/local-engines.md).
describe.each(['kinesalite+dynalite', 'kinesis-mock+dynamodb-local'] as const)(
  'toDynamoDb writes on %s: the condition as the in-memory store models it',
  (engines) => {
    const emulators = useEmulators({ engines, kinesis: false });
    let client: DynamoDBClient;
    beforeAll(async () => {
      client = createDynamoDbClient(emulators().dynamodbEndpoint as string);
      await ensurePipelineTables(client, plan, names);
    });
    afterAll(() => client?.destroy());

    it('ends with the same items as the in-memory store for any sequence of batches', async () => {
      let round = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.array(
            fc.array(
              fc.record({
                game: fc.integer({ min: 1, max: 3 }),
                points: fc.nat(9),
                v: fc.integer({ min: 0, max: 5 }),
                gone: fc.boolean(),
              }),
              { maxLength: 10 },
            ),
            { maxLength: 5 },
          ),
          async (batches) => {
            round += 1;
            // A user of its own per run: the table outlives the run.
            const user = `u${round}`;
            const memory = new MemoryTableStore();
            const dynamo = new DynamoDbTableStore({ client, tableNames: names, backoff: { baseMs: 1, capMs: 2 } });
            for (const batch of batches) {
              const writes = latestUpdates(batch.map((s) => writeOf({ ...s, user })));
              const before = dynamo.counter.snapshot().conditionalFailures;
              const { failed, refused } = await dynamo.putRows(table, writes);
              expect(failed).toEqual([]);
              // What the run summary shows: the batch's refusals, as DynamoDB counted them.
              expect(refused).toBe(dynamo.counter.snapshot().conditionalFailures - before);
              expect((await memory.putRows(table, writes)).refused).toBe(refused);
            }
            const stored = (await scan(client)).filter((item) => item.user === user);
            expect(byKey(stored)).toEqual(byKey([...memory.sinkItems('scores').values()]));
            expect(dynamo.counter.snapshot().conditionalFailures).toBe(memory.counter.snapshot().conditionalFailures);
          },
        ),
        { numRuns: 40 },
      );
    });

    it('replaces an item that has no version (written by someone else) and counts older writes', async () => {
      await seedTable(client, tableName, [{ user: 'other', game: 1, note: 'not written by Eddy' }]);
      const dynamo = new DynamoDbTableStore({ client, tableNames: names });
      await dynamo.putRows(table, [writeOf({ user: 'other', game: 1, points: 3, v: 2, gone: false })]);
      const older = await dynamo.putRows(table, [writeOf({ user: 'other', game: 1, points: 9, v: 1, gone: false })]);
      expect(older).toEqual({ failed: [], refused: 1 });
      const [item] = (await scan(client)).filter((i) => i.user === 'other');
      expect(item).toMatchObject({ user: 'other', game: 1, points: 3, eddyVersion: 2 });
      expect(item?.note).toBeUndefined();
      expect(dynamo.counter.snapshot().conditionalFailures).toBe(1);
    });
  },
);
