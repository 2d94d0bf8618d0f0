import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import type { TableSpec } from '../../../shared/dag/plan-types.js';
import { type Pipeline, pipeline } from '../../../shared/index.js';
import { MemoryRecordWriter } from '../../../shared/runtime/io/memory-record-writer.js';
import { MemoryTableStore } from '../../../shared/runtime/io/memory-table-store.js';
import type { TableStore } from '../../../shared/runtime/io/table-store.js';
import type { InputRecord } from '../../../shared/runtime/records.js';
import { StageRunner } from '../../../shared/runtime/stage-runner.js';
import type { RowUpdate } from '../../../shared/tables/table-operator.js';

const UserUpdate = z.object({
  id: z.string(),
  name: z.string(),
  rev: z.number(),
  deleted: z.boolean().optional(),
});
type UserUpdate = z.infer<typeof UserUpdate>;
const Click = z.object({ click: z.string(), user: z.string() });

/** User updates kept as a table, clicks enriched with it: the stream-table join under test. */
function clicksWithUsers(type: 'inner' | 'left', versioned: boolean): Pipeline {
  const p = pipeline('clicks-users');
  const users = p.source('user-updates', { schema: UserUpdate }).toTable('users', {
    key: (u) => u.id,
    ...(versioned && { version: (u: UserUpdate) => u.rev }),
    deleted: (u) => u.deleted === true,
  });
  p.source('clicks', { schema: Click })
    .enrich(users, { key: (c) => c.user, type })
    .map(([click, user]) => ({ click: click.click, user: click.user, name: user?.name ?? null }))
    .sink('enriched');
  return p;
}

let sequence = 0;
function inputRecords(stream: string, values: readonly unknown[]): InputRecord[] {
  return values.map((value) => {
    sequence += 1;
    return {
      position: {
        stream,
        shardId: 'shardId-000000000000',
        sequenceNumber: String(sequence).padStart(20, '0'),
        partitionKey: 'pk',
        arrivalTime: 0,
      },
      data: Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)),
    };
  });
}

function runner(p: Pipeline, stageId: string, tables: TableStore, writer = new MemoryRecordWriter()) {
  return new StageRunner({ pipeline: p, stageId, writer, tables });
}

const deadline = () => Date.now() + 60_000;

/** The table an independent reading of the changelog gives: per key, its last update by version. */
function referenceTable(updates: readonly UserUpdate[], versioned: boolean): Map<string, string> {
  const latest = new Map<string, UserUpdate>();
  for (const update of updates) {
    const current = latest.get(update.id);
    if (!versioned || current === undefined || update.rev >= current.rev) latest.set(update.id, update);
  }
  const names = new Map<string, string>();
  for (const [id, update] of latest) if (update.deleted !== true) names.set(id, update.name);
  return names;
}

/** Splits a list into consecutive batches at the given cut points. */
function batches<T>(list: readonly T[], cuts: readonly number[]): T[][] {
  const points = [...new Set(cuts.map((cut) => cut % (list.length + 1)))].sort((a, b) => a - b);
  const result: T[][] = [];
  let from = 0;
  for (const point of [...points, list.length]) {
    if (point > from) result.push(list.slice(from, point));
    from = Math.max(from, point);
  }
  return result;
}

const userIds = fc.constantFrom('u1', 'u2', 'u3', 'u4', 'u5', 'u6');

describe('toTable: a stream kept as a table', () => {
  it('keeps the highest version of each key, whatever the order, repeats and batches of the updates', async () => {
    const history = fc
      .uniqueArray(fc.record({ id: userIds, rev: fc.integer({ min: 0, max: 1000 }), deleted: fc.boolean() }), {
        selector: (u) => `${u.id}/${u.rev}`,
        maxLength: 60,
      })
      .map((updates) => updates.map((u) => ({ ...u, name: `${u.id}@${u.rev}` })));
    await fc.assert(
      fc.asyncProperty(
        history,
        fc.array(fc.nat(), { maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        async (updates, repeats, cuts) => {
          // Repeats of some updates anywhere later: what a producer's retry or Lambda's re-delivery does.
          const arrived: UserUpdate[] = [...updates];
          for (const index of repeats) {
            const update = updates[index % Math.max(1, updates.length)];
            if (update !== undefined) arrived.splice((index * 7) % (arrived.length + 1), 0, update);
          }
          const p = clicksWithUsers('left', true);
          const store = new MemoryTableStore();
          const stage = runner(p, 'from-user-updates', store);
          for (const batch of batches(arrived, cuts)) {
            const result = await stage.run(inputRecords('user-updates', batch), deadline());
            expect(result.failedSequenceNumbers).toEqual([]);
          }
          const names = new Map(
            [...store.rows('clicks-users-table-users')].map(([id, row]) => [id, (row as UserUpdate).name]),
          );
          expect(names).toEqual(referenceTable(updates, true));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('without a version, keeps the last update in stream order, also when a batch is delivered again', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ id: userIds, rev: fc.nat(), deleted: fc.boolean() }), { maxLength: 60 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        fc.nat(),
        async (raw, cuts, redeliver) => {
          const updates = raw.map((u, i) => ({ ...u, name: `${u.id}#${i}` }));
          const p = clicksWithUsers('left', false);
          const store = new MemoryTableStore();
          const stage = runner(p, 'from-user-updates', store);
          const parts = batches(updates, cuts);
          for (const [index, batch] of parts.entries()) {
            const records = inputRecords('user-updates', batch);
            await stage.run(records, deadline());
            // Lambda delivers a batch again after a timeout: the same records, before the next batch.
            if (index === redeliver % Math.max(1, parts.length)) await stage.run(records, deadline());
          }
          const names = new Map(
            [...store.rows('clicks-users-table-users')].map(([id, row]) => [id, (row as UserUpdate).name]),
          );
          expect(names).toEqual(referenceTable(updates, false));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('writes one row per key per batch', async () => {
    const p = clicksWithUsers('left', true);
    const store = new MemoryTableStore();
    const updates = Array.from({ length: 300 }, (_, i) => ({ id: `u${i % 7}`, name: `n${i}`, rev: i }));
    const result = await runner(p, 'from-user-updates', store).run(inputRecords('user-updates', updates), deadline());
    expect(store.counter.snapshot().requests).toBe(7);
    expect(result.report.stateRequests).toBe(7);
    expect(result.report.recordsOut).toBe(300);
    expect(result.report.written).toEqual({ 'table:users': 300 });
  });

  it('dead-letters a row that cannot be written, naming the operator and the limit', async () => {
    const p = clicksWithUsers('left', true);
    const result = await runner(p, 'from-user-updates', new MemoryTableStore()).run(
      inputRecords('user-updates', [{ id: 'u1', name: 'x'.repeat(500_000), rev: 1 }]),
      deadline(),
    );
    expect(result.report.deadLetters).toHaveLength(1);
    expect(result.report.deadLetters[0]?.error).toMatchObject({ reason: 'unwritable-output', operator: 'toTable-1' });
    expect(result.report.deadLetters[0]?.error.message).toContain("DynamoDB's item limit");
  });

  it('delivers again the records whose updates were not written, from the first of their key', async () => {
    const p = clicksWithUsers('left', true);
    const memory = new MemoryTableStore();
    const failing: TableStore = {
      counter: memory.counter,
      getRows: (table, keys) => memory.getRows(table, keys),
      putRows: async <U extends RowUpdate>(table: TableSpec, updates: readonly U[]) => {
        const { refused } = await memory.putRows(
          table,
          updates.filter((u) => u.key !== 'u2'),
        );
        return { failed: updates.filter((u) => u.key === 'u2'), refused };
      },
    };
    const records = inputRecords('user-updates', [
      { id: 'u1', name: 'a', rev: 1 },
      { id: 'u2', name: 'b', rev: 1 },
      { id: 'u1', name: 'c', rev: 2 },
      { id: 'u2', name: 'd', rev: 2 },
    ]);
    const result = await runner(p, 'from-user-updates', failing).run(records, deadline());
    expect([...result.failedSequenceNumbers].sort()).toEqual([
      records[1]?.position.sequenceNumber,
      records[3]?.position.sequenceNumber,
    ]);
    expect(result.report.written).toEqual({ 'table:users': 2 });
  });
});

describe('enrich: a stream joined with a table', () => {
  it('pairs each record with the row its key has, as a lookup in the batch computation does', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ id: userIds, rev: fc.nat(100), deleted: fc.boolean() }), { maxLength: 30 }),
        fc.array(fc.record({ user: fc.oneof(userIds, fc.constant('nobody')) }), { maxLength: 80 }),
        fc.constantFrom('inner' as const, 'left' as const),
        fc.array(fc.nat(), { maxLength: 6 }),
        async (raw, rawClicks, type, cuts) => {
          const updates = raw.map((u, i) => ({ ...u, name: `${u.id}#${i}` }));
          const clicks = rawClicks.map((c, i) => ({ click: `c${i}`, user: c.user }));
          const p = clicksWithUsers(type, false);
          const store = new MemoryTableStore();
          await runner(p, 'from-user-updates', store).run(inputRecords('user-updates', updates), deadline());
          const writer = new MemoryRecordWriter();
          const stage = runner(p, 'from-clicks', store, writer);
          for (const batch of batches(clicks, cuts)) await stage.run(inputRecords('clicks', batch), deadline());

          const table = referenceTable(updates, false);
          const expected = clicks.flatMap((click) => {
            const name = table.get(click.user);
            if (name === undefined && type === 'inner') return [];
            return [{ click: click.click, user: click.user, name: name ?? null }];
          });
          expect(writer.values('enriched')).toEqual(expected);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('looks each distinct key up once per batch, 100 keys a request', async () => {
    const p = clicksWithUsers('left', false);
    const store = new MemoryTableStore();
    const clicks = Array.from({ length: 1000 }, (_, i) => ({ click: `c${i}`, user: `u${i % 250}` }));
    const result = await runner(p, 'from-clicks', store).run(inputRecords('clicks', clicks), deadline());
    expect(result.report.stateRequests).toBe(3);
    expect(result.report.recordsOut).toBe(1000);
  });

  it('runs enrichments that depend on each other in one lookup round each', async () => {
    const Team = z.object({ id: z.string(), team: z.string() });
    const Lead = z.object({ team: z.string(), lead: z.string() });
    const p = pipeline('two-tables');
    const members = p.source('members', { schema: Team }).toTable('members', { key: (m) => m.id });
    const leads = p.source('leads', { schema: Lead }).toTable('leads', { key: (l) => l.team });
    p.source('clicks', { schema: Click })
      .enrich(members, { key: (c) => c.user })
      .enrich(leads, { key: ([, member]) => member.team, type: 'left' })
      .map(([[click, member], lead]) => ({ click: click.click, team: member.team, lead: lead?.lead ?? null }))
      .sink('out');
    const store = new MemoryTableStore();
    await runner(p, 'from-members', store).run(
      inputRecords('members', [
        { id: 'u1', team: 'red' },
        { id: 'u2', team: 'blue' },
      ]),
      deadline(),
    );
    await runner(p, 'from-leads', store).run(inputRecords('leads', [{ team: 'red', lead: 'ann' }]), deadline());
    const writer = new MemoryRecordWriter();
    const before = store.counter.snapshot().requests;
    await runner(p, 'from-clicks', store, writer).run(
      inputRecords('clicks', [
        { click: 'a', user: 'u1' },
        { click: 'b', user: 'u2' },
        { click: 'c', user: 'u3' },
      ]),
      deadline(),
    );
    expect(writer.values('out')).toEqual([
      { click: 'a', team: 'red', lead: 'ann' },
      { click: 'b', team: 'blue', lead: null },
    ]);
    expect(store.counter.snapshot().requests - before).toBe(2);
  });

  it("dead-letters the records whose row breaks an external table's schema, naming the row and the field", async () => {
    const Account = z.object({ accountId: z.number(), plan: z.enum(['free', 'pro']) });
    const p = pipeline('accounts');
    const accounts = p.table('accounts', {
      tableName: 'prod-accounts',
      partitionKey: 'accountId',
      partitionKeyType: 'number',
      schema: Account,
    });
    p.source('events', { schema: z.object({ account: z.string() }) })
      .enrich(accounts, { key: (e) => e.account, type: 'left' })
      .map(([event, account]) => ({ account: event.account, plan: account?.plan ?? 'none' }))
      .sink('out');
    const store = new MemoryTableStore();
    const spec = p.plan().tables?.[0] as TableSpec;
    store.seed(spec, [
      { accountId: 1, plan: 'pro' },
      { accountId: 2, plan: 'platinum' },
    ]);
    const writer = new MemoryRecordWriter();
    const result = await runner(p, 'from-events', store, writer).run(
      inputRecords('events', [{ account: '1' }, { account: '2' }, { account: '3' }, { account: 'x' }]),
      deadline(),
    );
    expect(writer.values('out')).toEqual([
      { account: '1', plan: 'pro' },
      { account: '3', plan: 'none' },
    ]);
    const errors = result.report.deadLetters.map((letter) => letter.error);
    expect(errors[0]).toMatchObject({ reason: 'schema-violation', operator: 'enrich-1' });
    expect(errors[0]?.message).toContain("row '2' of table 'accounts' (DynamoDB table 'prod-accounts')");
    expect(errors[0]?.issues?.[0]?.field).toBe('plan');
    expect(errors[1]?.message).toContain("key 'x' is not a number");
  });
});

describe('tables in the plan', () => {
  it('lists each table with the stages that write and read it', () => {
    const plan = clicksWithUsers('left', true).plan();
    expect(plan.tables).toEqual([
      {
        name: 'users',
        kind: 'materialized',
        tableName: 'clicks-users-table-users',
        partitionKey: 'k',
        partitionKeyType: 'string',
        consistentRead: true,
        writers: ['from-user-updates'],
        readers: ['from-clicks'],
      },
    ]);
    expect(plan.stages.find((s) => s.id === 'from-clicks')?.tables).toEqual({ reads: ['users'], writes: [] });
    expect(plan.stateTable).toBeUndefined();
  });

  it('refuses an enrichment in the stage of a window, and a table of another pipeline', async () => {
    const { count, tumblingProcessingTime } = await import('../../../shared/windows/index.js');
    const p = pipeline('windowed');
    const users = p.source('users', { schema: UserUpdate }).toTable('users', { key: (u) => u.id });
    p.source('clicks', { schema: Click })
      .keyBy((c) => c.user)
      .window(tumblingProcessingTime('1m'))
      .aggregate(count())
      .enrich(users, { key: (r) => r.key })
      .sink('out');
    expect(() => p.plan()).toThrow(/enrich 'enrich-1'.*put a keyBy between them/);

    const other = pipeline('other');
    const source = other.source('clicks', { schema: Click });
    expect(() => source.enrich(users, { key: (c) => c.user })).toThrow(/table 'users' of another pipeline/);
  });
});
