/**
 * Screenshots of the web console during Nexmark runs on the embedded emulators, for docs/console/:
 * each query's page while it works through a backlog, and the dead letters after a bad event.
 *
 *   npx tsx bench/console-screenshots.ts [--queries q3,q5,q7] [--events 60000] [--out docs/console]
 *
 * Needs a Chromium (Debian's `chromium`, or CHROMIUM_PATH).
 */
import '../local/sdk-node-warning.js';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import puppeteer, { type Page } from 'puppeteer-core';
import { writeEvents } from '../examples/nexmark/generator.js';
import { NEXMARK_QUERIES } from '../examples/nexmark/queries.js';
import { DevSession } from '../local/observability/dev-session.js';
import { CHROMIUM_ARGS, requireChromium } from '../test/helpers/chromium.js';
import { readConsole, untilShown } from '../test/helpers/console-page.js';

const { values } = parseArgs({
  options: {
    queries: { type: 'string', default: 'q3,q5,q7' },
    events: { type: 'string', default: '60000' },
    out: { type: 'string', default: 'docs/console' },
  },
});
const out = values.out ?? 'docs/console';
mkdirSync(out, { recursive: true });
const work = mkdtempSync(join(tmpdir(), 'eddy-console-shots-'));
const events = join(work, 'nexmark.jsonl');
await writeEvents(events, { numEvents: Number(values.events) });
const browser = await puppeteer.launch({ executablePath: requireChromium(), headless: true, args: CHROMIUM_ARGS });

async function shoot(page: Page, file: string): Promise<void> {
  await page.screenshot({ path: join(out, file), fullPage: true });
  console.log(`wrote ${join(out, file)}`);
}

try {
  for (const name of (values.queries ?? '').split(',')) {
    const query = NEXMARK_QUERIES.find((q) => q.name === name);
    if (query === undefined) throw new Error(`--queries: no Nexmark query '${name}'`);
    const session = await DevSession.start({ pipeline: query.pipeline, metricsPort: 0 });
    try {
      const page = await browser.newPage();
      await page.setViewport({ width: 1440, height: 900 });
      await page.goto(`${session.server.url}/`);
      await page.waitForSelector('#graph svg .edge');
      // Wide enough for the whole drawing at its natural size (the page scrolls it otherwise).
      const drawingWidth = await page.$eval('#graph svg', (svg) => Number(svg.getAttribute('width')));
      await page.setViewport({ width: Math.max(1440, Math.ceil(drawingWidth) + 60), height: 900 });
      const processed = () => session.local.status().reduce((sum, s) => sum + s.stats.recordsIn, 0);
      const [source] = session.sources;
      if (source === undefined) throw new Error(`${name} has no source`);
      const feeding = session.feed(source, events);
      // Mid-run: records counted and a backlog waiting.
      await untilShown(
        page,
        (shown) =>
          Object.values(shown.recordsIn).some((n) => n > 0) && Object.values(shown.backlog).some((b) => b.pending > 0),
        'a backlog',
        processed,
      );
      await shoot(page, `nexmark-${name}-backlog.png`);
      await feeding;
      const bad = join(work, 'bad.jsonl');
      writeFileSync(bad, '{"not":"a nexmark event"}\n');
      await session.feed(source, bad);
      await session.local.waitUntilDrained();
      await untilShown(page, (shown) => shown.deadLetterReasons.length > 0, 'a dead letter', processed);
      // One more report after the drain, so the page shows the settled figures.
      await new Promise((resolve) => setTimeout(resolve, 1500));
      await readConsole(page);
      await shoot(page, `nexmark-${name}-drained.png`);
      await page.close();
    } finally {
      await session.stop();
    }
  }
} finally {
  await browser.close();
  rmSync(work, { recursive: true, force: true });
}
