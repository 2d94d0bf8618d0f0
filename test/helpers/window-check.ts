/**
 * Compares the window results a run emitted with the batch computation (test/reference/windows.ts),
 * window by window, and says every difference in words: what was lost, what was counted twice.
 */

export interface WindowResult {
  readonly key: string;
  readonly windowStart: number;
  readonly windowEnd: number;
  readonly value: number;
  readonly kind?: string;
  readonly revision?: number;
}

export interface WindowComparison {
  /** Every difference, one line each; empty when the run equals the reference. */
  readonly differences: string[];
  /** Windows in the reference. */
  readonly windows: number;
  /** Results delivered more than once with the same identity and value (allowed: at least once). */
  readonly repeats: number;
  /** Records the windows are short of (lost), and have too many of (duplicated), summed. */
  readonly lost: number;
  readonly duplicated: number;
}

const nameOf = (r: WindowResult): string => `${r.key}|${r.windowStart}|${r.windowEnd}`;
const describe = (name: string): string => {
  const [key, start, end] = name.split('|');
  return `${key} [${new Date(Number(start)).toISOString()}, ${new Date(Number(end)).toISOString()})`;
};

/**
 * Results are delivered at least once with a deterministic identity (docs/state.md): a repeat of
 * `(key, windowStart, windowEnd, revision)` must carry the same value and is otherwise ignored; the
 * last revision of each window is its value.
 */
export function compareWindows(
  results: readonly WindowResult[],
  expected: ReadonlyMap<string, number>,
): WindowComparison {
  const differences: string[] = [];
  const byIdentity = new Map<string, number>();
  const latest = new Map<string, { revision: number; value: number }>();
  let repeats = 0;
  for (const r of results) {
    const identity = `${nameOf(r)}|${r.revision ?? 0}`;
    const seen = byIdentity.get(identity);
    if (seen !== undefined) {
      repeats += 1;
      if (seen !== r.value) {
        differences.push(
          `conflicting repeat: ${describe(nameOf(r))} revision ${r.revision ?? 0} delivered as ${seen} and as ${r.value}`,
        );
      }
      continue;
    }
    byIdentity.set(identity, r.value);
    const current = latest.get(nameOf(r));
    if (current === undefined || (r.revision ?? 0) > current.revision) {
      latest.set(nameOf(r), { revision: r.revision ?? 0, value: r.value });
    }
  }
  let lost = 0;
  let duplicated = 0;
  for (const [name, want] of [...expected].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const got = latest.get(name)?.value;
    if (got === undefined) {
      lost += want;
      differences.push(`lost: ${describe(name)} expected ${want}, never emitted`);
    } else if (got < want) {
      lost += want - got;
      differences.push(`lost: ${describe(name)} expected ${want}, emitted ${got} (${want - got} missing)`);
    } else if (got > want) {
      duplicated += got - want;
      differences.push(`duplicated: ${describe(name)} expected ${want}, emitted ${got} (${got - want} extra)`);
    }
  }
  for (const [name, { value }] of latest) {
    if (!expected.has(name)) {
      duplicated += value;
      differences.push(`duplicated: ${describe(name)} emitted ${value}, not a window of the reference`);
    }
  }
  return { differences, windows: expected.size, repeats, lost, duplicated };
}
