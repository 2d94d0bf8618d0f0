/**
 * The batch computation the window operator must agree with, written without it: whole input at once,
 * plain loops, no watermarks, no state. Nothing here imports the code under test.
 */
import type { WindowAssigner } from '../../../shared/windows/types.js';

export interface Item {
  readonly id: string;
  readonly n: number;
}

export interface KeyedItem {
  readonly key: string;
  readonly time: number;
  readonly item: Item;
}

export interface ReferenceWindow {
  readonly key: string;
  readonly start: number;
  readonly end: number;
  readonly items: Item[];
}

export const windowName = (w: { key: string; start: number; end: number }): string => `${w.key}|${w.start}|${w.end}`;

/** Every [k * slide, k * slide + size) that contains t, by trying every k in range. */
export function fixedWindowsContaining(size: number, slide: number, t: number): { start: number; end: number }[] {
  const windows: { start: number; end: number }[] = [];
  for (let k = Math.floor((t - size) / slide) - 1; k * slide <= t; k += 1) {
    if (k * slide <= t && t < k * slide + size) windows.push({ start: k * slide, end: k * slide + size });
  }
  return windows;
}

/** The windows of the whole input: for sessions, each key's records by time, split where the gap is >= gap. */
export function referenceWindows(
  assigner: WindowAssigner,
  records: readonly KeyedItem[],
): Map<string, ReferenceWindow> {
  const windows = new Map<string, ReferenceWindow>();
  const addTo = (key: string, start: number, end: number, item: Item) => {
    const name = windowName({ key, start, end });
    const window = windows.get(name) ?? { key, start, end, items: [] };
    window.items.push(item);
    windows.set(name, window);
  };
  if (assigner.kind !== 'session') {
    const slide = assigner.kind === 'hopping' ? assigner.slide : assigner.size;
    for (const r of records) {
      for (const w of fixedWindowsContaining(assigner.size, slide, r.time)) addTo(r.key, w.start, w.end, r.item);
    }
    return windows;
  }
  const byKey = new Map<string, KeyedItem[]>();
  for (const r of records) byKey.set(r.key, [...(byKey.get(r.key) ?? []), r]);
  for (const [key, rs] of byKey) {
    const sorted = [...rs].sort((a, b) => a.time - b.time);
    let group: KeyedItem[] = [];
    const flush = () => {
      const first = group[0];
      const last = group[group.length - 1];
      if (first === undefined || last === undefined) return;
      for (const r of group) addTo(key, first.time, last.time + assigner.gap, r.item);
    };
    for (const r of sorted) {
      const last = group[group.length - 1];
      if (last !== undefined && r.time - last.time >= assigner.gap) {
        flush();
        group = [];
      }
      group.push(r);
    }
    flush();
  }
  return windows;
}

/** What each aggregation of the tests should give for a window's items. */
export const referenceResults: Record<string, (items: Item[]) => unknown> = {
  count: (items) => items.length,
  sum: (items) => items.reduce((s, i) => s + i.n, 0),
  min: (items) => Math.min(...items.map((i) => i.n)),
  max: (items) => Math.max(...items.map((i) => i.n)),
  avg: (items) => items.reduce((s, i) => s + i.n, 0) / items.length,
  stats: (items) => ({ ids: items.map((i) => i.id).sort(), squares: items.reduce((s, i) => s + i.n * i.n, 0) }),
};
