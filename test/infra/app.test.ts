import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stackNames, synthApp } from './synth-app.js';

/** A deadline per synthesis: a loaded machine took up to 40 s alone, more beside other synths. */
const SYNTH_MS = 180_000;

describe('infra/app.ts', () => {
  it(
    'deploys examples/page-views.ts by default, naming the stack after the prefix and the pipeline',
    async () => {
      const { outdir } = await synthApp({ prefix: 'dev_' });
      expect(stackNames(outdir)).toEqual(['Eddy-dev-page-views']);
      const template = readFileSync(join(outdir, 'Eddy-dev-page-views.template.json'), 'utf8');
      expect(template).toContain('"Name": "dev_page-views-by-page"');
    },
    SYNTH_MS,
  );

  it(
    'loads the pipeline file given as context',
    async () => {
      const { outdir } = await synthApp({ pipeline: 'test/infra/fixtures/fan-out-pipeline.ts' });
      expect(stackNames(outdir)).toEqual(['Eddy-shop']);
      const template = readFileSync(join(outdir, 'Eddy-shop.template.json'), 'utf8');
      // No stage or prefix given: the physical names start with the pipeline's name.
      expect(template).toContain('"Name": "shop-refunds-by-order"');
    },
    SYNTH_MS,
  );

  it(
    'deploys the windowed example with its state table and late-output stream',
    async () => {
      const { outdir } = await synthApp({ pipeline: 'examples/page-view-counts.ts', prefix: 'dev-' });
      expect(stackNames(outdir)).toEqual(['Eddy-dev-page-view-counts']);
      const template = readFileSync(join(outdir, 'Eddy-dev-page-view-counts.template.json'), 'utf8');
      expect(template).toContain('"Type": "AWS::DynamoDB::GlobalTable"');
      expect(template).toContain('"TableName": "dev-page-view-counts-state"');
      expect(template).toContain('"Name": "dev-late-clicks"');
    },
    SYNTH_MS,
  );

  it(
    'refuses a file whose default export is not a pipeline, naming the file',
    async () => {
      await expect(synthApp({ pipeline: 'test/infra/fixtures/not-a-pipeline.ts' })).rejects.toThrow(
        /test\/infra\/fixtures\/not-a-pipeline\.ts must default-export a pipeline .* but its default export is object/,
      );
    },
    SYNTH_MS,
  );
});
