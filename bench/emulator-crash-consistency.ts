/**
 * How dynalite's files on a data folder look after a SIGKILL with writes in flight: 16 clients run
 * conditional-free UpdateItems on 50 window-like items (with `timer` and `fireAt`, so each is in the
 * state table's `byFireTime` GSI), the emulator process is SIGKILLed after 0.3 to 1 s, started again
 * on the same folder, and each item is compared with its GSI copy. dynalite writes an item's index
 * entries before the item, so a kill between the two leaves the index a version ahead: what the
 * windowed stage must not fire from (docs/reliability.md, "Restart on a data folder").
 *
 *   npx tsx bench/emulator-crash-consistency.ts [--rounds 15]
 */
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DynamoDBDocumentClient, GetCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { createDynamoDbClient } from '../local/aws-clients.js';
import { startEmulators } from '../local/emulators/index.js';
import { createStateTable, StateTableSchema } from '../shared/runtime/io/state-table-schema.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '15' } } });
const ITEMS = 50;
const TIMER = 'stage#shard';
const dataDir = join(tmpdir(), `eddy-crash-consistency-${process.pid}`);
const table = 'crash-state';
let checked = 0;
const ahead: string[] = [];
try {
  for (let round = 0; round <= Number(values.rounds); round += 1) {
    const emulators = await startEmulators({ kinesis: false, dataDir });
    const client = createDynamoDbClient(emulators.dynamodbEndpoint ?? '');
    const doc = DynamoDBDocumentClient.from(client);
    if (round === 0) await createStateTable(client, table);
    const key = (i: number) => ({ pk: `stage#k${i}`, sk: 'w' });
    const indexed = await doc.send(
      new QueryCommand({
        TableName: table,
        IndexName: StateTableSchema.fireTimeIndex,
        KeyConditionExpression: '#timer = :timer',
        ExpressionAttributeNames: { '#timer': StateTableSchema.timerAttribute },
        ExpressionAttributeValues: { ':timer': TIMER },
      }),
    );
    const indexVersion = new Map((indexed.Items ?? []).map((item) => [item.pk as string, item.version as number]));
    for (let i = 0; i < ITEMS; i += 1) {
      const { Item } = await doc.send(new GetCommand({ TableName: table, Key: key(i), ConsistentRead: true }));
      if (Item === undefined) continue;
      checked += 1;
      if (indexVersion.get(Item.pk) !== Item.version) {
        ahead.push(`after kill ${round}: ${Item.pk} item v${Item.version}, index v${indexVersion.get(Item.pk)}`);
      }
    }
    if (round === Number(values.rounds)) {
      await emulators.stop();
      break;
    }
    let stopped = false;
    const writers = Array.from({ length: 16 }, async (_, writer) => {
      for (let n = 0; !stopped; n += 1) {
        await doc
          .send(
            new UpdateCommand({
              TableName: table,
              Key: key((writer * 7 + n) % ITEMS),
              UpdateExpression:
                'SET #version = if_not_exists(#version, :zero) + :one, #timer = :timer, #fireAt = :fireAt',
              ExpressionAttributeNames: {
                '#version': 'version',
                '#timer': StateTableSchema.timerAttribute,
                '#fireAt': StateTableSchema.fireAtAttribute,
              },
              ExpressionAttributeValues: { ':zero': 0, ':one': 1, ':timer': TIMER, ':fireAt': 1000 },
            }),
          )
          .catch(() => {
            stopped = true;
          });
      }
    });
    await new Promise((resolve) => setTimeout(resolve, 300 + Math.random() * 700));
    await emulators.crash();
    stopped = true;
    await Promise.allSettled(writers);
    client.destroy();
  }
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}
for (const line of ahead) console.log(line);
console.log(
  `${values.rounds} SIGKILLs with writes in flight: ${checked} item checks, ${ahead.length} with a GSI copy of another version`,
);
