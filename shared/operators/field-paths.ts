import { PipelineDefinitionError } from '../dag/errors.js';

/**
 * Dotted field paths (`email`, `address.street`, `items.0.sku`) and a copy-on-write update of the
 * fields they name. Records are JSON values: objects, arrays and scalars.
 */

/** A parsed path: its segments. */
export type FieldPath = readonly string[];

/** Parses and checks the paths an operator is given; mistakes are reported when the pipeline is built. */
export function parseFieldPaths(fields: readonly string[], operator: string): FieldPath[] {
  if (!Array.isArray(fields) || fields.length === 0) {
    throw new PipelineDefinitionError('expects a non-empty array of field paths', operator);
  }
  const seen = new Set<string>();
  const paths: FieldPath[] = [];
  for (const field of fields) {
    if (typeof field !== 'string' || field === '' || field.split('.').some((segment) => segment === '')) {
      throw new PipelineDefinitionError(
        `field paths are names separated by dots ('email', 'address.street'), got ${JSON.stringify(field)}`,
        operator,
      );
    }
    if (seen.has(field)) continue;
    seen.add(field);
    paths.push(field.split('.'));
  }
  return paths;
}

const INDEX = /^(0|[1-9]\d*)$/;

/**
 * `value` with `change` applied to the field at `path`, sharing every part that did not change.
 * A path that does not exist leaves the value as it is (a missing field stays missing). An array on
 * the way is entered at a numeric segment (`items.0`), or else the rest of the path is applied to
 * each of its elements (`items.sku`). `change` gets the field's value, which is never undefined.
 */
export function updateField(value: unknown, path: FieldPath, change: (field: unknown) => unknown): unknown {
  return update(value, path, 0, change);
}

function update(value: unknown, path: FieldPath, at: number, change: (field: unknown) => unknown): unknown {
  const segment = path[at];
  if (segment === undefined) return change(value);
  if (Array.isArray(value)) {
    if (INDEX.test(segment)) {
      const index = Number(segment);
      if (index >= value.length) return value;
      const next = update(value[index], path, at + 1, change);
      if (Object.is(next, value[index])) return value;
      const copy = value.slice();
      copy[index] = next;
      return copy;
    }
    let changed = false;
    const copy = value.map((element: unknown) => {
      const next = update(element, path, at, change);
      if (!Object.is(next, element)) changed = true;
      return next;
    });
    return changed ? copy : value;
  }
  if (value === null || typeof value !== 'object' || !Object.hasOwn(value, segment)) return value;
  const field = (value as Record<string, unknown>)[segment];
  if (field === undefined) return value;
  const next = update(field, path, at + 1, change);
  if (Object.is(next, field)) return value;
  return { ...(value as Record<string, unknown>), [segment]: next };
}
