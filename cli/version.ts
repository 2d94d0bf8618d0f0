import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Eddy's version, from its package.json: the nearest one above this file, so that it is found both
 * from the sources (cli/) and from a compiled copy (dist/cli/).
 */
export function eddyVersion(from: string = fileURLToPath(import.meta.url)): string {
  for (let dir = dirname(from); ; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const manifest = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (manifest.name === 'eddy' && manifest.version !== undefined) return manifest.version;
    }
    if (dirname(dir) === dir) throw new Error(`Eddy's package.json was not found above ${from}`);
  }
}
