import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Stack } from 'aws-cdk-lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EddyPipeline } from '../../infra/eddy-pipeline.js';
import shop from './fixtures/fan-out-pipeline.js';
import { expectLeastPrivilege } from './least-privilege.js';
import {
  type CfnTemplate,
  FAN_OUT_ENTRY,
  functionOfStage,
  mappingInputs,
  resourcesOfType,
  type Synthesized,
  synthesize,
  testApp,
  UNPREFIXED,
} from './support.js';

const plan = shop.plan();

describe('EddyPipeline with two sources, a fan-out and per-stage event source settings', () => {
  let synthesized: Synthesized;
  let json: CfnTemplate;
  let dispose: () => void;

  beforeAll(() => {
    const test = testApp();
    dispose = test.dispose;
    const stack = new Stack(test.app, 'Shop');
    new EddyPipeline(stack, 'Pipeline', { ...UNPREFIXED, pipeline: shop, pipelineEntry: FAN_OUT_ENTRY });
    synthesized = synthesize(test.app, stack);
    json = synthesized.json;
  });
  afterAll(() => dispose());

  it('plans what the fixture describes (so that the assertions below test something)', () => {
    expect(plan.stages.map((stage) => stage.id)).toEqual([
      'from-orders',
      'from-orders-by-customer',
      'from-refunds',
      'from-shop-keyBy-2',
    ]);
    expect(plan.stages[0]?.outputs).toEqual(['big-orders', 'orders-by-customer', 'shop-failures']);
  });

  it('creates one stream per stream of the plan with its shard count', () => {
    const streams = resourcesOfType(json, 'AWS::Kinesis::Stream').map(([, s]) => [
      s.Properties.Name,
      s.Properties.ShardCount,
    ]);
    expect(Object.fromEntries(streams)).toEqual({
      orders: 3,
      'big-orders': 2,
      'orders-by-customer': 2,
      'customer-amounts': 2,
      refunds: 2,
      'shop-keyBy-2': 2,
      'refunds-by-order': 1,
      'shop-failures': 2,
    });
  });

  it('creates one function and one mapping per stage, each triggered by its input stream', () => {
    synthesized.template.resourceCountIs('AWS::Lambda::Function', plan.stages.length);
    synthesized.template.resourceCountIs('AWS::Lambda::EventSourceMapping', plan.stages.length);
    expect(Object.fromEntries(mappingInputs(json))).toEqual(
      Object.fromEntries(plan.stages.map((s) => [s.id, s.input])),
    );
  });

  it('maps every event source setting, including overrides and a bounded record age', () => {
    const [functionId] = functionOfStage(json, 'from-shop-keyBy-2');
    synthesized.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: functionId },
      BatchSize: 100,
      MaximumBatchingWindowInSeconds: 0,
      ParallelizationFactor: 4,
      BisectBatchOnFunctionError: false,
      MaximumRetryAttempts: -1,
      MaximumRecordAgeInSeconds: 3600,
      StartingPosition: 'LATEST',
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
    const unbounded = resourcesOfType(json, 'AWS::Lambda::EventSourceMapping').filter(
      ([, mapping]) => mapping.Properties.MaximumRecordAgeInSeconds === undefined,
    );
    expect(unbounded).toHaveLength(3);
  });

  it('gives each function access to its own input and outputs only', () => {
    const queues = resourcesOfType(json, 'AWS::SQS::Queue');
    expect(queues).toHaveLength(1);
    expectLeastPrivilege(json, { plan, queueId: (queues[0] as [string, unknown])[0] });
  });

  it('bundles this pipeline, not the example, into the functions', () => {
    const [, fn] = functionOfStage(json, 'from-orders');
    const s3Key = (fn.Properties.Code as { S3Key: string }).S3Key;
    const code = readFileSync(
      join(synthesized.assembly.directory, `asset.${s3Key.replace(/\.zip$/, '')}`, 'index.mjs'),
      'utf8',
    );
    expect(code).toContain('refunds-by-order');
    expect(code).not.toContain('page-views-by-page');
  });
});
