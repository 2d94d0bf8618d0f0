/// <reference lib="dom.iterable" />
import type { Page } from 'puppeteer-core';

/** What the console's tables show, read from the page. */
export interface ShownConsole {
  /** Records in per stage, summed over its operator rows (or its stage-total row). */
  readonly recordsIn: Record<string, number>;
  /** Per stage: the lag (ms) and pending records of its summary row. */
  readonly backlog: Record<string, { readonly lagMs: number; readonly pending: number }>;
  /** The reasons of the dead letters listed. */
  readonly deadLetterReasons: readonly string[];
  readonly deadLetterText: string;
  /** Drawn: stages, edges (`from -> to`), and node ids. */
  readonly stages: readonly string[];
  readonly edges: readonly string[];
  readonly nodes: readonly string[];
  readonly operatorMetrics: readonly string[];
}

export function readConsole(page: Page): Promise<ShownConsole> {
  return page.evaluate(() => {
    const recordsIn: Record<string, number> = {};
    for (const row of document.querySelectorAll('#operators tr[data-row]')) {
      const stage = row.querySelector('td')?.textContent ?? '';
      const cell = row.querySelector('[data-counter="recordsIn"]')?.textContent ?? '0';
      recordsIn[stage] = (recordsIn[stage] ?? 0) + Number(cell);
    }
    const backlog: Record<string, { lagMs: number; pending: number }> = {};
    for (const row of document.querySelectorAll('#lag tr.stage-row')) {
      backlog[row.getAttribute('data-stage') ?? ''] = {
        lagMs: Number(row.querySelector('[data-lag-ms]')?.getAttribute('data-lag-ms')),
        pending: Number(row.querySelector('[data-pending]')?.getAttribute('data-pending')),
      };
    }
    const letters = [...document.querySelectorAll('#dead-letters li')];
    return {
      recordsIn,
      backlog,
      deadLetterReasons: letters.map((li) => li.getAttribute('data-reason') ?? ''),
      deadLetterText: letters.map((li) => li.textContent ?? '').join('\n'),
      stages: [...document.querySelectorAll('#graph svg .stage')].map((g) => g.getAttribute('data-stage') ?? ''),
      edges: [...document.querySelectorAll('#graph svg .edge')].map(
        (g) => `${g.getAttribute('data-from')} -> ${g.getAttribute('data-to')}`,
      ),
      nodes: [...document.querySelectorAll('#graph svg .node')].map((g) => g.getAttribute('data-id') ?? ''),
      operatorMetrics: [...document.querySelectorAll('#graph svg .node-operator .metrics')].map(
        (t) => t.textContent ?? '',
      ),
    };
  });
}

/**
 * Reads the page until `done` holds. A deadline on progress, not on the wall clock: it fails only
 * when `progress` (records processed, say) has not moved for `stallMs`, or after `done` stayed false
 * with the pipeline idle that long.
 */
export async function untilShown(
  page: Page,
  done: (shown: ShownConsole) => boolean,
  description: string,
  progress: () => number,
  {
    stallMs = 60_000,
    intervalMs = 100,
    onEach,
  }: { stallMs?: number; intervalMs?: number; onEach?: (shown: ShownConsole) => void } = {},
): Promise<ShownConsole> {
  let last = progress();
  let movedAt = Date.now();
  for (;;) {
    const shown = await readConsole(page);
    onEach?.(shown);
    if (done(shown)) return shown;
    const now = progress();
    if (now !== last) {
      last = now;
      movedAt = Date.now();
    } else if (Date.now() - movedAt > stallMs) {
      throw new Error(
        `the console never showed ${description} (nothing moved for ${stallMs} ms): ${JSON.stringify(shown)}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
