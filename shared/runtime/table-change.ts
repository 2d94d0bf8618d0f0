import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { convertToNative } from '@aws-sdk/util-dynamodb';
import type { z } from 'zod';
import type { TableChange, TableChangeName } from '../dsl/options.js';
import { DeadLetterReasons, type FieldIssue, RecordProcessingError } from '../operators/record-errors.js';
import { parseKnownVersion } from '../operators/schema-versions.js';

/**
 * A DynamoDB stream record as Lambda puts it in the event (with-ddb.html, "Example event"), the part
 * a source reads: attribute values in DynamoDB's JSON, binary ones base64-encoded.
 */
export interface StreamChangeJson {
  readonly eventName?: unknown;
  readonly dynamodb?: {
    readonly Keys?: unknown;
    readonly NewImage?: unknown;
    readonly OldImage?: unknown;
    readonly SequenceNumber?: unknown;
    /** Epoch seconds, with a fraction when the stream was created with millisecond precision. */
    readonly ApproximateCreationDateTime?: unknown;
  };
}

const changeNames: readonly TableChangeName[] = ['INSERT', 'MODIFY', 'REMOVE'];

/** Which images each kind of change has with NEW_AND_OLD_IMAGES. */
const imagesOf: Record<TableChangeName, { readonly old: boolean; readonly new: boolean }> = {
  INSERT: { old: false, new: true },
  MODIFY: { old: true, new: true },
  REMOVE: { old: true, new: false },
};

/**
 * Turns a stream record into the change a `dynamoDbStream` source gives: keys and images unmarshalled,
 * each image checked by `schema`. Throws RecordProcessingError naming the field: `malformed-change`
 * for what is not a readable change, `schema-violation` for an image the schema refuses.
 */
export function toTableChange(
  json: unknown,
  schema: z.ZodType,
  operator: string,
  source: string,
): TableChange<unknown> {
  const malformed = (field: string, message: string) =>
    new RecordProcessingError({
      reason: DeadLetterReasons.malformedChange,
      operator,
      message: `DynamoDB stream record of source '${source}': field '${field}' ${message}`,
      issues: [{ field, message }],
    });
  const record = (typeof json === 'object' && json !== null ? json : {}) as StreamChangeJson;
  const eventName = record.eventName;
  if (typeof eventName !== 'string' || !changeNames.includes(eventName as TableChangeName)) {
    throw malformed('eventName', `is ${JSON.stringify(eventName) ?? 'absent'}, not INSERT, MODIFY or REMOVE`);
  }
  const name = eventName as TableChangeName;
  const dynamodb = record.dynamodb ?? {};
  const sequenceNumber = dynamodb.SequenceNumber;
  if (typeof sequenceNumber !== 'string' || !/^\d+$/.test(sequenceNumber)) {
    throw malformed('dynamodb.SequenceNumber', 'is not a decimal string');
  }
  const created = dynamodb.ApproximateCreationDateTime;
  if (typeof created !== 'number' || !Number.isFinite(created)) {
    throw malformed('dynamodb.ApproximateCreationDateTime', 'is not a number of seconds');
  }
  const keys = unmarshallItem(dynamodb.Keys, 'dynamodb.Keys', malformed);
  const expected = imagesOf[name];
  const image = (field: 'OldImage' | 'NewImage', wanted: boolean): unknown => {
    const raw = dynamodb[field];
    if (!wanted) return undefined;
    if (raw === undefined) {
      throw malformed(
        `dynamodb.${field}`,
        `is missing from a ${name} (the stream's StreamViewType must be NEW_AND_OLD_IMAGES)`,
      );
    }
    const item = unmarshallItem(raw, `dynamodb.${field}`, malformed);
    const label = field === 'OldImage' ? 'oldImage' : 'newImage';
    // A versioned schema (`versions()`) upgrades each image on its own: an old image written before a
    // rollout and a new image after it both reach the operators as the newest version.
    const parsed = parseKnownVersion(schema, item, {
      operator,
      what: `${label} of a ${name} of source '${source}'`,
      field: `${label}.(version)`,
    });
    if (parsed.success) return parsed.data;
    const issues: FieldIssue[] = parsed.error.issues.map((issue) => ({
      field: [label, ...issue.path.map(String)].join('.'),
      message: issue.message,
    }));
    throw new RecordProcessingError({
      reason: DeadLetterReasons.schemaViolation,
      operator,
      message: `${label} of a ${name} does not match the schema of source '${source}': ${issues
        .map((issue) => `field '${issue.field}': ${issue.message}`)
        .join('; ')}`,
      issues,
    });
  };
  const oldImage = image('OldImage', expected.old);
  const newImage = image('NewImage', expected.new);
  return {
    eventName: name,
    keys,
    ...(expected.old && { oldImage }),
    ...(expected.new && { newImage }),
    sequenceNumber,
    approximateCreationTime: Math.round(created * 1000),
  };
}

/** An item in DynamoDB's JSON, attribute by attribute so that an error names the attribute. */
function unmarshallItem(
  raw: unknown,
  field: string,
  malformed: (field: string, message: string) => RecordProcessingError,
): Record<string, unknown> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw malformed(field, 'is not an item (a map of attribute values)');
  const item: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(raw)) {
    const path = `${field}.${name}`;
    try {
      item[name] = convertToNative(fromEventJson(value, path) as AttributeValue);
    } catch (error) {
      if (error instanceof BadAttributeValue) throw malformed(error.path, error.message);
      throw malformed(path, `cannot be unmarshalled: ${(error as Error).message}`);
    }
  }
  return item;
}

/** An attribute value that is not DynamoDB JSON, at `path` (nested values have their own). */
class BadAttributeValue extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Checks an attribute value's shape (one type key, with a value of that type) and decodes the
 * base64 of binary values, as Lambda's JSON carries them. convertToNative alone would pass a
 * malformed value through as something else.
 */
function fromEventJson(value: unknown, path: string): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new BadAttributeValue(path, 'is not an attribute value');
  const entries = Object.entries(value);
  if (entries.length !== 1) throw new BadAttributeValue(path, `has ${entries.length} type keys, not 1`);
  const [type, inner] = entries[0] as [string, unknown];
  const strings = (what: string) => {
    if (!Array.isArray(inner) || !inner.every((s) => typeof s === 'string'))
      throw new BadAttributeValue(path, `${type} is not a list of ${what}`);
    return inner as string[];
  };
  switch (type) {
    case 'S':
    case 'N':
      if (typeof inner !== 'string') throw new BadAttributeValue(path, `${type} is not a string`);
      return value;
    case 'B':
      if (typeof inner !== 'string') throw new BadAttributeValue(path, 'B is not base64 text');
      return { B: Buffer.from(inner, 'base64') };
    case 'SS':
    case 'NS':
      strings('strings');
      return value;
    case 'BS':
      return { BS: strings('base64 strings').map((s) => Buffer.from(s, 'base64')) };
    case 'BOOL':
      if (typeof inner !== 'boolean') throw new BadAttributeValue(path, 'BOOL is not a boolean');
      return value;
    case 'NULL':
      return value;
    case 'L':
      if (!Array.isArray(inner)) throw new BadAttributeValue(path, 'L is not a list');
      return { L: inner.map((element, i) => fromEventJson(element, `${path}.${i}`)) };
    case 'M':
      if (typeof inner !== 'object' || inner === null || Array.isArray(inner))
        throw new BadAttributeValue(path, 'M is not a map');
      return { M: Object.fromEntries(Object.entries(inner).map(([k, v]) => [k, fromEventJson(v, `${path}.${k}`)])) };
    default:
      throw new BadAttributeValue(path, `has unknown type ${JSON.stringify(type)}`);
  }
}
