import { createHash } from 'node:crypto';
import { resolve } from 'node:path';

/**
 * The partition key of a record fed from a file names its file and line, `<path>:<line>`, so that a
 * dead letter (which carries its source record's partition key) and a resumed feeder reading the
 * stream back can both tell which line a record is. Kinesis caps a partition key at 256 characters:
 * a longer path keeps its tail, behind a hash of the whole path, so two long paths that share a tail
 * still get two tags.
 */
const MAX_PARTITION_KEY = 256;
/** Room for `:` and a line number (Number.MAX_SAFE_INTEGER has 16 digits). */
const MAX_TAG = MAX_PARTITION_KEY - 17;

/**
 * What stands for `file` in its lines' partition keys: its absolute path when it fits, so that a run
 * restarted from another working directory still knows its lines.
 */
export function fileTag(file: string): string {
  const path = resolve(file);
  if (path.length <= MAX_TAG) return path;
  const hash = createHash('sha256').update(path).digest('hex').slice(0, 16);
  const prefix = `${hash}...`;
  // Code points, not UTF-16 units: a cut must not split a surrogate pair.
  const tail = Array.from(path);
  let kept = '';
  for (let i = tail.length - 1; i >= 0; i -= 1) {
    const next = `${tail[i]}${kept}`;
    if (prefix.length + next.length > MAX_TAG) break;
    kept = next;
  }
  return `${prefix}${kept}`;
}

/** The partition key of line `line` (1-based) of `file`. */
export function lineKey(file: string, line: number): string {
  return `${fileTag(file)}:${line}`;
}

/** The tag and line a partition key names, or undefined when it is not a line's key. */
export function parseLineKey(key: string): { readonly tag: string; readonly line: number } | undefined {
  const match = /^(.+):([1-9][0-9]{0,15})$/.exec(key);
  if (match === null) return undefined;
  return { tag: match[1] ?? '', line: Number(match[2]) };
}

/** The line of `file` that `key` names, or undefined when it names no line of that file. */
export function lineOf(key: string, file: string): number | undefined {
  const parsed = parseLineKey(key);
  return parsed !== undefined && parsed.tag === fileTag(file) ? parsed.line : undefined;
}
