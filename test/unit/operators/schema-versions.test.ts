import fc from 'fast-check';
import { describe, expect, expectTypeOf, it } from 'vitest';
import * as z from 'zod';
import { type DataStream, pipeline, versions } from '../../../shared/index.js';
import { DeadLetterReasons } from '../../../shared/operators/record-errors.js';
import { runInProcess } from '../../helpers/in-process-pipeline.js';

const ClickV1 = z.object({ user: z.string(), page: z.string() });
const ClickV2 = z.object({ v: z.literal(2), user: z.string(), page: z.string(), referrer: z.string().nullable() });
const ClickV3 = z.object({
  v: z.literal(3),
  userId: z.string().min(1),
  page: z.string(),
  referrer: z.string().nullable(),
});

const Click = versions({ versionOf: (raw) => (raw as { v?: unknown }).v ?? 1 })
  .add(1, ClickV1)
  .add(2, ClickV2, (v1) => ({ ...v1, v: 2 as const, referrer: null }))
  .add(3, ClickV3, ({ user, ...v2 }) => ({ ...v2, v: 3 as const, userId: user === '' ? '(anonymous)' : user }));

const v1 = fc.record({ user: fc.string(), page: fc.string() });
const v2 = fc.record({
  v: fc.constant(2 as const),
  user: fc.string(),
  page: fc.string(),
  referrer: fc.option(fc.string()),
});
const v3 = fc.record({
  v: fc.constant(3 as const),
  userId: fc.string({ minLength: 1 }),
  page: fc.string(),
  referrer: fc.option(fc.string()),
});

describe('versions', () => {
  it('upgrades every record of every older version to one that passes the newest schema', () => {
    fc.assert(
      fc.property(fc.oneof(v1, v2, v3), (record) => {
        // Act
        const parsed = Click.safeParse(JSON.parse(JSON.stringify(record)));

        // Assess
        expect(parsed.success).toBe(true);
        expect(ClickV3.safeParse(parsed.data).success).toBe(true);
        expect(parsed.data?.page).toBe(record.page);
      }),
      { numRuns: 500 },
    );
  });

  it('leaves a record of the newest version as it is', () => {
    fc.assert(
      fc.property(v3, (record) => {
        expect(Click.parse(record)).toEqual(record);
      }),
    );
  });

  it('gives the stream after the source the newest version type', () => {
    const clicks = pipeline('types').source('clicks', { schema: Click });
    expectTypeOf(clicks).toEqualTypeOf<DataStream<z.output<typeof ClickV3>>>();
    expect(Click.versions).toEqual([1, 2, 3]);
  });

  it('refuses versions that do not rise', () => {
    expect(() =>
      versions({ versionOf: () => 1 })
        .add(2, ClickV1)
        .add(2, ClickV2, () => ({}) as never),
    ).toThrow('schema version 2 must be an integer above the last one, 2');
    expect(() => versions({ versionOf: () => 1 }).add(1.5, ClickV1)).toThrow('schema version 1.5 must be an integer');
  });
});

describe('a source with schema versions', () => {
  it('dead-letters a record of an unknown version with its version, and an invalid old record with its version', async () => {
    // Prepare
    const p = pipeline('versions').source('clicks', { schema: Click }).sink('out');

    // Act
    const run = await runInProcess(p, {
      clicks: [
        { data: { user: 'u1', page: '/a' } },
        { data: { v: 7, userId: 'u2', page: '/b', referrer: null } },
        { data: { v: 2, user: 'u3', page: '/c', referrer: 'x' } },
        { data: { user: 42, page: '/d' } },
        { data: { v: 3, userId: 'u5', page: '/e', referrer: null } },
      ],
    });

    // Assess
    expect(run.values('out')).toEqual([
      { v: 3, userId: 'u1', page: '/a', referrer: null },
      { v: 3, userId: 'u3', page: '/c', referrer: 'x' },
      { v: 3, userId: 'u5', page: '/e', referrer: null },
    ]);
    const letters = run.deadLetters();
    expect(letters.map((l) => l.error.reason)).toEqual([
      DeadLetterReasons.unknownSchemaVersion,
      DeadLetterReasons.schemaViolation,
    ]);
    expect(letters[0]?.error.message).toBe(
      "source 'clicks': record has schema version 7; the source accepts versions 1, 2, 3",
    );
    expect(letters[0]?.error.issues).toEqual([{ field: '(version)', message: 'unknown version 7' }]);
    expect(letters[1]?.error.issues).toEqual([
      { field: 'user', message: expect.stringMatching(/^version 1: .*expected string/i) },
    ]);
  });
});
