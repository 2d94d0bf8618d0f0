import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { ShuffleFormat } from '../../../shared/dag/shuffle-format.js';
import { pipeline } from '../../../shared/index.js';
import { RecordProcessingError } from '../../../shared/operators/record-errors.js';
import { AppliedPositions } from '../../../shared/runtime/applied-positions.js';
import { type Decoded, shuffleDecoder } from '../../../shared/runtime/decode.js';
import { UniformShardDirectory } from '../../../shared/runtime/io/shard-directory.js';
import type { OutputRecord } from '../../../shared/runtime/records.js';
import { packShuffleOutputs, type ShuffleOutput } from '../../../shared/runtime/shuffle-pack.js';

const STREAM = 'p-by-key';
const directory = new UniformShardDirectory(new Map([[STREAM, 3]]));
const decode = shuffleDecoder({ name: 'by-key', stream: STREAM });

/** One input record of the producing stage and the envelopes it wrote (0 to 3: a filter, a flatMap). */
interface Input {
  readonly gap: number;
  readonly outputs: readonly { readonly id: IdShape; readonly k: string; readonly t?: number; readonly v: unknown }[];
}
/** How an envelope's id relates to its input record: the forms format 2 shortens, and others. */
type IdShape =
  | { readonly kind: 'source'; readonly sub?: number; readonly flat: readonly number[] }
  | { readonly kind: 'other'; readonly id: string };

const idShape: fc.Arbitrary<IdShape> = fc.oneof(
  fc.record(
    { kind: fc.constant('source' as const), sub: fc.nat(20), flat: fc.array(fc.nat(5), { maxLength: 2 }) },
    { requiredKeys: ['kind', 'flat'] },
  ),
  // A stateful stage's result id, a record from another shuffle, and text JSON must escape.
  fc.record({
    kind: fc.constant('other' as const),
    id: fc.oneof(
      fc.string({ minLength: 1 }),
      fc.constantFrom('clicks/shardId-000000000000/x', 'stage/key/0#60000', 'a"b\\c/49600', '\u2028/é'),
    ),
  }),
);
const inputs = fc.array(
  fc.record({
    gap: fc.integer({ min: 1, max: 10 ** 6 }),
    outputs: fc.array(
      fc.record(
        {
          id: idShape,
          k: fc.string({ minLength: 1, maxLength: 8 }),
          t: fc.integer({ min: 0, max: 2 ** 40 }),
          v: fc.jsonValue({ maxDepth: 2 }),
        },
        { requiredKeys: ['id', 'k', 'v'] },
      ),
      { maxLength: 3 },
    ),
  }),
  { minLength: 1, maxLength: 40 },
);

/** The producing stage's envelopes, as shuffleWriter serialises them (id first), with their origins. */
function envelopesOf(records: readonly Input[]): ShuffleOutput[] {
  let sequence = 49_600_000_000_000_000_000_000_000_000_000_000_000_000_000_000n;
  const outputs: ShuffleOutput[] = [];
  for (const record of records) {
    sequence += BigInt(record.gap) * 10n ** 20n;
    const origin = sequence.toString();
    for (const { id, k, t, v } of record.outputs) {
      const full =
        id.kind === 'other'
          ? id.id
          : `clicks/shardId-000000000003/${origin}${id.sub === undefined ? '' : `:${id.sub}`}${id.flat.map((i) => `/${i}`).join('')}`;
      const data = JSON.stringify(t === undefined ? { id: full, k, v } : { id: full, k, t, v });
      outputs.push({ stream: STREAM, partitionKey: k, data, origin });
    }
  }
  return outputs;
}

async function pack(outputs: readonly ShuffleOutput[], format: ShuffleFormat, maxPackBytes: number) {
  const shards = new Map([[STREAM, await directory.openShards(STREAM)]]);
  return packShuffleOutputs(outputs, {
    channel: 'from-clicks/shardId-000000000003',
    shards,
    lastOrigin: outputs.at(-1)?.origin ?? '1',
    maxPackBytes,
    format,
  });
}

/** What the consumer sees of each envelope: its element and its place in the channel. */
function decoded(packs: readonly OutputRecord[]) {
  return packs.flatMap((p) =>
    decode({
      position: {
        stream: STREAM,
        shardId: 'shardId-000000000000',
        sequenceNumber: '1',
        partitionKey: p.partitionKey,
        arrivalTime: 0,
      },
      data: Buffer.from(p.data),
    })
      .filter((d): d is Extract<Decoded, { kind: 'data' }> => d.kind === 'data')
      .map((d) => ({ element: d.element, channel: d.from?.channel, position: d.from?.position })),
  );
}

/** Packs per lane (destination shard), in the order written. */
function byLane(packs: readonly OutputRecord[]): Map<string, OutputRecord[]> {
  const lanes = new Map<string, OutputRecord[]>();
  for (const p of packs) lanes.set(p.lane ?? '', [...(lanes.get(p.lane ?? '') ?? []), p]);
  return lanes;
}

/** The envelopes of the packs, parsed back: what the producer meant, in format 1's terms. */
function expected(outputs: readonly ShuffleOutput[]) {
  return outputs.map((o) => {
    const { id, k, t, v } = JSON.parse(o.data);
    return t === undefined ? { id, key: k, value: v } : { id, key: k, value: v, eventTime: t };
  });
}

describe('shuffle formats 1 and 2', () => {
  it('decode to the same envelopes, ids character for character, and format 2 is larger by its header at most', async () => {
    await fc.assert(
      fc.asyncProperty(inputs, fc.integer({ min: 200, max: 4000 }), async (records, maxPackBytes) => {
        // Prepare
        const outputs = envelopesOf(records);

        // Act
        const full = byLane(await pack(outputs, 1, maxPackBytes));
        const lean = byLane(await pack(outputs, 2, maxPackBytes));

        // Assess: lane by lane, the same elements in the same order, at the same positions.
        expect([...lean.keys()].sort()).toEqual([...full.keys()].sort());
        for (const [lane, packs] of full) {
          const leanPacks = lean.get(lane) ?? [];
          const fromFull = decoded(packs);
          expect(decoded(leanPacks)).toEqual(fromFull);
          const bytes = (list: readonly OutputRecord[]) => list.reduce((n, p) => n + Buffer.byteLength(p.data), 0);
          // `"f":2,` and `"ip":"<prefix>",` per pack; the envelopes themselves are never longer.
          const header = leanPacks.reduce((n, p) => n + 6 + (JSON.parse(p.data).ip?.length ?? -8) + 8, 0);
          expect(bytes(leanPacks)).toBeLessThanOrEqual(bytes(packs) + header);
          expect(
            leanPacks.every((p) => Buffer.byteLength(p.data) <= maxPackBytes || JSON.parse(p.data).e.length === 1),
          ).toBe(true);
        }
        // Round trip: every envelope once, as written.
        const all = [...full.values()].flatMap(decoded).map((d) => d.element);
        expect(all.sort(byId)).toEqual(expected(outputs).sort(byId));
      }),
      { numRuns: 300 },
    );
  });

  it('mixed in one shard: a producer switching formats mid-batch, and a retry re-sending in the other format, leave each envelope once', async () => {
    await fc.assert(
      fc.asyncProperty(
        inputs,
        fc.nat(),
        fc.nat(),
        fc.constantFrom<[ShuffleFormat, ShuffleFormat]>([1, 2], [2, 1]),
        async (records, switchAt, retryFrom, [before, after]) => {
          // Prepare: the inputs before the switch written in one format, the rest in the other; then
          // a retry from an earlier input writes its suffix again, in the format after the switch.
          const cut = switchAt % (records.length + 1);
          const retry = Math.min(cut, retryFrom % (records.length + 1));
          const first = await pack(
            envelopesOf(records).filter((o) => originIndex(records, o) < cut),
            before,
            600,
          );
          const second = await pack(
            envelopesOf(records).filter((o) => originIndex(records, o) >= cut),
            after,
            600,
          );
          const again = await pack(
            envelopesOf(records).filter((o) => originIndex(records, o) >= retry),
            after,
            600,
          );

          // Act: each shard reads what reached it, in order, and keeps what its positions admit.
          const applied = new Map<string, AppliedPositions>();
          const admitted = [...first, ...second, ...again].flatMap((p) => {
            const shard = applied.get(p.lane ?? '') ?? new AppliedPositions();
            applied.set(p.lane ?? '', shard);
            return decoded([p]).filter((d) => shard.admit(d.channel ?? '', d.position ?? ''));
          });

          // Assess
          const all = admitted.map((d) => d.element);
          expect(all.sort(byId)).toEqual(expected(envelopesOf(records)).sort(byId));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('the pipeline option is carried by the plan (absent for the default) and checked eagerly', () => {
    const plan = (shuffleFormat?: ShuffleFormat) =>
      pipeline('p', shuffleFormat === undefined ? {} : { shuffleFormat })
        .source('s', { schema: z.object({ k: z.string() }) })
        .keyBy((e) => e.k, { name: 'by-k' })
        .sink('out')
        .plan();
    expect(plan().shuffleFormat).toBeUndefined();
    expect(plan(1).shuffleFormat).toBeUndefined();
    expect(plan(2).shuffleFormat).toBe(2);
    expect(() => pipeline('p', { shuffleFormat: 3 as ShuffleFormat })).toThrow(
      /pipeline 'p'.*shuffleFormat must be 1 or 2, got 3/,
    );
  });

  it('a pack of a format this consumer does not know is a dead letter naming the format', () => {
    const record = {
      position: {
        stream: STREAM,
        shardId: 'shardId-000000000000',
        sequenceNumber: '7',
        partitionKey: 'c',
        arrivalTime: 0,
      },
      data: Buffer.from(JSON.stringify({ f: 3, ch: 'from-x/shardId-0', e: [{ q: '1', k: 'a', v: 1 }] })),
    };
    expect(() => decode(record)).toThrow(RecordProcessingError);
    expect(() => decode(record)).toThrow(/format 3; this stage reads formats 1 and 2/);
  });

  it('format 2 writes the ids its positions say as nothing, a flatMap suffix, or in full', async () => {
    const origin = '49600000000000000000000000000000000000000000000000000001';
    const outputs: ShuffleOutput[] = [
      {
        stream: STREAM,
        partitionKey: 'a',
        origin,
        data: JSON.stringify({ id: `s/shardId-0/${origin}`, k: 'a', v: 1 }),
      },
      {
        stream: STREAM,
        partitionKey: 'a',
        origin,
        data: JSON.stringify({ id: `s/shardId-0/${origin}/1`, k: 'a', v: 2 }),
      },
      { stream: STREAM, partitionKey: 'a', origin, data: JSON.stringify({ id: 'w/a/0#60000', k: 'a', v: 3 }) },
    ];
    const [only] = await pack(outputs, 2, 1 << 20);
    expect(JSON.parse(only?.data ?? '{}')).toMatchObject({
      f: 2,
      ip: 's/shardId-0/',
      e: [
        { q: origin, k: 'a', v: 1 },
        { q: `${origin}:1`, i: '/1', k: 'a', v: 2 },
        { q: `${origin}:2`, id: 'w/a/0#60000', k: 'a', v: 3 },
      ],
    });
    expect(JSON.parse(only?.data ?? '{}').e[0]).not.toHaveProperty('id');
  });
});

/** Elements in a canonical order, to compare multisets. */
const byId = (a: object, b: object) => {
  const [x, y] = [JSON.stringify(a), JSON.stringify(b)];
  return x < y ? -1 : x > y ? 1 : 0;
};

/** The index of the input record an envelope came from. */
function originIndex(records: readonly Input[], output: ShuffleOutput): number {
  let sequence = 49_600_000_000_000_000_000_000_000_000_000_000_000_000_000_000n;
  for (let i = 0; i < records.length; i += 1) {
    sequence += BigInt((records[i] as Input).gap) * 10n ** 20n;
    if (sequence.toString() === output.origin) return i;
  }
  return -1;
}
