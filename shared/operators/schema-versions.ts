import * as z from 'zod';
import { DeadLetterReasons, RecordProcessingError } from './record-errors.js';

/**
 * A source schema that accepts several versions of a record and gives the newest. Each record says
 * its version (`versionOf`); it is checked against that version's schema, then upgraded one version
 * at a time, each step's result checked against the next version's schema, up to the newest. So the
 * stream after the source has the newest version's type, and a record of any known version either
 * reaches it whole or is dead-lettered (`schema-violation`, naming the version and the step).
 * A record whose version is not known is dead-lettered as `unknown-schema-version`, with its version.
 *
 * One step per version, as Avro's schema resolution reads a writer's schema into the reader's: an
 * upgrade only knows the version before it, and adding a version never touches the older steps.
 *
 * @example
 * const Click = versions({ versionOf: (raw) => (raw as { v?: number }).v ?? 1 })
 *   .add(1, ClickV1)
 *   .add(2, ClickV2, (v1) => ({ ...v1, v: 2 as const, referrer: null }));
 * p.source('clicks', { schema: Click }); // DataStream<z.output<typeof ClickV2>>
 */
export function versions(options: VersionsOptions): {
  add<S extends z.ZodType>(version: number, schema: S): VersionedSchema<z.output<S>>;
} {
  return {
    add: (version, schema) => {
      if (!Number.isInteger(version)) throw new RangeError(`schema version ${version} must be an integer`);
      return build(options, [{ version, schema }]);
    },
  };
}

export interface VersionsOptions {
  /** The version a raw record (parsed JSON, not yet checked) says it has; a number or a string. */
  readonly versionOf: (raw: unknown) => unknown;
}

/** A zod schema of the newest version, which knows every version it accepts. */
export type VersionedSchema<T> = z.ZodType<T> & {
  /** The versions accepted, oldest first. */
  readonly versions: readonly (number | string)[];
  /** A newer version, and how a record of the version before it becomes one. */
  add<S extends z.ZodType>(
    version: number,
    schema: S,
    upgrade: (previous: T) => z.input<S>,
  ): VersionedSchema<z.output<S>>;
};

/** A record whose version is not one its source accepts; the source stage dead-letters it with that version. */
export class UnknownSchemaVersionError extends Error {
  override readonly name = 'UnknownSchemaVersionError';

  constructor(
    readonly version: unknown,
    readonly known: readonly (number | string)[],
  ) {
    super(`record has schema version ${describeVersion(version)}; the source accepts versions ${known.join(', ')}`);
  }
}

/**
 * `schema.safeParse(value)` where a record may say a version the schema does not know (`versions()`
 * throws then): that record becomes its own dead letter, `unknown-schema-version`, with its version
 * at `field`. Sources of both kinds read their records through this: a Kinesis record, and each
 * image of a table change.
 */
export function parseKnownVersion(
  schema: z.ZodType,
  value: unknown,
  where: { readonly operator: string; readonly what: string; readonly field: string },
): ReturnType<z.ZodType['safeParse']> {
  try {
    return schema.safeParse(value);
  } catch (error) {
    if (!(error instanceof UnknownSchemaVersionError)) throw error;
    throw new RecordProcessingError(
      {
        reason: DeadLetterReasons.unknownSchemaVersion,
        operator: where.operator,
        message: `${where.what}: ${error.message}`,
        issues: [{ field: where.field, message: `unknown version ${describeVersion(error.version)}` }],
      },
      { cause: error },
    );
  }
}

interface Step {
  readonly version: number;
  readonly schema: z.ZodType;
  /** From the version before this one. */
  readonly upgrade?: (previous: unknown) => unknown;
}

function build<T>(options: VersionsOptions, steps: readonly Step[]): VersionedSchema<T> {
  const known = steps.map((step) => step.version);
  const schema = z.unknown().transform((raw, ctx) => {
    const version = versionOf(options, raw);
    const start = steps.findIndex((step) => step.version === version || String(step.version) === version);
    if (start === -1) throw new UnknownSchemaVersionError(version, known);
    let value: unknown = raw;
    for (let i = start; i < steps.length; i += 1) {
      const step = steps[i] as Step;
      if (i > start) {
        try {
          value = step.upgrade?.(value);
        } catch (error) {
          ctx.addIssue({
            code: 'custom',
            message: `upgrade from version ${known[i - 1]} to ${step.version} threw: ${(error as Error).message}`,
            path: [],
          });
          return z.NEVER;
        }
      }
      const parsed = step.schema.safeParse(value);
      if (!parsed.success) {
        const what = i === start ? `version ${step.version}` : `version ${step.version} (upgraded from ${version})`;
        for (const issue of parsed.error.issues) {
          ctx.addIssue({ code: 'custom', message: `${what}: ${issue.message}`, path: issue.path });
        }
        return z.NEVER;
      }
      value = parsed.data;
    }
    return value as T;
  });
  const last = steps.at(-1) as Step;
  return Object.assign(schema, {
    versions: known,
    add<S extends z.ZodType>(version: number, next: S, upgrade: (previous: T) => z.input<S>) {
      if (!Number.isInteger(version) || version <= last.version) {
        throw new RangeError(`schema version ${version} must be an integer above the last one, ${last.version}`);
      }
      return build<z.output<S>>(options, [
        ...steps,
        { version, schema: next, upgrade: upgrade as (p: unknown) => unknown },
      ]);
    },
  }) as unknown as VersionedSchema<T>;
}

function versionOf(options: VersionsOptions, raw: unknown): unknown {
  try {
    return options.versionOf(raw);
  } catch (error) {
    // A record too broken to say its version is of no version the source knows.
    return `(versionOf threw: ${(error as Error).message})`;
  }
}

function describeVersion(version: unknown): string {
  return typeof version === 'string' ? JSON.stringify(version) : String(version);
}
