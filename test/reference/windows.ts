import { readFileSync } from 'node:fs';
import type { WindowAssigner } from '../../shared/windows/types.js';

/**
 * Windows of click files computed in one pass over the whole file, by plain loops, apart from
 * Eddy: what the e2e tests and the windows benchmark compare `eddy run`'s results with.
 */
export interface Click {
  user: string;
  page: string;
  kind: string;
  ts: number;
}

/** Valid views of the input file, by hand: the records every window stage aggregates. */
export function views(file: string): Click[] {
  const out: Click[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    try {
      const c = JSON.parse(line);
      if (typeof c.ts === 'number' && typeof c.user === 'string' && typeof c.page === 'string' && c.kind === 'view')
        out.push(c);
    } catch {
      // broken lines are dead-lettered by the pipeline, and are not in any window
    }
  }
  return out;
}

/** The batch computation: every window's value over the whole input, by plain loops. */
export function reference(
  input: Click[],
  keyOf: (c: Click) => string,
  assigner: WindowAssigner,
  value: (c: Click) => number,
) {
  const windows = new Map<string, number>();
  const add = (key: string, start: number, end: number, v: number) => {
    const name = `${key}|${start}|${end}`;
    windows.set(name, (windows.get(name) ?? 0) + v);
  };
  if (assigner.kind === 'session') {
    const byKey = new Map<string, Click[]>();
    for (const c of input) byKey.set(keyOf(c), [...(byKey.get(keyOf(c)) ?? []), c]);
    for (const [key, clicks] of byKey) {
      const sorted = clicks.sort((a, b) => a.ts - b.ts);
      let group: Click[] = [];
      const flush = () => {
        if (group.length === 0) return;
        const start = (group[0] as Click).ts;
        const end = (group.at(-1) as Click).ts + assigner.gap;
        for (const c of group) add(key, start, end, value(c));
        group = [];
      };
      for (const c of sorted) {
        if (group.length > 0 && c.ts - (group.at(-1) as Click).ts >= assigner.gap) flush();
        group.push(c);
      }
      flush();
    }
    return windows;
  }
  const slide = assigner.kind === 'hopping' ? assigner.slide : assigner.size;
  for (const c of input) {
    for (let start = Math.floor(c.ts / slide) * slide; start > c.ts - assigner.size; start -= slide) {
      add(keyOf(c), start, start + assigner.size, value(c));
    }
  }
  return windows;
}
