import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Pipeline } from '../shared/dsl/pipeline.js';

/** Imports a pipeline file and returns its default export, with an error that says what is wrong. */
export async function loadPipeline(file: string): Promise<Pipeline> {
  const path = resolve(file);
  if (!existsSync(path)) throw new Error(`pipeline file not found: ${file}`);
  const module = (await import(pathToFileURL(path).href)) as { default?: unknown };
  const candidate = module.default;
  if (!(candidate instanceof Pipeline)) {
    throw new Error(
      `${file} must default-export a pipeline (\`export default pipeline('name').source(...)...sink(...)\`), ` +
        `got ${candidate === undefined ? 'no default export' : typeof candidate}`,
    );
  }
  return candidate;
}
