import { resolve } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fileTag, lineKey, lineOf, parseLineKey } from '../../../local/runner/line-keys.js';

describe('line keys: the partition key that names a fed record file and line', () => {
  it('fits Kinesis 256 characters and gives back its line, for any path and line', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme', maxLength: 600 }),
        fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
        (path, line) => {
          const key = lineKey(`/data/${path}`, line);
          expect(key.length).toBeLessThanOrEqual(256);
          expect(lineOf(key, `/data/${path}`)).toBe(line);
        },
      ),
    );
  });

  it('names a file by its absolute path, relative or not, and tells long paths with one tail apart', () => {
    const tail = `${'x'.repeat(300)}/clicks.jsonl`;

    expect(lineKey('clicks.jsonl', 7)).toBe(`${resolve('clicks.jsonl')}:7`);
    expect(lineOf(lineKey('clicks.jsonl', 7), resolve('clicks.jsonl'))).toBe(7);
    expect(fileTag(`/a/${tail}`)).not.toBe(fileTag(`/b/${tail}`));
    expect(lineOf(lineKey(`/a/${tail}`, 3), `/b/${tail}`)).toBeUndefined();
  });

  it('reads no line from keys that are not line keys', () => {
    for (const key of ['page/1', 'a:0', 'a:01', ':5', 'a:1e3', 'a:12345678901234567']) {
      expect(parseLineKey(key)).toBeUndefined();
    }
  });
});
