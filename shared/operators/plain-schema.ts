import type { z } from 'zod';

/**
 * A fast path for a source's schema: for the schemas most sources use (plain objects of strings,
 * numbers, booleans, literals, enums, optional and nullable fields, unions and arrays of them, no
 * refinements, defaults or transforms), says whether a value parsed from JSON is one that zod's parse
 * would return an equal copy of, key for key in the same order, so that the value itself can be
 * used. zod's parse builds that copy, and it was the largest cost of a source stage after JSON.parse
 * and JSON.stringify.
 *
 * The check only ever answers "the same as zod, for sure": anything else (an invalid value, an
 * unknown key zod would strip, keys in another order) goes to zod's own parse, which gives the
 * issues that name the field, as before. `undefined` when the schema has a part the check does not
 * know: then zod parses every record.
 */
export interface PlainCheck {
  (value: unknown): boolean;
  /**
   * The deepest nesting of objects and arrays a value this check passes can have (input-limits.ts
   * counts depth the same way): the schema bounds it, as the check knows no recursive schema.
   */
  readonly maxDepth: number;
}

/** Within a union: what zod makes of the value, when this check can tell. */
const Verdict = {
  /** zod's parse succeeds and returns a value equal to this one. */
  Same: 0,
  /** zod's parse fails. */
  Invalid: 1,
  /** zod's parse might succeed with another value (a key stripped, keys reordered): ask zod. */
  Unsure: 2,
} as const;
type Verdict = (typeof Verdict)[keyof typeof Verdict];

type Check = (value: unknown) => Verdict;

interface Def {
  readonly type: string;
  readonly checks?: readonly { readonly _zod: { readonly def: Def & { check?: string; format?: string } } }[];
  readonly check?: string;
  readonly format?: string;
  readonly shape?: Record<string, Schema>;
  readonly catchall?: Schema;
  readonly innerType?: Schema;
  readonly element?: Schema;
  readonly options?: readonly Schema[];
  readonly values?: readonly unknown[];
  readonly entries?: Record<string, unknown>;
}

interface Schema {
  readonly _zod: { readonly def: Def };
}

export function compilePlainCheck(schema: z.ZodType): PlainCheck | undefined {
  const check = compile(schema as unknown as Schema);
  if (check === undefined) return undefined;
  return Object.assign((value: unknown) => check(value) === Verdict.Same, {
    maxDepth: depthOf(schema as unknown as Schema),
  });
}

/** Nesting of objects and arrays of a schema {@link compile} knows: `{}` and `[]` are 1, a scalar 0. */
function depthOf(schema: Schema): number {
  const def = schema._zod.def;
  const deepest = (schemas: readonly Schema[]) => Math.max(0, ...schemas.map(depthOf));
  switch (def.type) {
    case 'object':
      return 1 + deepest(Object.values(def.shape ?? {}));
    case 'array':
      return 1 + deepest(def.element === undefined ? [] : [def.element]);
    case 'optional':
    case 'nullable':
      return deepest(def.innerType === undefined ? [] : [def.innerType]);
    case 'union':
      return deepest(def.options ?? []);
    default:
      return 0;
  }
}

const noChecks = (def: Def) => def.checks === undefined || def.checks.length === 0;

function compile(schema: Schema): Check | undefined {
  const def = (schema as Partial<Schema>)._zod?.def;
  if (def === undefined) return undefined;
  switch (def.type) {
    case 'string':
      return noChecks(def) && def.format === undefined ? stringCheck : undefined;
    case 'boolean':
      return noChecks(def) ? booleanCheck : undefined;
    case 'null':
      return noChecks(def) ? (value) => (value === null ? Verdict.Same : Verdict.Invalid) : undefined;
    case 'number':
      return numberCheck(def);
    case 'literal':
      return literalCheck(def);
    case 'enum':
      return enumCheck(def);
    case 'optional':
      return optionalCheck(def);
    case 'nullable':
      return noChecks(def) ? nullableCheck(def) : undefined;
    case 'object':
      return objectCheck(def);
    case 'array':
      return arrayCheck(def);
    case 'union':
      return unionCheck(def);
    default:
      return undefined;
  }
}

const stringCheck: Check = (value) => (typeof value === 'string' ? Verdict.Same : Verdict.Invalid);
const booleanCheck: Check = (value) => (typeof value === 'boolean' ? Verdict.Same : Verdict.Invalid);
const finiteCheck: Check = (value) =>
  typeof value === 'number' && Number.isFinite(value) ? Verdict.Same : Verdict.Invalid;
const safeIntegerCheck: Check = (value) => (Number.isSafeInteger(value) ? Verdict.Same : Verdict.Invalid);

/** `z.number()`, and `z.number().int()` / `z.int()` (zod's 'safeint' format): nothing else. */
function numberCheck(def: Def): Check | undefined {
  const formats = [def, ...(def.checks ?? []).map((c) => c._zod.def)].filter((d) => d.format !== undefined);
  const others = (def.checks ?? []).filter((c) => c._zod.def.check !== 'number_format');
  if (others.length > 0) return undefined;
  if (formats.length === 0) return finiteCheck;
  return formats.every((d) => d.format === 'safeint') ? safeIntegerCheck : undefined;
}

function literalCheck(def: Def): Check | undefined {
  const values = def.values ?? [];
  // Only values JSON can hold and === compares (zod compares with ===, a Set's has).
  if (!noChecks(def) || !values.every((v) => v === null || ['string', 'number', 'boolean'].includes(typeof v))) {
    return undefined;
  }
  const allowed = new Set<unknown>(values);
  return (value) => (allowed.has(value) ? Verdict.Same : Verdict.Invalid);
}

function enumCheck(def: Def): Check | undefined {
  const values = Object.values(def.entries ?? {});
  if (!noChecks(def) || !values.every((v) => typeof v === 'string' || typeof v === 'number')) return undefined;
  const allowed = new Set<unknown>(values);
  return (value) => (allowed.has(value) ? Verdict.Same : Verdict.Invalid);
}

/** `optional`: zod lets undefined through as itself. */
function optionalCheck(def: Def): Check | undefined {
  if (!noChecks(def) || def.innerType === undefined) return undefined;
  const inner = compile(def.innerType);
  if (inner === undefined) return undefined;
  return (value) => (value === undefined ? Verdict.Same : inner(value));
}

function nullableCheck(def: Def): Check | undefined {
  if (def.innerType === undefined) return undefined;
  const inner = compile(def.innerType);
  if (inner === undefined) return undefined;
  return (value) => (value === null ? Verdict.Same : inner(value));
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * An object, strict (`z.strictObject`: an unknown key fails), stripping (`z.object`: zod drops
 * unknown keys, so a value with one is not its own result) or loose (`z.looseObject`, only without
 * unknown keys here, as zod may order them otherwise). zod's result has the shape's keys in the
 * shape's order, the absent optional ones left out: the value's keys must come in that order.
 */
function objectCheck(def: Def): Check | undefined {
  if (!noChecks(def) || def.shape === undefined) return undefined;
  const catchall = def.catchall?._zod.def.type;
  if (catchall !== undefined && catchall !== 'never' && catchall !== 'unknown') return undefined;
  const strict = catchall === 'never';
  const keys = Object.keys(def.shape);
  const fields: Check[] = [];
  const optional: boolean[] = [];
  for (const key of keys) {
    const field = def.shape[key] as Schema;
    const check = compile(field);
    if (check === undefined) return undefined;
    fields.push(check);
    optional.push(field._zod.def.type === 'optional');
  }
  const known = new Set(keys);
  return (value) => {
    if (!isPlainObject(value)) return Verdict.Invalid;
    let verdict: Verdict = Verdict.Same;
    let next = 0;
    for (const key in value) {
      if (!Object.hasOwn(value, key)) continue;
      while (next < keys.length && keys[next] !== key && optional[next]) next += 1;
      if (next === keys.length || keys[next] !== key) {
        if (known.has(key)) return Verdict.Unsure;
        if (strict) return Verdict.Invalid;
        return Verdict.Unsure;
      }
      const field = (fields[next] as Check)(value[key]);
      if (field === Verdict.Invalid) return Verdict.Invalid;
      if (field === Verdict.Unsure) verdict = Verdict.Unsure;
      next += 1;
    }
    for (; next < keys.length; next += 1) if (!optional[next]) return Verdict.Invalid;
    return verdict;
  };
}

function arrayCheck(def: Def): Check | undefined {
  if (!noChecks(def) || def.element === undefined) return undefined;
  const element = compile(def.element);
  if (element === undefined) return undefined;
  return (value) => {
    if (!Array.isArray(value)) return Verdict.Invalid;
    let verdict: Verdict = Verdict.Same;
    for (let i = 0; i < value.length; i += 1) {
      const item = element(value[i]);
      if (item === Verdict.Invalid) return Verdict.Invalid;
      if (item === Verdict.Unsure) verdict = Verdict.Unsure;
    }
    return verdict;
  };
}

/**
 * zod's union returns the first option that parses: an option this check is unsure of might be that
 * one, with another value, so the union is unsure too; options that fail are passed over as zod does.
 */
function unionCheck(def: Def): Check | undefined {
  if (!noChecks(def) || def.options === undefined || def.options.length === 0) return undefined;
  const options: Check[] = [];
  for (const option of def.options) {
    const check = compile(option);
    if (check === undefined) return undefined;
    options.push(check);
  }
  return (value) => {
    for (const option of options) {
      const verdict = option(value);
      if (verdict !== Verdict.Invalid) return verdict;
    }
    return Verdict.Invalid;
  };
}
