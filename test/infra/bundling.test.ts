import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Stack } from 'aws-cdk-lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pageViews from '../../examples/page-views.js';
import { EddyPipeline } from '../../infra/eddy-pipeline.js';
import { ALL_SDK_MODULES, ON_DEMAND_SDK_MODULES, pipelineBundling } from '../../infra/stage-function.js';
import { functionOfStage, PAGE_VIEWS_ENTRY, type Synthesized, synthesize, testApp } from './support.js';

describe('how the functions are bundled', () => {
  it('bundles the AWS SDK but for what is loaded on demand, unless told otherwise', () => {
    expect(pipelineBundling(PAGE_VIEWS_ENTRY).externalModules).toEqual(ON_DEMAND_SDK_MODULES);
    expect(pipelineBundling(PAGE_VIEWS_ENTRY, { awsSdk: 'bundle' }).externalModules).toEqual([]);
    expect(pipelineBundling(PAGE_VIEWS_ENTRY, { awsSdk: 'runtime' }).externalModules).toEqual(ALL_SDK_MODULES);
    expect(ALL_SDK_MODULES).toEqual(['@aws-sdk/*', '@smithy/*']);
  });

  describe('the asset cdk synth builds', () => {
    let synthesized: Synthesized;
    let dispose: () => void;
    const code = () => {
      const [, fn] = functionOfStage(synthesized.json, 'from-clicks');
      const s3Key = (fn.Properties.Code as { S3Key: string }).S3Key;
      return readFileSync(
        join(synthesized.assembly.directory, `asset.${s3Key.replace(/\.zip$/, '')}`, 'index.mjs'),
        'utf8',
      );
    };

    beforeAll(() => {
      const test = testApp();
      dispose = test.dispose;
      const stack = new Stack(test.app, 'PageViews');
      new EddyPipeline(stack, 'Pipeline', { pipeline: pageViews, pipelineEntry: PAGE_VIEWS_ENTRY });
      synthesized = synthesize(test.app, stack);
    });
    afterAll(() => dispose());

    it('bundles the Kinesis client, and imports what is loaded on demand only when it is used', () => {
      const bundle = code();
      // The Kinesis client's own code (its JSON protocol's target prefix) is in the bundle.
      expect(bundle).toContain('Kinesis_20131202');
      expect(bundle).not.toMatch(/from"@aws-sdk\/client-kinesis"/);
      // Secrets, dead letters to a queue, credentials from anywhere but the environment: dynamic
      // imports only, never a static one, which ESM would load at init.
      expect(bundle).toContain('import("@aws-sdk/client-ssm")');
      expect(bundle).toContain('import("@aws-sdk/client-sqs")');
      for (const module of ON_DEMAND_SDK_MODULES) {
        expect(bundle, module).not.toContain(`from"${module}"`);
        expect(bundle, module).not.toContain(`require("${module}")`);
      }
      expect(bundle).not.toContain('AmazonSSM.GetParameter');
    });
  });
});
