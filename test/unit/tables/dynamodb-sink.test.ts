import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import type { TableSpec } from '../../../shared/dag/plan-types.js';
import { count, type Pipeline, pipeline, tumbling } from '../../../shared/index.js';
import { MemoryRecordWriter } from '../../../shared/runtime/io/memory-record-writer.js';
import { MemoryTableStore } from '../../../shared/runtime/io/memory-table-store.js';
import type { TableStore } from '../../../shared/runtime/io/table-store.js';
import type { InputRecord } from '../../../shared/runtime/records.js';
import { StageRunner } from '../../../shared/runtime/stage-runner.js';
import { SinkItemAttributes, sinkWriteOf } from '../../../shared/tables/dynamodb-sink.js';
import type { RowUpdate } from '../../../shared/tables/table-operator.js';

const Score = z.object({ user: z.string(), game: z.number(), points: z.number(), ts: z.number(), gone: z.boolean() });
type Score = z.infer<typeof Score>;

/** Scores written to a DynamoDB table keyed by user and game, versioned by event time. */
function scoresToTable(options: { gameSortKey?: boolean } = {}): Pipeline {
  const p = pipeline('scores');
  const stream = p.source('scores', { schema: Score, eventTime: (s) => s.ts });
  if (options.gameSortKey === false) {
    stream.toDynamoDb('best', { key: (s) => s.user, delete: (s) => s.gone });
  } else {
    stream.toDynamoDb('best', {
      key: (s) => [s.user, s.game],
      partitionKey: { name: 'user' },
      sortKey: { name: 'game', type: 'number' },
      delete: (s) => s.gone,
    });
  }
  return p;
}

let sequence = 0;
function inputRecords(values: readonly unknown[]): InputRecord[] {
  return values.map((value) => {
    sequence += 1;
    return {
      position: {
        stream: 'scores',
        shardId: 'shardId-000000000000',
        sequenceNumber: String(sequence).padStart(20, '0'),
        partitionKey: 'pk',
        arrivalTime: 0,
      },
      data: Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)),
    };
  });
}

const runner = (p: Pipeline, tables: TableStore) =>
  new StageRunner({ pipeline: p, stageId: 'from-scores', writer: new MemoryRecordWriter(), tables });
const deadline = () => Date.now() + 60_000;

/**
 * Runs records as Lambda delivers a shard: batch by batch; a batch with failed records is delivered
 * again from its first failed record (ReportBatchItemFailures) until it passes.
 */
async function deliver(stage: StageRunner, records: readonly InputRecord[], cuts: readonly number[]): Promise<void> {
  const points = [...new Set(cuts.map((cut) => cut % (records.length + 1)))].sort((a, b) => a - b);
  let from = 0;
  for (const point of [...points, records.length]) {
    let batch = records.slice(from, Math.max(from, point));
    from = Math.max(from, point);
    for (let attempt = 0; batch.length > 0; attempt += 1) {
      if (attempt > 50) throw new Error('a batch kept failing');
      const { failedSequenceNumbers } = await stage.run(batch, deadline());
      if (failedSequenceNumbers.length === 0) break;
      const first = [...failedSequenceNumbers].sort()[0];
      batch = batch.filter((record) => record.position.sequenceNumber >= (first ?? ''));
    }
  }
}

/** A store that fails some writes (DynamoDB unavailable after its retries), as the fault proxy would. */
function flaky(memory: MemoryTableStore, failing: (update: RowUpdate) => boolean): TableStore {
  return {
    counter: memory.counter,
    getRows: (table, keys) => memory.getRows(table, keys),
    putRows: async <U extends RowUpdate>(table: TableSpec, updates: readonly U[]) => {
      const failed = updates.filter(failing);
      const { refused } = await memory.putRows(
        table,
        updates.filter((u) => !failed.includes(u)),
      );
      return { failed, refused };
    },
  };
}

/** The table an independent reading gives: per (user, game), the record of the highest ts. */
function referenceItems(scores: readonly Score[]): Map<string, Record<string, unknown>> {
  const newest = new Map<string, Score>();
  for (const score of scores) {
    const key = JSON.stringify([score.user, score.game]);
    const current = newest.get(key);
    if (current === undefined || score.ts > current.ts) newest.set(key, score);
  }
  const items = new Map<string, Record<string, unknown>>();
  for (const [key, score] of newest) {
    items.set(key, score.gone ? { user: score.user, game: score.game, deleted: true } : { ...score });
  }
  return items;
}

/** The sink table's items without the tie-break (a digest the reference does not compute). */
function tableItems(store: MemoryTableStore): Map<string, Record<string, unknown>> {
  const items = new Map<string, Record<string, unknown>>();
  for (const [key, item] of store.sinkItems('best')) {
    const { eddyVersion, eddyTieBreak, eddyDeleted, ...fields } = item;
    expect(typeof eddyTieBreak).toBe('string');
    items.set(key, eddyDeleted === true ? { user: fields.user, game: fields.game, deleted: true } : fields);
    expect(eddyVersion).toBe(eddyDeleted === true ? eddyVersion : fields.ts);
  }
  return items;
}

const score = fc.record({
  user: fc.constantFrom('ann', 'bob', 'cy'),
  game: fc.integer({ min: 1, max: 3 }),
  points: fc.nat(100),
  gone: fc.boolean(),
});

describe('toDynamoDb: each key ends with its newest record', () => {
  it('over shuffled, repeated input, in random batches, with writes failing and batches delivered again', async () => {
    // Distinct event times per key, so that "newest" needs no tie-break in the reference.
    const history = fc
      .uniqueArray(fc.record({ s: score, ts: fc.integer({ min: 0, max: 10_000 }) }), {
        selector: ({ s, ts }) => `${s.user}/${s.game}/${ts}`,
        maxLength: 60,
      })
      .map((list) => list.map(({ s, ts }) => ({ ...s, ts })));
    await fc.assert(
      fc.asyncProperty(
        history,
        fc.array(fc.nat(), { maxLength: 10 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        fc.integer({ min: 1, max: 2 ** 30 }),
        async (scores, repeats, cuts, seed) => {
          const arrived: Score[] = [...scores];
          for (const index of repeats) {
            const repeat = scores[index % Math.max(1, scores.length)];
            if (repeat !== undefined) arrived.splice((index * 7) % (arrived.length + 1), 0, repeat);
          }
          const memory = new MemoryTableStore();
          // A third of the writes fail (DynamoDB unavailable), at random from the seed; Lambda retries them.
          let state = seed;
          const store = flaky(memory, () => {
            state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
            return state % 3 === 0;
          });
          await deliver(runner(scoresToTable(), store), inputRecords(arrived), cuts);
          expect(tableItems(memory)).toEqual(referenceItems(scores));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('ends with the same table whatever the order when versions tie', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ s: score, ts: fc.integer({ min: 0, max: 3 }) }), { minLength: 1, maxLength: 30 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        async (raw, cuts) => {
          const scores = raw.map(({ s, ts }) => ({ ...s, ts }));
          const tables = [];
          for (const order of [scores, [...scores].reverse()]) {
            const memory = new MemoryTableStore();
            await deliver(runner(scoresToTable(), memory), inputRecords(order), cuts);
            tables.push(memory.sinkItems('best'));
          }
          expect(tables[0]).toEqual(tables[1]);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('keeps a tombstone so that an older upsert does not bring a deleted item back, and counts it', async () => {
    const memory = new MemoryTableStore();
    const stage = runner(scoresToTable(), memory);
    const rows = [
      { user: 'ann', game: 1, points: 5, ts: 10, gone: true },
      { user: 'ann', game: 1, points: 7, ts: 5, gone: false },
    ];
    await stage.run(inputRecords(rows.slice(0, 1)), deadline());
    await stage.run(inputRecords(rows.slice(1)), deadline());
    expect([...memory.sinkItems('best').values()]).toEqual([
      { user: 'ann', game: 1, eddyVersion: 10, eddyTieBreak: expect.any(String), eddyDeleted: true },
    ]);
    expect(memory.counter.snapshot().conditionalFailures).toBe(1);
  });

  it('writes one item per key per batch', async () => {
    const memory = new MemoryTableStore();
    const scores = Array.from({ length: 90 }, (_, i) => ({
      user: `u${i % 9}`,
      game: 1,
      points: i,
      ts: i,
      gone: false,
    }));
    const result = await runner(scoresToTable(), memory).run(inputRecords(scores), deadline());
    expect(memory.counter.snapshot().requests).toBe(9);
    expect(result.report.written).toEqual({ 'table:best': 90 });
  });
});

describe('toDynamoDb: records that cannot be items are dead-lettered, naming the field and the table', () => {
  const spec = {
    operator: 'toDynamoDb-1',
    key: (v: unknown) => (v as { k: unknown }).k,
    table: { name: 'best', tableName: 'best', partitionKey: 'user', partitionKeyType: 'string' as const },
  };
  const messageOf = (value: unknown, eventTime: number | null = 1, overrides: object = {}) => {
    try {
      sinkWriteOf({ ...spec, ...overrides }, value, eventTime ?? undefined);
    } catch (error) {
      return (error as Error).message;
    }
    return 'written';
  };

  it.each([
    ['an object key', { k: { nested: 1 } }, "partition key 'user' must be a string, got object"],
    ['a number for a string key', { k: 3 }, "partition key 'user' must be a string, got number 3"],
    ['an empty key', { k: '' }, "partition key 'user' must be 1 to 2048 bytes, got 0"],
    ['a reserved field', { k: 'a', eddyVersion: 1 }, "field 'eddyVersion' is reserved"],
    ['an item over 400 KB', { k: 'a', big: 'x'.repeat(410_000) }, "over 408576 bytes (DynamoDB's 400 KB item limit)"],
    ['a record with no key', 'not an object', "partition key 'user' must be a string, got undefined"],
  ])('%s', (_, value, message) => {
    expect(messageOf(value)).toContain(message);
    expect(messageOf(value)).toContain("for DynamoDB table 'best'");
  });

  it('needs [partition, sort] for a table with a sort key, of the sort key type', () => {
    const sorted = { table: { ...spec.table, sortKey: { name: 'game', type: 'number' as const } } };
    expect(messageOf({ k: 'a' }, 1, sorted)).toContain(
      "key must be [partition, sort] for a table with sort key 'game'",
    );
    expect(messageOf({ k: ['a', 'b'] }, 1, { ...sorted, key: (v: { k: unknown }) => v.k })).toContain(
      "sort key 'game' must be a finite number, got 'b'",
    );
  });

  it('needs a record that is an object', () => {
    expect(messageOf([1, 2], 1, { key: () => 'a' })).toContain(
      'record must be an object to be an item, got an array of 2',
    );
  });

  it('needs an event time or a version', () => {
    expect(messageOf({ k: 'a' }, null)).toContain('no event time to version the item by');
    expect(messageOf({ k: 'a' }, null, { version: () => 4 })).toBe('written');
  });

  it('a dead letter of the stage names the operator and the reason', async () => {
    const result = await runner(scoresToTable({ gameSortKey: false }), new MemoryTableStore()).run(
      inputRecords([{ user: '', game: 1, points: 1, ts: 1, gone: false }]),
      deadline(),
    );
    expect(result.report.deadLetters).toHaveLength(1);
    expect(result.report.deadLetters[0]?.error).toMatchObject({
      reason: 'unwritable-output',
      operator: 'toDynamoDb-1',
    });
    expect(result.report.deadLetters[0]?.error.message).toContain("partition key 'pk' must be 1 to 2048 bytes");
  });

  it('an item keeps the key from key(record), over a field of the same name', () => {
    const write = sinkWriteOf({ ...spec, key: () => 'from-key' }, { k: 'x', user: 'from-field' }, 7);
    expect(JSON.parse(write.row ?? '')).toEqual({ k: 'x', user: 'from-key' });
    expect(write).toMatchObject({ version: 7, itemKey: { user: 'from-key' } });
    expect(Object.values(SinkItemAttributes)).toEqual(['eddyVersion', 'eddyTieBreak', 'eddyDeleted']);
  });
});

describe('toDynamoDb: the definition', () => {
  const Click = z.object({ page: z.string(), ts: z.number() });

  it('plans a sink table with its keys, created by the pipeline, or existing when named by ARN', () => {
    const p = pipeline('defs');
    const clicks = p.source('clicks', { schema: Click, eventTime: (c) => c.ts });
    clicks.toDynamoDb('views', { key: (c) => c.page });
    clicks.toDynamoDb('arn:aws:dynamodb:us-east-1:210987654321:table/theirs', {
      key: (c) => [c.page, c.ts],
      partitionKey: { name: 'page' },
      sortKey: { name: 'ts', type: 'number' },
    });
    const plan = p.plan();
    expect(plan.tables).toEqual([
      expect.objectContaining({
        name: 'views',
        kind: 'sink',
        tableName: 'views',
        partitionKey: 'pk',
        writers: ['from-clicks'],
      }),
      expect.objectContaining({
        name: 'theirs',
        kind: 'sink',
        tableName: 'theirs',
        partitionKey: 'page',
        sortKey: { name: 'ts', type: 'number' },
        existing: { tableArn: 'arn:aws:dynamodb:us-east-1:210987654321:table/theirs' },
      }),
    ]);
    expect(plan.stages[0]?.tables).toEqual({ reads: [], writes: ['views', 'theirs'] });
  });

  it('refuses a key that is not a function, a key type that is neither string nor number, and a stateful stage', () => {
    const clicks = () => pipeline('defs').source('clicks', { schema: Click, eventTime: (c) => c.ts });
    expect(() => clicks().toDynamoDb('views', { key: 'page' as never })).toThrow(/key must be a function, got string/);
    expect(() =>
      clicks().toDynamoDb('views', { key: (c) => c.page, partitionKey: { name: 'p', type: 'binary' as never } }),
    ).toThrow(/partitionKey.type must be 'string' or 'number', got "binary"/);
    const windowed = pipeline('defs');
    windowed
      .source('clicks', { schema: Click, eventTime: (c) => c.ts })
      .keyBy((c) => c.page)
      .window(tumbling('1m'))
      .aggregate(count())
      .toDynamoDb('views', { key: (r) => r.key });
    expect(() => windowed.plan()).toThrow(/cannot run in the stage of window 'window-\d+': put a keyBy between them/);
  });
});
