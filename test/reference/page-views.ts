/**
 * The page-views example's semantics written out by hand, without Eddy or zod: a plain loop over
 * the input lines. Tests and benchmarks compare what the pipeline emitted with this.
 */
export interface View {
  page: string;
  user: string;
  ts: number;
}

export function expectedPageViews(lines: readonly string[]): { views: View[]; rejectedLines: number[] } {
  const views: View[] = [];
  const rejectedLines: number[] = [];
  lines.forEach((line, index) => {
    if (line.trim() === '') return;
    let click: Record<string, unknown>;
    try {
      click = JSON.parse(line);
    } catch {
      rejectedLines.push(index + 1);
      return;
    }
    const valid =
      typeof click === 'object' &&
      click !== null &&
      typeof click.user === 'string' &&
      typeof click.page === 'string' &&
      typeof click.kind === 'string' &&
      typeof click.ts === 'number';
    if (!valid) rejectedLines.push(index + 1);
    else if (click.kind === 'view')
      views.push({ page: click.page as string, user: click.user as string, ts: click.ts as number });
  });
  return { views, rejectedLines };
}

/** Each key's records in order: what per-key ordering must preserve. */
export function groupByPage(views: readonly View[]): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const view of views) {
    const group = groups.get(view.page);
    if (group === undefined) groups.set(view.page, [JSON.stringify(view)]);
    else group.push(JSON.stringify(view));
  }
  return groups;
}
