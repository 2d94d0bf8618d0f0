import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** What Eddy's package.json says of itself and of the packages it pins. */
export interface EddyManifest {
  readonly name: 'eddy';
  readonly version: string;
  readonly dependencies: Readonly<Record<string, string>>;
  readonly devDependencies?: Readonly<Record<string, string>>;
}

/**
 * Eddy's package.json: the nearest one above this file named `eddy`, so that it is found both from
 * the sources (cli/) and from a compiled copy (dist/cli/).
 */
export function eddyManifest(from: string = fileURLToPath(import.meta.url)): EddyManifest {
  for (let dir = dirname(from); ; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const manifest = JSON.parse(readFileSync(file, 'utf8')) as Partial<EddyManifest> & { name?: string };
      if (manifest.name === 'eddy' && manifest.version !== undefined) return manifest as EddyManifest;
    }
    if (dirname(dir) === dir) throw new Error(`Eddy's package.json was not found above ${from}`);
  }
}

/** Eddy's version, from its package.json. */
export function eddyVersion(from?: string): string {
  return eddyManifest(from).version;
}
