import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Pipeline } from '../shared/dsl/pipeline.js';
import { importUserModule } from './import-user-module.js';

/** Imports a pipeline file and returns its default export, with an error that says what is wrong. */
export async function loadPipeline(file: string): Promise<Pipeline> {
  const path = resolve(file);
  if (!existsSync(path)) throw new Error(`pipeline file not found: ${file}`);
  // The DSL is loaded here, by the commands that need a pipeline, so that `eddy --help` starts fast.
  const [module, dsl] = await Promise.all([importUserModule(path), import('../shared/dsl/pipeline.js')]);
  const candidate = module.default;
  if (!(candidate instanceof dsl.Pipeline)) {
    throw new Error(
      `${file} must default-export a pipeline (\`export default pipeline('name').source(...)...sink(...)\`), ` +
        `got ${candidate === undefined ? 'no default export' : typeof candidate}`,
    );
  }
  return candidate;
}
