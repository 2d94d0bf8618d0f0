import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { pipeline } from '../../../shared/index.js';
import type { DeadLetterEnvelope } from '../../../shared/runtime/dead-letter.js';
import { MAX_RECORD_BYTES } from '../../../shared/runtime/shuffle-pack.js';
import { type Aggregation, aggregate, hopping, tumbling } from '../../../shared/windows/index.js';
import { runInProcess } from '../../helpers/in-process-pipeline.js';
import type { RecordInit } from '../../helpers/kinesis-events.js';

const Click = z.object({ user: z.string(), page: z.string(), ts: z.number() });
type Click = z.infer<typeof Click>;

/** Counts clicks, and cannot count a click of user 'boom' (a user function that throws for one record). */
const pickyCount = aggregate<Click, number, number>({
  name: 'picky-count',
  init: () => 0,
  add: (n, c) => {
    if (c.user === 'boom') throw new Error('cannot count boom');
    return n + 1;
  },
  merge: (a, b) => a + b,
  result: (n) => n,
});

const MINUTE = 60_000;
/** A line of about 900 KB that fails the schema: its dead letter with the payload in base64 is over 1 MiB. */
const hugeViolation = () => JSON.stringify({ user: 'x'.repeat(900_000), page: '/a', ts: 'late' });

/** Good clicks on three pages over three minutes, and one of each poison kind, with their expected reasons. */
function mixedInput(): { records: RecordInit[]; good: Click[]; poison: Map<string, string> } {
  const good: Click[] = [];
  // In time order: the source's watermark (no out-of-orderness allowed) makes none of them late.
  for (let i = 0; i < 200; i += 1) good.push({ user: `u${i % 7}`, page: `/p${i % 3}`, ts: i * 900 });
  const poison: [string, string][] = [
    [JSON.stringify({ user: 'u', page: '/p0', ts: 9e15 }), 'invalid-event-time'],
    [JSON.stringify({ user: 'u', page: '/p1', ts: -9e15 }), 'invalid-event-time'],
    [JSON.stringify({ user: 'u', page: '/p2', ts: 1e300 }), 'invalid-event-time'],
    ['{"user": "u", "page": ', 'malformed-json'],
    [JSON.stringify({ user: 'u', page: '/p0', ts: 'noon' }), 'schema-violation'],
    [hugeViolation(), 'schema-violation'],
  ];
  const records: RecordInit[] = [];
  const expected = new Map<string, string>();
  let sequence = 5_000_000;
  // Poison spread among the good records, so each lands in a batch of good ones.
  good.forEach((click, i) => {
    sequence += 3;
    records.push({ data: click, sequenceNumber: String(sequence), partitionKey: `pk${i}` });
    const bad = poison[i / 30];
    if (Number.isInteger(i / 30) && bad !== undefined) {
      sequence += 3;
      records.push({ data: bad[0], sequenceNumber: String(sequence), partitionKey: `bad${i}` });
      expected.set(String(sequence), bad[1]);
    }
  });
  return { records, good, poison: expected };
}

/** Every dead letter fits a Kinesis record, keeps its position, and its payload is the original's start. */
function expectFittingLetters(letters: readonly DeadLetterEnvelope[], records: readonly RecordInit[]): void {
  for (const letter of letters) {
    expect(Buffer.byteLength(JSON.stringify(letter)) + Buffer.byteLength(letter.source.partitionKey)).toBeLessThan(
      MAX_RECORD_BYTES,
    );
    const input = records.find((r) => r.sequenceNumber === letter.source.sequenceNumber);
    if (input === undefined) continue;
    const original = Buffer.from(typeof input.data === 'string' ? input.data : JSON.stringify(input.data));
    const kept = Buffer.from(letter.payload, 'base64');
    expect(original.subarray(0, kept.length).equals(kept)).toBe(true);
    if (letter.payloadTruncated === undefined) expect(kept.length).toBe(original.length);
    else {
      expect(letter.payloadTruncated).toMatchObject({
        bytes: original.length,
        keptBytes: kept.length,
        sha256: createHash('sha256').update(original).digest('hex'),
      });
    }
  }
}

const byPosition = (letters: readonly DeadLetterEnvelope[]) =>
  new Map(letters.map((l) => [l.source.sequenceNumber, l.error.reason]));

describe('poison records at each limit: a dead letter of the record, never a failed batch', () => {
  it('stateless stage: every good record written once, each poison record dead-lettered with its reason', async () => {
    // Prepare
    const p = pipeline('poison-stateless');
    p.source('clicks', { schema: Click, eventTime: (c) => c.ts })
      .map((c) => {
        if (c.user === 'boom') throw new Error('map cannot take boom');
        return c;
      })
      .sink('out');
    const { records, good, poison } = mixedInput();
    records.push({ data: { user: 'boom', page: '/p0', ts: 5 }, sequenceNumber: '9000001' });
    poison.set('9000001', 'operator-error');

    // Act
    const run = await runInProcess(p, { clicks: records });

    // Assess
    expect(run.responses.get('from-clicks')?.map((r) => r.batchItemFailures)).toEqual([[]]);
    expect(run.values('out')).toEqual(good);
    const letters = run.deadLetters();
    expect(byPosition(letters)).toEqual(poison);
    expect(letters).toHaveLength(poison.size);
    expectFittingLetters(letters, records);
    const far = letters.find((l) => l.error.reason === 'invalid-event-time');
    expect(far?.error.message).toMatch(/eventTime of source 'clicks' returned 9000000000000000 is out of range/);
    expect(far?.error.operator).toBe('clicks');
    const huge = letters.find((l) => l.payloadTruncated !== undefined);
    expect(huge?.error.reason).toBe('schema-violation');
    expect(huge?.source).toMatchObject({ stream: 'clicks', shardId: 'shardId-000000000000' });
  });

  it('windowed stage: the windows equal the batch computation over the good records, poison dead-lettered', async () => {
    // Prepare
    const p = pipeline('poison-windows');
    p.source('clicks', { schema: Click, eventTime: (c) => c.ts })
      .keyBy((c) => c.page)
      .window(tumbling('1m'))
      .aggregate(pickyCount)
      .sink('counts');
    const { records, good, poison } = mixedInput();
    records.push({ data: { user: 'boom', page: '/p1', ts: 200_000 }, sequenceNumber: '9000001' });

    // Act
    const run = await runInProcess(p, { clicks: records }, 100);

    // Assess: no batch failed or was thrown; the windows are the good records' counts.
    for (const answers of run.responses.values()) for (const a of answers) expect(a.batchItemFailures).toEqual([]);
    const expected = new Map<string, number>();
    for (const c of good) {
      const name = `${c.page}@${Math.floor(c.ts / MINUTE) * MINUTE}`;
      expected.set(name, (expected.get(name) ?? 0) + 1);
    }
    const emitted = run.values('counts') as { key: string; windowStart: number; value: number }[];
    expect(new Map(emitted.map((r) => [`${r.key}@${r.windowStart}`, r.value]))).toEqual(expected);
    expect(emitted).toHaveLength(expected.size);
    const letters = run.deadLetters();
    const boom = letters.filter((l) => l.error.reason === 'operator-error');
    expect(boom.map((l) => [l.stage, l.error.operator, l.error.message])).toEqual([
      ['from-poison-windows-keyBy-1', 'window-1', expect.stringContaining('cannot count boom')],
    ]);
    expect(byPosition(letters.filter((l) => l.error.reason !== 'operator-error'))).toEqual(poison);
    expectFittingLetters(letters, records);
  });

  it('join stage: the pairs of the good records, each poison record dead-lettered at its source', async () => {
    // Prepare
    const Order = z.object({ id: z.string(), ts: z.number() });
    const Payment = z.object({ order: z.string(), ts: z.number() });
    const p = pipeline('poison-join');
    const orders = p.source('orders', { schema: Order, eventTime: (o) => o.ts });
    const payments = p.source('payments', { schema: Payment, eventTime: (x) => x.ts });
    orders
      .join(payments, { left: (o) => o.id, right: (x) => x.order, within: { after: '1m' }, type: 'left' })
      .map(([o, x]) => ({ order: o.id, paid: x?.ts ?? null }))
      .sink('paid');
    const orderRecords: RecordInit[] = Array.from({ length: 50 }, (_, i) => ({
      data: { id: `o${i}`, ts: i * 1000 },
      sequenceNumber: String(6_000_000 + i * 2),
    }));
    // Payment times with a fraction of a millisecond: floored, as every event time is.
    const paymentRecords: RecordInit[] = Array.from({ length: 25 }, (_, i) => ({
      data: { order: `o${i * 2}`, ts: i * 2000 + 500.25 },
      sequenceNumber: String(7_000_000 + i * 2),
    }));
    orderRecords.splice(10, 0, { data: { id: 'o-far', ts: 9e15 }, sequenceNumber: '6000021' });
    orderRecords.splice(30, 0, { data: hugeViolation(), sequenceNumber: '6000041' });
    paymentRecords.splice(5, 0, { data: { order: 'o3', ts: -9e15 }, sequenceNumber: '7000011' });

    // Act
    const run = await runInProcess(p, { orders: orderRecords, payments: paymentRecords }, 20);

    // Assess
    for (const answers of run.responses.values()) for (const a of answers) expect(a.batchItemFailures).toEqual([]);
    const expected = Array.from({ length: 50 }, (_, i) => ({
      order: `o${i}`,
      paid: i % 2 === 0 ? i * 1000 + 500.25 : null,
    }));
    const paid = run.values('paid') as { order: string; paid: number | null }[];
    const sort = (rows: { order: string }[]) => [...rows].sort((a, b) => a.order.localeCompare(b.order));
    expect(sort(paid)).toEqual(sort(expected));
    const letters = run.deadLetters();
    expect(letters.map((l) => [l.source.stream, l.source.sequenceNumber, l.error.reason]).sort()).toEqual([
      ['orders', '6000021', 'invalid-event-time'],
      ['orders', '6000041', 'schema-violation'],
      ['payments', '7000011', 'invalid-event-time'],
    ]);
    expectFittingLetters(letters, [...orderRecords, ...paymentRecords]);
  });
});

describe('a windowed stage keeps going past one bad envelope, window or state', () => {
  /** The windowed stage of a one-key-per-page count, run on packs written by hand. */
  function windowStage<A>(agg: Aggregation<Click, A, unknown>) {
    const p = pipeline('hand-packed');
    p.source('clicks', { schema: Click, eventTime: (c) => c.ts })
      .keyBy((c) => c.page)
      .window(tumbling('1m'))
      .aggregate(agg)
      .sink('counts');
    return p;
  }
  const channel = 'from-clicks/shardId-000000000000';
  const envelope = (n: number, page: string, ts: unknown, user = 'u') => ({
    q: String(1000 + n),
    id: `clicks/shardId-000000000000/${1000 + n}`,
    k: page,
    t: ts,
    v: { user, page, ts },
  });
  const pack = (e: unknown[], wm?: number) => ({
    data: JSON.stringify({ ch: channel, e, ...(wm !== undefined && { wm, n: 1 }) }),
    stream: 'hand-packed-keyBy-1',
  });

  it('dead-letters a malformed envelope, one with an out-of-range time and one with a 3,000-character key alone; the rest of the pack is applied', async () => {
    // Prepare: a producer outside Eddy wrote a pack with two bad envelopes among three good ones.
    const p = windowStage(pickyCount);
    const bad = [
      envelope(1, '/a', 10),
      { q: '1002', id: 'x', v: 1 },
      envelope(3, '/a', 9e15),
      { ...envelope(6, 'k'.repeat(3000), 25), q: '1006' },
      envelope(4, '/b', 20),
      envelope(5, '/a', 30),
    ];

    // Act
    const run = await runInProcess(p, { 'hand-packed-keyBy-1': [pack(bad), pack([], 8.64e15)] });

    // Assess
    const counts = run.values('counts') as { key: string; value: number }[];
    expect(counts.map((c) => [c.key, c.value])).toEqual([
      ['/a', 2],
      ['/b', 1],
    ]);
    const letters = run.deadLetters();
    expect(letters.map((l) => [l.correlationId, l.error.reason])).toEqual([
      ['x', 'malformed-envelope'], // its own id, however odd
      ['clicks/shardId-000000000000/1003', 'invalid-event-time'],
      ['clicks/shardId-000000000000/1006', 'malformed-envelope'],
    ]);
    expect(JSON.parse(Buffer.from(letters[1]?.payload ?? '', 'base64').toString())).toMatchObject({ t: 9e15 });
  });

  it('dead-letters a window whose result throws, naming key, window and operator, and fires the others', async () => {
    // Prepare: the result cannot be computed for a window that holds a click of user 'poison'.
    const fragile = aggregate<Click, { n: number; poisoned: boolean }, number>({
      name: 'fragile',
      init: () => ({ n: 0, poisoned: false }),
      add: (acc, c) => ({ n: acc.n + 1, poisoned: acc.poisoned || c.user === 'poison' }),
      merge: (a, b) => ({ n: a.n + b.n, poisoned: a.poisoned || b.poisoned }),
      result: (acc) => {
        if (acc.poisoned) throw new Error('no result for poison');
        return acc.n;
      },
    });
    const p = windowStage(fragile);

    // Act
    const run = await runInProcess(p, {
      'hand-packed-keyBy-1': [
        pack([envelope(1, '/a', 10), envelope(2, '/b', 20, 'poison'), envelope(3, '/b', 61_000)]),
        pack([], 8.64e15),
      ],
    });

    // Assess
    const counts = run.values('counts') as { key: string; windowStart: number; value: number }[];
    expect(counts.map((c) => [c.key, c.windowStart, c.value])).toEqual([
      ['/a', 0, 1],
      ['/b', 60_000, 1],
    ]);
    const letters = run.deadLetters();
    expect(letters).toHaveLength(1);
    expect(letters[0]?.error).toMatchObject({
      reason: 'operator-error',
      operator: 'window-1',
      message: expect.stringMatching(/window \[0, 60000\) of key "\/b" has no result: .*no result for poison/),
    });
    expect(JSON.parse(Buffer.from(letters[0]?.payload ?? '', 'base64').toString())).toMatchObject({
      key: '/b',
      windowStart: 0,
      accumulator: { n: 1, poisoned: true },
    });
  });

  it('dead-letters the records of a window whose state DynamoDB cannot store (NaN); other keys go on', async () => {
    // Prepare: a sum of a field that one click lacks gives NaN, which DynamoDB cannot store.
    const sloppy = aggregate<Click, number, number>({
      name: 'sloppy-sum',
      init: () => 0,
      add: (n, c) => n + (c.user === 'nan' ? Number.NaN : 1),
      merge: (a, b) => a + b,
      result: (n) => n,
    });
    const p = windowStage(sloppy);

    // Act
    const run = await runInProcess(
      p,
      {
        'hand-packed-keyBy-1': [pack([envelope(1, '/a', 10), envelope(2, '/b', 20, 'nan')]), pack([], 8.64e15)],
      },
      1,
    ); // one record a batch: the windows are stored before they fire

    // Assess
    const counts = run.values('counts') as { key: string; value: number }[];
    expect(counts.map((c) => [c.key, c.value])).toEqual([['/a', 1]]);
    const letters = run.deadLetters();
    expect(letters.map((l) => [l.correlationId, l.error.reason])).toEqual([
      ['clicks/shardId-000000000000/1002', 'operator-error'],
    ]);
    expect(letters[0]?.error.message).toMatch(/state of window \[0, 60000\) of key "\/b" cannot be stored/);
  });
});

describe('at the limits', () => {
  it('takes event times of exactly ±2^51 into windows of the largest size, and dead-letters the next millisecond out', async () => {
    // Prepare: hopping windows of 2^50 ms every 2^48: the widest bounds a valid time can produce.
    const p = pipeline('edges');
    p.source('clicks', { schema: Click, eventTime: (c) => c.ts })
      .keyBy((c) => c.page)
      .window(hopping(2 ** 50, 2 ** 48), { allowedLateness: 2 ** 50 })
      .aggregate(pickyCount)
      .sink('counts');
    const at = (ts: number, n: number): RecordInit => ({
      data: { user: 'u', page: '/edge', ts },
      sequenceNumber: String(8_000_000 + n),
    });

    // Act
    const run = await runInProcess(p, {
      clicks: [at(-(2 ** 51), 1), at(-(2 ** 51) - 1, 2), at(0, 3), at(2 ** 51, 4), at(2 ** 51 + 1, 5)],
    });

    // Assess: each valid time in its four windows; the two beyond the range dead-lettered.
    for (const answers of run.responses.values()) for (const a of answers) expect(a.batchItemFailures).toEqual([]);
    const counts = run.values('counts') as { windowStart: number; windowEnd: number; value: number }[];
    expect(counts).toHaveLength(12);
    expect(Math.max(...counts.map((c) => c.windowEnd))).toBe(2 ** 51 + 2 ** 50);
    expect(Math.min(...counts.map((c) => c.windowStart))).toBe(-(2 ** 51) - 2 ** 50 + 2 ** 48);
    expect(run.deadLetters().map((l) => [l.source.sequenceNumber, l.error.reason])).toEqual([
      ['8000002', 'invalid-event-time'],
      ['8000005', 'invalid-event-time'],
    ]);
  });

  it('refuses, when the pipeline is defined, a lateness or join bound over 2^50 ms', () => {
    const p = pipeline('spans');
    const clicks = p.source('clicks', { schema: Click, eventTime: (c) => c.ts });
    expect(() =>
      clicks
        .keyBy((c) => c.page)
        .window(tumbling('1m'), { allowedLateness: 2 ** 50 + 1 })
        .aggregate(pickyCount),
    ).toThrow(/allowedLateness 1125899906842625 is over the largest time span, 2\^50 ms/);
    expect(() =>
      clicks.join(clicks, { left: (c) => c.page, right: (c) => c.page, within: { after: 2 ** 51 } }),
    ).toThrow(/within.after 2251799813685248 is over the largest time span/);
  });

  it('dead-letters a record over a smaller source limit as record-too-large, within 1 MiB', async () => {
    // Prepare: a source that refuses records over 100 KB, and a 950 KB record.
    const p = pipeline('limited');
    p.source('clicks', { schema: Click, limits: { maxRecordBytes: 100_000 } }).sink('out');
    const big = JSON.stringify({ user: 'y'.repeat(950_000), page: '/a', ts: 1 });

    // Act
    const run = await runInProcess(p, {
      clicks: [{ data: { user: 'u', page: '/a', ts: 1 } }, { data: big, sequenceNumber: '8100001' }],
    });

    // Assess
    expect(run.values('out')).toEqual([{ user: 'u', page: '/a', ts: 1 }]);
    const [letter] = run.deadLetters();
    expect(letter?.error.reason).toBe('record-too-large');
    expect(letter?.payloadTruncated?.bytes).toBe(Buffer.byteLength(big));
    expectFittingLetters(run.deadLetters(), [{ data: big, sequenceNumber: '8100001' }]);
  });
});

describe('after a window or a join', () => {
  it('dead-letters the one result or pair an operator after it cannot take, with its own id and value', async () => {
    // Prepare: a map after the window that cannot take page /p1's counts, and one after a join that
    // cannot take order o2's pair.
    const windows = pipeline('after-window');
    windows
      .source('clicks', { schema: Click, eventTime: (c) => c.ts })
      .keyBy((c) => c.page)
      .window(tumbling('1m'))
      .aggregate(pickyCount)
      .map((r) => {
        if (r.key === '/p1') throw new Error('no /p1');
        return { page: r.key, n: r.value };
      })
      .sink('counts');
    const Order = z.object({ id: z.string(), ts: z.number() });
    const joins = pipeline('after-join');
    joins
      .source('a', { schema: Order, eventTime: (o) => o.ts })
      .join(joins.source('b', { schema: Order, eventTime: (o) => o.ts }), {
        left: (o) => o.id,
        right: (o) => o.id,
        within: { after: '1s' },
      })
      .map(([l, r]) => {
        if (l.id === 'o2') throw new Error('no o2');
        return `${l.id}+${r.id}`;
      })
      .sink('pairs');
    const clicks = ['/p0', '/p1', '/p2'].map((page, i) => ({ data: { user: 'u', page, ts: i } }));
    const orders = [0, 1, 2, 3].map((i) => ({ data: { id: `o${i}`, ts: i * 10 } }));

    // Act
    const windowRun = await runInProcess(windows, { clicks });
    const joinRun = await runInProcess(joins, { a: orders, b: orders });

    // Assess
    expect(windowRun.values('counts')).toEqual([
      { page: '/p0', n: 1 },
      { page: '/p2', n: 1 },
    ]);
    const [windowLetter] = windowRun.deadLetters();
    expect(windowRun.deadLetters()).toHaveLength(1);
    expect(windowLetter?.correlationId).toBe('from-after-window-keyBy-1//p1/0/60000/0');
    expect(windowLetter?.error.message).toContain('no /p1');
    expect(JSON.parse(Buffer.from(windowLetter?.payload ?? '', 'base64').toString())).toMatchObject({
      key: '/p1',
      value: 1,
      kind: 'final',
    });
    expect(joinRun.values('pairs').sort()).toEqual(['o0+o0', 'o1+o1', 'o3+o3']);
    const [joinLetter] = joinRun.deadLetters();
    expect(joinRun.deadLetters()).toHaveLength(1);
    expect(joinLetter?.correlationId).toMatch(/^from-after-join-join-1\/a\/.*\|b\//);
    expect(JSON.parse(Buffer.from(joinLetter?.payload ?? '', 'base64').toString())).toEqual([
      { id: 'o2', ts: 20 },
      { id: 'o2', ts: 20 },
    ]);
  });
});
