import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { Pipeline } from '../shared/dsl/pipeline.js';
import { importUserModule } from './import-user-module.js';

/** Imports a pipeline file and returns its default export, with an error that says what is wrong. */
export async function loadPipeline(file: string): Promise<Pipeline> {
  const path = resolve(file);
  if (!existsSync(path)) throw new Error(`pipeline file not found: ${file}`);
  const module = await importUserModule(path);
  const candidate = module.default;
  if (!(candidate instanceof Pipeline)) {
    throw new Error(
      `${file} must default-export a pipeline (\`export default pipeline('name').source(...)...sink(...)\`), ` +
        `got ${candidate === undefined ? 'no default export' : typeof candidate}`,
    );
  }
  return candidate;
}
