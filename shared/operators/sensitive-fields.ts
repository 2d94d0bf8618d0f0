import { createHmac } from 'node:crypto';
import { PipelineDefinitionError } from '../dag/errors.js';
import { type FieldPath, parseFieldPaths, updateField } from './field-paths.js';
import { type SecretRef, secretValue, usesSecrets } from './secrets.js';

/**
 * Operators for sensitive fields, as map functions: `stream.map(mask(['email']))`,
 * `stream.map(tokenize(['user'], { key: secret('/eddy/token-key') }))`. They return a copy of the
 * record with the named fields changed; the record itself (which other branches may share) is never
 * modified, the other fields are kept as they are, and a field that is missing (or null) stays so.
 *
 * The types are kept: a masked or tokenized field holds a string whatever it held before, so declare
 * such fields as strings downstream if you read them.
 */
export type FieldTransform = <T>(value: T) => T;

export interface MaskOptions {
  /** What a masked field holds. @default '***' */
  readonly with?: string;
}

/** The default marker of a masked field. */
export const MASKED = '***';

/**
 * Redacts fields: each named field that is present becomes `'***'` (or `options.with`), whatever
 * its value (a string, a number, a whole object).
 *
 * @example
 * clicks.map(mask(['email', 'address.street', 'payments.card']))  // 'payments' may be an array
 */
export function mask(fields: readonly string[], options: MaskOptions = {}): FieldTransform {
  const paths = parseFieldPaths(fields, 'mask');
  const marker = options.with ?? MASKED;
  if (typeof marker !== 'string') throw new PipelineDefinitionError('`with` must be a string', 'mask');
  const replace = (field: unknown) => (field === null ? null : marker);
  return (<T>(value: T): T => applyAll(value, paths, replace) as T) as FieldTransform;
}

export interface TokenizeOptions {
  /**
   * The HMAC key: a secret, never a value in code or in a plain environment variable of the
   * function. At least 32 bytes.
   */
  readonly key: SecretRef;
  /** How the 32-byte HMAC is written. @default 'hex' (64 characters) */
  readonly encoding?: 'hex' | 'base64url';
}

/** HMAC-SHA256 keys shorter than the hash are weaker than the hash (RFC 2104, section 3). */
export const MIN_TOKEN_KEY_BYTES = 32;

/**
 * Replaces fields by a deterministic token: HMAC-SHA256 of the value under a secret key, so equal
 * values give equal tokens (keyBy, joins and counts on a tokenized field still work) and the value
 * cannot be recovered without the key. A string is hashed as its UTF-8 bytes (so a token can be
 * computed elsewhere: `HMAC-SHA256(key, "alice")`), any other value as its JSON text (`42`,
 * `{"a":1}`). The key is loaded by the stage handler before its first batch (docs/security.md).
 *
 * @example
 * clicks.map(tokenize(['user'], { key: secret('/eddy/token-key') })).keyBy((c) => c.user)
 */
export function tokenize(fields: readonly string[], options: TokenizeOptions): FieldTransform {
  const paths = parseFieldPaths(fields, 'tokenize');
  const key = options?.key;
  if (key === undefined || typeof key.id !== 'string' || key.source !== 'ssm') {
    throw new PipelineDefinitionError("expects `key: secret('<parameter name>')`, never the key itself", 'tokenize');
  }
  const encoding = options.encoding ?? 'hex';
  if (encoding !== 'hex' && encoding !== 'base64url') {
    throw new PipelineDefinitionError(`encoding must be 'hex' or 'base64url', got '${String(encoding)}'`, 'tokenize');
  }
  let cached: { raw: string; key: Buffer } | undefined;
  const token = (field: unknown): unknown => {
    if (field === null) return null;
    const raw = secretValue(key);
    if (cached?.raw !== raw) cached = { raw, key: Buffer.from(raw, 'utf8') };
    const text = typeof field === 'string' ? field : JSON.stringify(field);
    return createHmac('sha256', cached.key).update(text, 'utf8').digest(encoding);
  };
  const transform = <T>(value: T): T => applyAll(value, paths, token) as T;
  return usesSecrets(transform, [
    { secret: key, minBytes: MIN_TOKEN_KEY_BYTES, usedBy: `tokenize (${fields.join(', ')})` },
  ]) as FieldTransform;
}

function applyAll(value: unknown, paths: readonly FieldPath[], change: (field: unknown) => unknown): unknown {
  let result = value;
  for (const path of paths) result = updateField(result, path, change);
  return result;
}
