import { fileURLToPath } from 'node:url';
import { type CfnElement, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pageViewCounts from '../../examples/page-view-counts.js';
import { EddyPipeline } from '../../infra/eddy-pipeline.js';
import clock from './fixtures/clock-pipeline.js';
import sensors from './fixtures/idle-pipeline.js';
import watchdog from './fixtures/timer-pipeline.js';
import { PAGE_VIEW_COUNTS_ENTRY, synthesize, testApp, UNPREFIXED } from './support.js';

const IDLE_ENTRY = fileURLToPath(new URL('./fixtures/idle-pipeline.ts', import.meta.url));
const CLOCK_ENTRY = fileURLToPath(new URL('./fixtures/clock-pipeline.ts', import.meta.url));
const TIMER_ENTRY = fileURLToPath(new URL('./fixtures/timer-pipeline.ts', import.meta.url));

/** Nothing here looks at the functions' code: synthesized without bundling it (esbuild per function). */
const NO_BUNDLING = { 'aws:cdk:bundling-stacks': [] };

interface Statement {
  Action: string | string[];
  Resource: unknown;
}

describe('EddyPipeline with a source that may go idle', () => {
  let template: Template;
  let dispose: () => void;
  let pipeline: EddyPipeline;

  beforeAll(() => {
    const test = testApp(NO_BUNDLING);
    dispose = test.dispose;
    const stack = new Stack(test.app, 'Sensors');
    pipeline = new EddyPipeline(stack, 'Pipeline', { ...UNPREFIXED, pipeline: sensors, pipelineEntry: IDLE_ENTRY });
    template = synthesize(test.app, stack).template;
  });
  afterAll(() => dispose());

  it('schedules the idle-shard check every minute', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 minute)',
      State: 'ENABLED',
      Targets: [Match.objectLike({ Arn: Match.anyValue() })],
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs22.x',
      Description: Match.stringLikeRegexp('marks idle source shards'),
      Environment: { Variables: Match.objectLike({ EDDY_STREAM_PREFIX: '' }) },
    });
  });

  it('maps stack traces to the sources in no function unless asked (Node parses the maps at load)', () => {
    const functions = Object.values(template.findResources('AWS::Lambda::Function')) as {
      Properties: { Environment?: { Variables?: Record<string, unknown> } };
    }[];
    expect(functions.length).toBeGreaterThanOrEqual(3);
    for (const fn of functions) expect(fn.Properties.Environment?.Variables ?? {}).not.toHaveProperty('NODE_OPTIONS');
  });

  it('maps stack traces in every function, the idle-shard check too, with sourceMapStackTraces', () => {
    const test = testApp(NO_BUNDLING);
    try {
      const stack = new Stack(test.app, 'SensorsMapped');
      new EddyPipeline(stack, 'Pipeline', {
        ...UNPREFIXED,
        pipeline: sensors,
        pipelineEntry: IDLE_ENTRY,
        sourceMapStackTraces: true,
      });
      const functions = Object.values(synthesize(test.app, stack).template.findResources('AWS::Lambda::Function')) as {
        Properties: { Environment: { Variables: Record<string, unknown> } };
      }[];
      const withMaps = functions.filter(
        (fn) => fn.Properties.Environment.Variables.NODE_OPTIONS === '--enable-source-maps',
      );
      expect(withMaps.length).toBe(functions.length);
      expect(functions.length).toBeGreaterThanOrEqual(3);
    } finally {
      test.dispose();
    }
  });

  it('lets the check read only the source stream and write only the shuffle stream', () => {
    const roleId = template.findResources('AWS::IAM::Role', {
      Properties: { Description: Match.stringLikeRegexp('idle-shard check') },
    });
    const [role] = Object.keys(roleId);
    const policies = Object.values(
      template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: role }] } }),
    ) as { Properties: { PolicyDocument: { Statement: Statement[] } } }[];
    const statements = policies.flatMap((p) => p.Properties.PolicyDocument.Statement);
    const kinesis = statements.filter((s) => [s.Action].flat().some((a) => a.startsWith('kinesis:')));
    const streamsOf = (action: string) =>
      kinesis.filter((s) => [s.Action].flat().includes(action)).map((s) => JSON.stringify(s.Resource));
    const streamId = (name: string) =>
      Object.entries(template.findResources('AWS::Kinesis::Stream')).find(
        ([, r]) => (r as { Properties: { Name: string } }).Properties.Name === name,
      )?.[0];
    expect(streamsOf('kinesis:PutRecords').join()).toContain(streamId('sensors-keyBy-1'));
    expect(streamsOf('kinesis:PutRecords').join()).not.toContain(streamId('readings'));
    expect(streamsOf('kinesis:GetRecords').join()).toContain(streamId('readings'));
    expect(streamsOf('kinesis:GetRecords').join()).not.toContain(streamId('sensors-keyBy-1'));
    expect(statements.some((s) => [s.Action].flat().some((a) => a.startsWith('dynamodb:')))).toBe(false);
    expect(pipeline.idleness).toBeDefined();
  });

  it('schedules the clock for processing-time windows: it may write only their input stream', () => {
    const test = testApp(NO_BUNDLING);
    const stack = new Stack(test.app, 'Meters');
    const meters = new EddyPipeline(stack, 'Pipeline', { ...UNPREFIXED, pipeline: clock, pipelineEntry: CLOCK_ENTRY });
    const template = synthesize(test.app, stack).template;

    template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(1 minute)' });
    const policies = Object.values(
      template.findResources('AWS::IAM::Policy', {
        Properties: { Roles: [{ Ref: stack.getLogicalId(meters.idleness?.role.node.defaultChild as CfnElement) }] },
      }),
    ) as { Properties: { PolicyDocument: { Statement: Statement[] } } }[];
    const kinesis = policies
      .flatMap((p) => p.Properties.PolicyDocument.Statement)
      .filter((s) => [s.Action].flat().some((a) => a.startsWith('kinesis:')));
    expect(kinesis.map((s) => [s.Action].flat().sort())).toEqual([['kinesis:ListShards', 'kinesis:PutRecords']]);
    const shuffle = meters.streams.get('meters-keyBy-1');
    expect(JSON.stringify(kinesis[0]?.Resource)).toContain(
      stack.getLogicalId(shuffle?.node.defaultChild as CfnElement),
    );
    test.dispose();
  });

  it('gives a process function with processing-time timers the state table and the clock', () => {
    const test = testApp(NO_BUNDLING);
    const stack = new Stack(test.app, 'Watchdog');
    const watched = new EddyPipeline(stack, 'Pipeline', {
      ...UNPREFIXED,
      pipeline: watchdog,
      pipelineEntry: TIMER_ENTRY,
    });
    const template = synthesize(test.app, stack).template;

    template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(1 minute)' });
    expect(watched.stateTable).toBeDefined();
    const policies = Object.values(template.findResources('AWS::IAM::Policy')) as {
      Properties: { PolicyDocument: { Statement: Statement[] } };
    }[];
    const dynamo = policies
      .flatMap((p) => p.Properties.PolicyDocument.Statement)
      .filter((s) => [s.Action].flat().some((a) => a.startsWith('dynamodb:')));
    expect(dynamo.length).toBeGreaterThan(0);
    const idlenessPolicies = Object.values(
      template.findResources('AWS::IAM::Policy', {
        Properties: { Roles: [{ Ref: stack.getLogicalId(watched.idleness?.role.node.defaultChild as CfnElement) }] },
      }),
    ) as { Properties: { PolicyDocument: { Statement: Statement[] } } }[];
    const shuffle = watched.streams.get('watchdog-keyBy-1');
    expect(JSON.stringify(idlenessPolicies.map((p) => p.Properties.PolicyDocument.Statement))).toContain(
      stack.getLogicalId(shuffle?.node.defaultChild as CfnElement),
    );
    test.dispose();
  });

  it('adds no check to a pipeline whose sources have no idleTimeout', () => {
    const test = testApp(NO_BUNDLING);
    const stack = new Stack(test.app, 'Counts');
    const counts = new EddyPipeline(stack, 'Pipeline', {
      ...UNPREFIXED,
      pipeline: pageViewCounts,
      pipelineEntry: PAGE_VIEW_COUNTS_ENTRY,
    });
    Template.fromStack(stack).resourceCountIs('AWS::Events::Rule', 0);
    expect(counts.idleness).toBeUndefined();
    test.dispose();
  });
});
