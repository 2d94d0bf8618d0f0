import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { PipelineDefinitionError } from '../../../shared/index.js';
import { updateField } from '../../../shared/operators/field-paths.js';
import { clearLoadedSecrets, loadSecrets, secret, secretUsesOf } from '../../../shared/operators/secrets.js';
import { mask, tokenize } from '../../../shared/operators/sensitive-fields.js';

const KEY = 'a-test-key-of-well-over-thirty-two-bytes';
const tokenKey = secret('/eddy/token-key');
const load = (value = KEY) => loadSecrets([{ secret: tokenKey }], async () => value);
const hmac = (text: string, key = KEY) => createHmac('sha256', key).update(text, 'utf8').digest('hex');

afterEach(() => clearLoadedSecrets());

describe('mask', () => {
  it('replaces top-level and nested fields with the marker and keeps every other field', () => {
    // Prepare
    const record = { id: 7, email: 'a@b.c', address: { street: '1 Main St', city: 'Oslo' }, tags: ['x'] };

    // Act
    const masked = mask(['email', 'address.street'])(record);

    // Assess
    expect(masked).toEqual({ id: 7, email: '***', address: { street: '***', city: 'Oslo' }, tags: ['x'] });
  });

  it('leaves missing fields missing, null fields null, and never modifies the input', () => {
    // Prepare
    const record = { id: 1, address: null, phone: null };
    const before = structuredClone(record);

    // Act
    const masked = mask(['email', 'address.street', 'phone', 'deep.er.path'])(record);

    // Assess
    expect(masked).toEqual({ id: 1, address: null, phone: null });
    expect(Object.hasOwn(masked, 'email')).toBe(false);
    expect(record).toEqual(before);
    // Nothing to change: the same object, not a copy.
    expect(masked).toBe(record);
  });

  it('masks a whole object or number, uses a custom marker, and walks arrays', () => {
    // Prepare
    const record = { card: { number: '4111', cvc: 123 }, pin: 1234, items: [{ sku: 'a' }, { sku: 'b' }, {}] };

    // Act
    const masked = mask(['card', 'pin', 'items.sku'], { with: '[redacted]' })(record);

    // Assess
    expect(masked).toEqual({
      card: '[redacted]',
      pin: '[redacted]',
      items: [{ sku: '[redacted]' }, { sku: '[redacted]' }, {}],
    });
    expect(record.items[0]).toEqual({ sku: 'a' });
  });

  it('enters an array at a numeric segment only', () => {
    expect(mask(['items.1.sku'])({ items: [{ sku: 'a' }, { sku: 'b' }] })).toEqual({
      items: [{ sku: 'a' }, { sku: '***' }],
    });
    expect(mask(['items.5.sku'])({ items: [{ sku: 'a' }] })).toEqual({ items: [{ sku: 'a' }] });
  });

  it('rejects what is not a list of dotted paths when the pipeline is built', () => {
    expect(() => mask([])).toThrow(PipelineDefinitionError);
    expect(() => mask(['a..b'])).toThrow(/field paths are names separated by dots/);
    expect(() => mask(['.a'])).toThrow(PipelineDefinitionError);
    expect(() => mask(['a'], { with: 3 as unknown as string })).toThrow(/`with` must be a string/);
  });

  it('changes nothing but the masked path, and never its input, for any record (property)', () => {
    const records = fc.object({ key: fc.constantFrom('a', 'b', 'c', '0'), maxDepth: 3 });
    const paths = fc.constantFrom('a', 'a.b', 'b.c.a', 'a.0', 'c.0.b');
    fc.assert(
      fc.property(records, paths, (value, path) => {
        // Prepare
        const before = structuredClone(value);
        const erase = (record: unknown) => updateField(record, path.split('.'), () => 'erased');

        // Act
        const masked = mask([path])(value);

        // Assess
        expect(value).toEqual(before);
        expect(erase(masked)).toEqual(erase(value));
      }),
      { numRuns: 500 },
    );
  });
});

describe('tokenize', () => {
  it('replaces fields by HMAC-SHA256 of their value under the loaded key, in hex', async () => {
    // Prepare
    await load();
    const transform = tokenize(['user', 'address.zip'], { key: tokenKey });

    // Act
    const out = transform({ user: 'alice', address: { zip: 1234, city: 'Oslo' }, page: '/a' });

    // Assess
    // Strings are hashed as their bytes (computable elsewhere), other values as their JSON text.
    expect(out).toEqual({ user: hmac('alice'), address: { zip: hmac('1234'), city: 'Oslo' }, page: '/a' });
    expect(out.user).toMatch(/^[0-9a-f]{64}$/);
  });

  it('is deterministic, so equal values get equal tokens and different values different ones', async () => {
    // Prepare
    await load();
    const transform = tokenize(['user'], { key: tokenKey });

    // Act
    const [a1, a2, b] = [{ user: 'alice' }, { user: 'alice' }, { user: 'bob' }].map(transform);

    // Assess
    expect(a1?.user).toBe(a2?.user);
    expect(a1?.user).not.toBe(b?.user);
  });

  it('writes base64url when asked, and another key gives other tokens', async () => {
    // Prepare
    await load();
    const base64url = tokenize(['user'], { key: tokenKey, encoding: 'base64url' });
    const other = secret('/eddy/other-key');
    await loadSecrets([{ secret: other }], async () => 'another-key-of-at-least-32-bytes!!');

    // Act
    const token = base64url({ user: 'alice' }).user;
    const otherToken = tokenize(['user'], { key: other })({ user: 'alice' }).user;

    // Assess
    expect(token).toBe(createHmac('sha256', KEY).update('alice').digest('base64url'));
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(otherToken).not.toBe(hmac('alice'));
  });

  it('leaves missing and null fields as they are', async () => {
    await load();
    expect(tokenize(['user', 'org.id'], { key: tokenKey })({ user: null, page: '/a' })).toEqual({
      user: null,
      page: '/a',
    });
  });

  it('declares its key, with the minimum size of an HMAC-SHA256 key, for the runtime to load', () => {
    // Act
    const uses = secretUsesOf(tokenize(['user'], { key: tokenKey }));

    // Assess
    expect(uses).toEqual([{ secret: tokenKey, minBytes: 32, usedBy: 'tokenize (user)' }]);
  });

  it('fails loudly when its key was not loaded (never tokenizes with an empty key)', () => {
    expect(() => tokenize(['user'], { key: tokenKey })({ user: 'alice' })).toThrow(
      /secret ssm:\/eddy\/token-key is not loaded/,
    );
  });

  it('takes a secret reference only, never the key itself', () => {
    expect(() => tokenize(['user'], { key: KEY as unknown as ReturnType<typeof secret> })).toThrow(
      /expects `key: secret\('<parameter name>'\)`/,
    );
    expect(() => tokenize(['user'], { key: tokenKey, encoding: 'base32' as 'hex' })).toThrow(/encoding must be/);
  });
});
