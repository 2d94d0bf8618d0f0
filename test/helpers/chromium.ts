import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

const NAMES = ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable'];

/**
 * The Chromium binary the browser tests drive: `CHROMIUM_PATH`, else the first of Debian's
 * `chromium` (what .ci/run installs) and its usual other names on the PATH.
 */
export function findChromium(): string | undefined {
  const given = process.env.CHROMIUM_PATH;
  if (given !== undefined && given !== '') return given;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    for (const name of NAMES) {
      const file = join(dir, name);
      try {
        accessSync(file, constants.X_OK);
        return file;
      } catch {
        // not here
      }
    }
  }
  return undefined;
}

/**
 * Whether to skip a browser test: only when there is no Chromium and this is not CI. In CI a missing
 * Chromium is a failure (the test then throws), not a skip.
 */
export function skipWithoutChromium(): boolean {
  return findChromium() === undefined && process.env.CI !== 'true';
}

export function requireChromium(): string {
  const found = findChromium();
  if (found === undefined) {
    throw new Error(
      "no Chromium binary (chromium, chromium-browser, google-chrome or CHROMIUM_PATH): .ci/run installs Debian's chromium",
    );
  }
  return found;
}

/** Flags for a headless Chromium as root in a container, as CI runs it. */
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'];
