import { fileURLToPath } from 'node:url';
import { Stack } from 'aws-cdk-lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EddyPipeline } from '../../infra/eddy-pipeline.js';
import libraryOperators from '../e2e/fixtures/library-operators.js';
import { expectLeastPrivilege } from './least-privilege.js';
import { type CfnTemplate, mappingInputs, onlyResourceOfType, synthesize, testApp, UNPREFIXED } from './support.js';

const ENTRY = fileURLToPath(new URL('../e2e/fixtures/library-operators.ts', import.meta.url));

describe('EddyPipeline with two dedupes on one keyed stream', () => {
  let json: CfnTemplate;
  let dispose: () => void;

  beforeAll(() => {
    // No bundling: nothing here looks at the functions' code.
    const test = testApp({ 'aws:cdk:bundling-stacks': [] });
    dispose = test.dispose;
    const stack = new Stack(test.app, 'Library');
    new EddyPipeline(stack, 'Pipeline', { ...UNPREFIXED, pipeline: libraryOperators, pipelineEntry: ENTRY });
    json = synthesize(test.app, stack).json;
  });
  afterAll(() => dispose());

  it('gives each dedupe a function and a mapping of its own on the shuffle stream', () => {
    expect(Object.fromEntries(mappingInputs(json))).toEqual({
      'from-visits': 'visits',
      'from-library-operators-by-user': 'library-operators-by-user',
      'from-library-operators-by-user-first-page': 'library-operators-by-user',
      'from-library-operators-by-page': 'library-operators-by-page',
    });
  });

  it('lets each stage read its own input and keep state, nothing more', () => {
    const [tableId] = onlyResourceOfType(json, 'AWS::DynamoDB::GlobalTable');
    const [queueId] = onlyResourceOfType(json, 'AWS::SQS::Queue');
    expectLeastPrivilege(json, { plan: libraryOperators.plan(), queueId, tableId });
  });
});
