import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { Stack } from 'aws-cdk-lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fraudAlerts from '../../examples/fraud-alerts.js';
import ordersPayments from '../../examples/orders-payments.js';
import pageViewCounts from '../../examples/page-view-counts.js';
import pageViewTable from '../../examples/page-view-table.js';
import pageViews from '../../examples/page-views.js';
import { EddyPipeline, handlerEntryOf } from '../../infra/eddy-pipeline.js';
import { ALL_SDK_MODULES, ON_DEMAND_SDK_MODULES, pipelineBundling } from '../../infra/stage-function.js';
import {
  type CfnTemplate,
  functionOfStage,
  PAGE_VIEW_COUNTS_ENTRY,
  PAGE_VIEWS_ENTRY,
  resourcesOfType,
  type Synthesized,
  synthesize,
  testApp,
  UNPREFIXED,
} from './support.js';

describe('how the functions are bundled', () => {
  it('bundles the AWS SDK but for what is loaded on demand, unless told otherwise', () => {
    expect(pipelineBundling(PAGE_VIEWS_ENTRY).externalModules).toEqual(ON_DEMAND_SDK_MODULES);
    expect(pipelineBundling(PAGE_VIEWS_ENTRY, { awsSdk: 'bundle' }).externalModules).toEqual([]);
    expect(pipelineBundling(PAGE_VIEWS_ENTRY, { awsSdk: 'runtime' }).externalModules).toEqual(ALL_SDK_MODULES);
    expect(ALL_SDK_MODULES).toEqual(['@aws-sdk/*', '@smithy/*']);
  });

  it('builds each stage from the entry point of its kind', () => {
    const entries = (p: typeof pageViews) =>
      Object.fromEntries(p.plan().stages.map((stage) => [stage.id, basename(handlerEntryOf(p.graph, stage))]));
    expect(entries(pageViewCounts)).toEqual({
      'from-clicks': 'stateless-stage-handler.ts',
      'from-page-view-counts-keyBy-1': 'window-stage-handler.ts',
    });
    expect(entries(ordersPayments)).toMatchObject({
      'from-orders': 'stateless-stage-handler.ts',
      'from-orders-with-payments-order-payment': 'join-stage-handler.ts',
    });
    expect(entries(fraudAlerts)).toMatchObject({ 'from-fraud-alerts-keyBy-1': 'process-stage-handler.ts' });
    expect(entries(pageViewTable)).toMatchObject({ 'from-page-view-table-keyBy-2': 'table-stage-handler.ts' });
    // Without a graph (a plan-only stand-in), the entry that runs every kind.
    const windowStage = pageViewCounts.plan().stages.find((stage) => stage.stateful);
    if (windowStage === undefined) throw new Error('page-view-counts has no stateful stage');
    expect(basename(handlerEntryOf(undefined, windowStage))).toBe('stage-handler.ts');
  });

  describe('the asset cdk synth builds', () => {
    let synthesized: Synthesized;
    /** page-views, deployed with `tracing: false`. */
    let untraced: Synthesized;
    let dispose: () => void;
    const code = (stageId = 'from-clicks', of: () => Synthesized = () => synthesized) => {
      const [, fn] = functionOfStage(of().json, stageId);
      const s3Key = (fn.Properties.Code as { S3Key: string }).S3Key;
      return readFileSync(join(of().assembly.directory, `asset.${s3Key.replace(/\.zip$/, '')}`, 'index.mjs'), 'utf8');
    };

    beforeAll(() => {
      const test = testApp();
      dispose = test.dispose;
      const stack = new Stack(test.app, 'PageViewCounts');
      new EddyPipeline(stack, 'Pipeline', {
        ...UNPREFIXED,
        pipeline: pageViewCounts,
        pipelineEntry: PAGE_VIEW_COUNTS_ENTRY,
      });
      const untracedStack = new Stack(test.app, 'PageViewsUntraced');
      new EddyPipeline(untracedStack, 'Pipeline', {
        ...UNPREFIXED,
        pipeline: pageViews,
        pipelineEntry: PAGE_VIEWS_ENTRY,
        tracing: false,
      });
      synthesized = synthesize(test.app, stack);
      untraced = synthesize(test.app, untracedStack);
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

    it('leaves DynamoDB out of the stages that keep no state and use no table', () => {
      const windowStage = pageViewCounts.plan().stages.find((stage) => stage.stateful)?.id ?? '';
      // The DynamoDB client's own code (its JSON protocol's target prefix) and Eddy's window store.
      expect(code('from-clicks')).not.toContain('DynamoDB_20120810');
      expect(code(windowStage)).toContain('DynamoDB_20120810');
      expect(code(windowStage)).not.toMatch(/from"@aws-sdk\/client-dynamodb"/);
    });

    it('leaves the stateful operators out of a stateless stage, and the other kinds out of a stateful one', () => {
      const windowStage = pageViewCounts.plan().stages.find((stage) => stage.stateful)?.id ?? '';
      // Error messages of the window stage and of the join stage: minifying keeps them.
      const windowCode = "cannot be stored with this batch's records of it";
      const joinCode = 'record on the join stream has no side';
      expect(code('from-clicks')).not.toContain(windowCode);
      expect(code('from-clicks')).not.toContain(joinCode);
      expect(code(windowStage)).toContain(windowCode);
      expect(code(windowStage)).not.toContain(joinCode);
    });

    it('leaves the X-Ray SDK and X-Ray out of functions deployed with tracing off', () => {
      // The X-Ray SDK's own code reads its daemon's address.
      expect(code('from-clicks')).toContain('AWS_XRAY_DAEMON_ADDRESS');
      for (const stageId of pageViews.plan().stages.map((stage) => stage.id)) {
        const bundle = code(stageId, () => untraced);
        expect(bundle, stageId).not.toContain('AWS_XRAY_DAEMON_ADDRESS');
        expect(bundle, stageId).not.toContain('aws-xray-sdk');
        // Its stand-in still runs the handler as Powertools' tracer would (test/unit/runtime/untraced-tracer.test.ts).
        expect(bundle, stageId).toContain('_X_AMZN_TRACE_ID');
      }
      const functions = resourcesOfType(untraced.json, 'AWS::Lambda::Function');
      expect(functions.length).toBeGreaterThan(0);
      for (const [id, fn] of functions) expect(fn.Properties.TracingConfig, id).toBeUndefined();
      expect(xrayActions(untraced.json)).toEqual([]);
      expect(xrayActions(synthesized.json)).not.toEqual([]);
    });
  });
});

/** Every X-Ray action any policy of the template allows. */
function xrayActions(json: CfnTemplate): string[] {
  return resourcesOfType(json, 'AWS::IAM::Policy').flatMap(([, policy]) =>
    (policy.Properties.PolicyDocument as { Statement: { Action: string | string[] }[] }).Statement.flatMap(
      (statement) => [statement.Action].flat().filter((action) => action.startsWith('xray:')),
    ),
  );
}
