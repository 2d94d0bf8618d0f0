/**
 * A small, fixed sample of clicks for a new project: `minutes` minutes of views, scrolls and clicks
 * over a few pages, mostly in order, up to 3 s out of order (within the pipeline's 5 s bound), and
 * one line that is not JSON, so that the first run shows results and a dead letter.
 */
export function sampleClicks(options: { minutes?: number; perMinute?: number; start?: number } = {}): string[] {
  const minutes = options.minutes ?? 5;
  const perMinute = options.perMinute ?? 40;
  const start = options.start ?? Date.UTC(2026, 0, 1);
  const pages = ['/home', '/pricing', '/docs', '/blog'];
  const kinds = ['view', 'view', 'view', 'scroll', 'click'];
  // A fixed linear congruential sequence: the same sample every time, no dependency. Its low bits
  // repeat with short periods, so the draw takes the high ones.
  let seed = 20_260_101;
  const next = (n: number) => {
    seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
    return Math.floor((seed / 2_147_483_648) * n);
  };
  const lines: string[] = [];
  for (let i = 0; i < minutes * perMinute; i += 1) {
    const ts = start + Math.floor((i * 60_000) / perMinute) - next(3_000);
    const click = { user: `user-${next(20)}`, page: pages[next(pages.length)], kind: kinds[next(kinds.length)], ts };
    lines.push(JSON.stringify(click));
  }
  lines.push('{"user": "user-1", "page": "/home", "kind": "view", "ts": ');
  return lines;
}
