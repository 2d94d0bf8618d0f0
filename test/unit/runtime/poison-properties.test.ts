import type { KinesisClient } from '@aws-sdk/client-kinesis';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { pipeline } from '../../../shared/index.js';
import { MemoryDeadLetterSink } from '../../../shared/runtime/io/dead-letter-sink.js';
import { KinesisRecordWriter } from '../../../shared/runtime/io/kinesis-record-writer.js';
import { MemoryRecordWriter } from '../../../shared/runtime/io/memory-record-writer.js';
import { MemoryWindowStore } from '../../../shared/runtime/io/memory-window-store.js';
import { correlationIdOf, type InputRecord } from '../../../shared/runtime/records.js';
import { MAX_RECORD_BYTES } from '../../../shared/runtime/shuffle-pack.js';
import { StageRunner } from '../../../shared/runtime/stage-runner.js';
import { seededRandom } from '../../../shared/util/random.js';
import { aggregate, tumbling } from '../../../shared/windows/index.js';
import { expectIdWindows, IdEvent } from '../../helpers/id-windows.js';
import { deliver, sourceShardRecords, UnreliableKinesis } from '../../helpers/unreliable-kinesis.js';

/** The `ids` aggregation of the window property tests, except that it cannot add an event whose id starts with 'boom'. */
const pickyIds = aggregate<IdEvent, string[], string[]>({
  name: 'picky-ids',
  init: () => [],
  add: (acc, e) => {
    if (e.id.startsWith('boom')) throw new Error(`cannot add ${e.id}`);
    return [...acc, e.id];
  },
  merge: (a, b) => [...a, ...b],
  result: (acc) => [...acc].sort(),
});

/** A line the pipeline must dead-letter, and the reason it must give. */
type Poison = { readonly line: string; readonly reason: string };

const poisonLines: fc.Arbitrary<Poison> = fc.oneof(
  fc
    .constantFrom(9e15, -9e15, 1e300, 2 ** 51 + 1)
    .map((t) => ({ line: JSON.stringify({ key: 'a', t, id: 'far' }), reason: 'invalid-event-time' })),
  fc.constant({ line: '{"key": "a", "t": ', reason: 'malformed-json' }),
  fc.constant({ line: JSON.stringify({ key: 'a', t: 'noon', id: 'x' }), reason: 'schema-violation' }),
  // A large schema violation: its dead letter with the payload in base64 is over 1 MiB.
  fc.constantFrom(10_000, 900_000).map((size) => ({
    line: JSON.stringify({ key: 'a', t: 'noon', id: 'x'.repeat(size) }),
    reason: 'schema-violation',
  })),
  fc.integer({ min: 0, max: 600 }).map((t) => ({
    line: JSON.stringify({ key: 'b', t, id: `boom${t}` }),
    reason: 'operator-error',
  })),
);

const goodEvents = fc
  .array(fc.record({ key: fc.constantFrom('a', 'b', 'c'), t: fc.integer({ min: 0, max: 600 }) }), { maxLength: 60 })
  .map((raw) => raw.map((e, i) => ({ key: e.key, t: e.t + i * 10, id: `e${i}` })));

describe('poison records among good ones (property-based)', () => {
  it('windows equal the batch computation over the good records; the dead letters are exactly the poison ones', async () => {
    await fc.assert(
      fc.asyncProperty(
        goodEvents,
        fc.array(fc.tuple(poisonLines, fc.nat()), { maxLength: 8 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer(),
        async (good, poison, windowShards, seed) => {
          // Prepare: the poison lines at random places among the good ones, on one source shard.
          const lines: string[] = good.map((e) => JSON.stringify(e));
          const inserted: Poison[] = [];
          for (const [item, at] of poison) {
            lines.splice(at % (lines.length + 1), 0, item.line);
            inserted.push(item);
          }
          const random = seededRandom(seed);
          const p = pipeline('w');
          p.source('events', { schema: IdEvent, eventTime: (e) => e.t, maxOutOfOrderness: 1000 })
            .keyBy((e) => e.key, { shards: windowShards })
            .window(tumbling(100))
            .aggregate(pickyIds)
            .sink('out');
          const kinesis = new UnreliableKinesis('w-keyBy-1', windowShards, random);
          const letters = new MemoryDeadLetterSink();
          const source = new StageRunner({
            pipeline: p,
            stageId: 'from-events',
            writer: new KinesisRecordWriter({
              client: kinesis as unknown as KinesisClient,
              backoff: { baseMs: 0, capMs: 0 },
              safetyMarginMs: 0,
            }),
            deadLetters: letters,
          });
          const records = sourceRecords(lines);

          // Act: both stages, with partial failures, retries and redeliveries of whole batches.
          await deliver(source, records, random);
          const sink = new MemoryRecordWriter();
          const windows = new StageRunner({
            pipeline: p,
            stageId: 'from-w-keyBy-1',
            writer: sink,
            store: new MemoryWindowStore(),
            deadLetters: letters,
          });
          for (const shard of kinesis.shards) await deliver(windows, shard, random);

          // Assess
          expect(sink.values('w-window-1-late')).toEqual([]);
          expectIdWindows(sink.values('out'), good, tumbling(100));
          const expected = new Map<string, string>();
          lines.forEach((line, i) => {
            const item = inserted.find((x) => x.line === line);
            if (item !== undefined) expected.set(correlationIdOf((records[i] as InputRecord).position), item.reason);
          });
          const got = new Map(letters.letters.map((l) => [l.correlationId, l.error.reason]));
          expect(got).toEqual(expected);
          for (const letter of letters.letters) {
            expect(Buffer.byteLength(JSON.stringify(letter))).toBeLessThanOrEqual(MAX_RECORD_BYTES);
          }
        },
      ),
      { numRuns: 120 },
    );
  });
});

/** The lines as one source shard's records, then its end of input. */
function sourceRecords(lines: readonly string[], stream = 'events'): InputRecord[] {
  const records = sourceShardRecords(
    stream,
    0,
    lines.map((line) => ({ line })),
  );
  // sourceShardRecords writes values as JSON: put each raw line back as the payload.
  return records.map((record, i) => (i < lines.length ? { ...record, data: Buffer.from(lines[i] as string) } : record));
}

/** Poison for a join's sides: the source-level kinds (a join has no user aggregation). */
const joinPoison = poisonLines.filter((p) => p.reason !== 'operator-error');

/** Good lines and poison lines mixed, and the poison's correlation ids with their reasons. */
function mix(stream: string, good: readonly IdEvent[], poison: readonly [Poison, number][]) {
  const lines = good.map((e) => JSON.stringify(e));
  for (const [item, at] of poison) lines.splice(at % (lines.length + 1), 0, item.line);
  const records = sourceRecords(lines, stream);
  const expected = new Map<string, string>();
  lines.forEach((line, i) => {
    const item = poison.find(([p]) => p.line === line)?.[0];
    if (item !== undefined) expected.set(correlationIdOf((records[i] as InputRecord).position), item.reason);
  });
  return { records, expected };
}

describe('poison records on both sides of a join (property-based)', () => {
  it('the pairs are the nested-loop join of the good records; the dead letters are exactly the poison ones', async () => {
    await fc.assert(
      fc.asyncProperty(
        goodEvents,
        goodEvents,
        fc.array(fc.tuple(joinPoison, fc.nat()), { maxLength: 4 }),
        fc.array(fc.tuple(joinPoison, fc.nat()), { maxLength: 4 }),
        fc.integer(),
        async (lefts, rights, leftPoison, rightPoison, seed) => {
          // Prepare: an inner interval join, a right record up to 50 ms after its left one.
          const random = seededRandom(seed);
          const p = pipeline('j');
          const left = p.source('lefts', { schema: IdEvent, eventTime: (e) => e.t, maxOutOfOrderness: 1000 });
          const right = p.source('rights', { schema: IdEvent, eventTime: (e) => e.t, maxOutOfOrderness: 1000 });
          left
            .join(right, { name: 'j', left: (e) => e.key, right: (e) => e.key, within: { after: 50 } })
            .map(([l, r]) => `${l.id}|${r.id}`)
            .sink('out');
          const kinesis = new UnreliableKinesis('j-j', 2, random);
          const letters = new MemoryDeadLetterSink();
          const writer = new KinesisRecordWriter({
            client: kinesis as unknown as KinesisClient,
            backoff: { baseMs: 0, capMs: 0 },
            safetyMarginMs: 0,
          });
          const sides = [mix('lefts', lefts, leftPoison), mix('rights', rights, rightPoison)] as const;

          // Act
          for (const [stream, side] of [
            ['lefts', sides[0]],
            ['rights', sides[1]],
          ] as const) {
            const runner = new StageRunner({ pipeline: p, stageId: `from-${stream}`, writer, deadLetters: letters });
            await deliver(runner, side.records, random);
          }
          const sink = new MemoryRecordWriter();
          const joiner = new StageRunner({
            pipeline: p,
            stageId: 'from-j-j',
            writer: sink,
            store: new MemoryWindowStore(),
            deadLetters: letters,
          });
          for (const shard of kinesis.shards) await deliver(joiner, shard, random);

          // Assess
          const expected = new Set<string>();
          for (const l of lefts) {
            for (const r of rights)
              if (l.key === r.key && r.t >= l.t && r.t <= l.t + 50) expected.add(`${l.id}|${r.id}`);
          }
          expect(new Set(sink.values('out'))).toEqual(expected);
          expect(sink.values('j-j-late')).toEqual([]);
          const got = new Map(letters.letters.map((l) => [l.correlationId, l.error.reason]));
          expect(got).toEqual(new Map([...sides[0].expected, ...sides[1].expected]));
        },
      ),
      { numRuns: 80 },
    );
  });
});
