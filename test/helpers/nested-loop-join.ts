import type { JoinType } from '../../shared/dag/graph.js';
import { fixedWindowsContaining } from '../unit/windows/reference.js';
import type { IdEvent } from './id-windows.js';

export type Condition =
  | { kind: 'interval'; before: number; after: number }
  | { kind: 'window'; size: number; slide: number };

/**
 * The join over the whole input with nested loops, written without the code under test: every
 * (left, right) of a key whose times meet the condition, once per shared window for window joins,
 * and for outer joins every record of an outer side that met no record at all.
 */
export function nestedLoopJoin(lefts: IdEvent[], rights: IdEvent[], condition: Condition, type: JoinType): Set<string> {
  const out = new Set<string>();
  const joinedLeft = new Set<string>();
  const joinedRight = new Set<string>();
  for (const l of lefts) {
    for (const r of rights) {
      if (l.key !== r.key) continue;
      const shared =
        condition.kind === 'interval'
          ? r.t >= l.t - condition.before && r.t <= l.t + condition.after
            ? ['']
            : []
          : fixedWindowsContaining(condition.size, condition.slide, l.t)
              .filter((w) => r.t >= w.start && r.t < w.end)
              .map((w) => `@${w.start}`);
      for (const window of shared) {
        out.add(`${l.id}|${r.id}${window}`);
        joinedLeft.add(l.id);
        joinedRight.add(r.id);
      }
    }
  }
  if (type === 'left' || type === 'full') for (const l of lefts) if (!joinedLeft.has(l.id)) out.add(`${l.id}|`);
  if (type === 'right' || type === 'full') for (const r of rights) if (!joinedRight.has(r.id)) out.add(`|${r.id}`);
  return out;
}
