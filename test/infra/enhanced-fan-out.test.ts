import { Aspects, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks, type INagLogger, NagMessageLevel } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import pageViewCounts from '../../examples/page-view-counts.js';
import pageViews from '../../examples/page-views.js';
import { EddyPipeline, type EddyPipelineProps } from '../../infra/eddy-pipeline.js';
import { CONSUMER_READ_ACTIONS } from '../../infra/stage-function.js';
import {
  allowedPairs,
  type CfnResource,
  type CfnTemplate,
  functionOfStage,
  PAGE_VIEW_COUNTS_ENTRY,
  PAGE_VIEWS_ENTRY,
  referencedId,
  resourcesOfType,
  sorted,
  streamsByLogicalId,
  testApp,
  UNPREFIXED,
} from './support.js';

const ENV = { account: '123456789012', region: 'eu-west-1' };
const plan = pageViewCounts.plan();
const SOURCE_STAGE = 'from-clicks';
const WINDOW_STAGE = 'from-page-view-counts-keyBy-1';

/** A stack with the pipeline, synthesized without bundling (nothing here looks at the code). */
function synth(props: Partial<EddyPipelineProps> = {}): CfnTemplate {
  const { app, dispose } = testApp({ 'aws:cdk:bundling-stacks': [] });
  try {
    const stack = new Stack(app, 'Counts', { env: ENV });
    new EddyPipeline(stack, 'Pipeline', {
      ...UNPREFIXED,
      pipeline: pageViewCounts,
      pipelineEntry: PAGE_VIEW_COUNTS_ENTRY,
      ...props,
    });
    return Template.fromStack(stack).toJSON() as CfnTemplate;
  } finally {
    dispose();
  }
}

function mappingOf(json: CfnTemplate, stageId: string): CfnResource {
  const [functionId] = functionOfStage(json, stageId);
  const mappings = resourcesOfType(json, 'AWS::Lambda::EventSourceMapping').filter(
    ([, m]) => m.Properties.FunctionName !== undefined && referencedId(m.Properties.FunctionName) === functionId,
  );
  expect(mappings).toHaveLength(1);
  return (mappings[0] as [string, CfnResource])[1];
}

function roleOf(json: CfnTemplate, stageId: string): string {
  return referencedId(functionOfStage(json, stageId)[1].Properties.Role);
}

/** A role's allowed (action, resource) pairs, without those on the given resources. */
function pairsWithout(json: CfnTemplate, roleId: string, resources: readonly string[]): string[] {
  return [...allowedPairs(json, roleId)]
    .flatMap(([action, on]) => [...on].filter((r) => !resources.includes(r)).map((r) => `${action} ${r}`))
    .sort();
}

describe('EddyPipeline enhancedFanOut', () => {
  let polling: CfnTemplate;
  let json: CfnTemplate;
  let consumerId: string;
  let consumer: CfnResource;

  beforeAll(() => {
    polling = synth();
    json = synth({ enhancedFanOut: [WINDOW_STAGE] });
    const consumers = resourcesOfType(json, 'AWS::Kinesis::StreamConsumer');
    expect(consumers).toHaveLength(1);
    [consumerId, consumer] = consumers[0] as [string, CfnResource];
  });

  it('registers a consumer of the stage input stream, named after the pipeline and the stage', () => {
    expect(resourcesOfType(polling, 'AWS::Kinesis::StreamConsumer')).toHaveLength(0);
    const stage = plan.stages.find((s) => s.id === WINDOW_STAGE);
    const streams = streamsByLogicalId(json);
    expect(streams.get(referencedId(consumer.Properties.StreamARN))).toBe(stage?.input);
    expect(consumer.Properties.ConsumerName).toBe(`page-view-counts-${WINDOW_STAGE}`);
  });

  it("triggers the stage through the consumer's ARN, with the same mapping settings as polling", () => {
    const mapping = mappingOf(json, WINDOW_STAGE);
    expect(mapping.Properties.EventSourceArn).toEqual({ 'Fn::GetAtt': [consumerId, 'ConsumerARN'] });
    const { EventSourceArn: _efo, ...settings } = mapping.Properties;
    const { EventSourceArn: _polled, ...pollingSettings } = mappingOf(polling, WINDOW_STAGE).Properties;
    expect(settings).toEqual(pollingSettings);
    // The other stage still polls its stream, unchanged.
    expect(mappingOf(json, SOURCE_STAGE).Properties).toEqual(mappingOf(polling, SOURCE_STAGE).Properties);
    expect(streamsByLogicalId(json).get(referencedId(mappingOf(json, SOURCE_STAGE).Properties.EventSourceArn))).toBe(
      'clicks',
    );
  });

  it('lets the stage describe and subscribe through its own consumer, and nothing more than a polling stage', () => {
    const role = roleOf(json, WINDOW_STAGE);
    const onConsumer = [...allowedPairs(json, role)].filter(([, on]) => on.has(consumerId)).map(([action]) => action);
    expect(sorted(onConsumer)).toEqual(sorted(CONSUMER_READ_ACTIONS));
    expect(sorted(CONSUMER_READ_ACTIONS)).toEqual(['kinesis:DescribeStreamConsumer', 'kinesis:SubscribeToShard']);
    // Everything else the role may do is what the polling stage's role may do.
    expect(pairsWithout(json, role, [consumerId])).toEqual(pairsWithout(polling, roleOf(polling, WINDOW_STAGE), []));
    // No other role may use the consumer.
    for (const [roleId] of resourcesOfType(json, 'AWS::IAM::Role')) {
      if (roleId === role) continue;
      const uses = [...allowedPairs(json, roleId)].filter(([, on]) => on.has(consumerId));
      expect(uses, roleId).toEqual([]);
    }
    expect(pairsWithout(json, roleOf(json, SOURCE_STAGE), [])).toEqual(
      pairsWithout(polling, roleOf(polling, SOURCE_STAGE), []),
    );
  });

  it('with true, gives every stage a consumer of its own', () => {
    const all = synth({ enhancedFanOut: true });
    const names = resourcesOfType(all, 'AWS::Kinesis::StreamConsumer').map(([, c]) => c.Properties.ConsumerName);
    expect(sorted(names as string[])).toEqual(sorted(plan.stages.map((s) => `page-view-counts-${s.id}`)));
    for (const stage of plan.stages) {
      const arn = mappingOf(all, stage.id).Properties.EventSourceArn as { 'Fn::GetAtt': [string, string] };
      expect(arn['Fn::GetAtt'][1]).toBe('ConsumerARN');
    }
  });

  it('prefixes consumer names as streams are, and gives a new state generation new consumers', () => {
    const replay = synth({
      enhancedFanOut: true,
      streamNamePrefix: 'dev-',
      stateGeneration: 2,
      replayStartedAt: new Date('2026-01-01T00:00:00Z'),
    });
    const names = resourcesOfType(replay, 'AWS::Kinesis::StreamConsumer').map(([, c]) => c.Properties.ConsumerName);
    expect(sorted(names as string[])).toEqual(sorted(plan.stages.map((s) => `dev-page-view-counts-${s.id}-g2`)));
  });

  it('refuses a stage id the plan does not have', () => {
    expect(() => synth({ enhancedFanOut: ['from-nowhere'] })).toThrow(
      `enhancedFanOut: 'from-nowhere' is no stage of pipeline 'page-view-counts'; its stages are: ${plan.stages.map((s) => s.id).join(', ')}`,
    );
  });

  it.each([
    ['page-view-counts', () => pageViewCounts, PAGE_VIEW_COUNTS_ENTRY],
    ['page-views', () => pageViews, PAGE_VIEWS_ENTRY],
  ])(
    'leaves cdk-nag AwsSolutions with no finding on %s with every stage on enhanced fan-out',
    (_name, pipeline, entry) => {
      const { app, dispose } = testApp({ 'aws:cdk:bundling-stacks': [] });
      try {
        const stack = new Stack(app, 'Nagged', { env: ENV });
        new EddyPipeline(stack, 'Pipeline', {
          ...UNPREFIXED,
          pipeline: pipeline(),
          pipelineEntry: entry,
          enhancedFanOut: true,
        });
        // The template first: with findings, cdk-nag's error annotations make every later synthesis throw.
        const consumers = resourcesOfType(
          Template.fromStack(stack).toJSON() as CfnTemplate,
          'AWS::Kinesis::StreamConsumer',
        );
        expect(consumers).toHaveLength(pipeline().plan().stages.length);
        const findings: string[] = [];
        let applied = 0;
        const logger: INagLogger = {
          onCompliance: () => {
            applied += 1;
          },
          onNonCompliance: (data) => {
            const level = data.ruleLevel === NagMessageLevel.ERROR ? 'error' : 'warning';
            findings.push(`${level} ${data.ruleId}[${data.findingId}] on ${data.resource.node.path}`);
          },
          onSuppressed: () => undefined,
          onError: (data) =>
            findings.push(`rule error ${data.ruleId} on ${data.resource.node.path}: ${data.errorMessage}`),
          onSuppressedError: (data) => findings.push(`suppressed rule error ${data.ruleId}: ${data.errorMessage}`),
          onNotApplicable: () => undefined,
        };
        Aspects.of(stack).add(new AwsSolutionsChecks({ reports: false, additionalLoggers: [logger] }));
        try {
          app.synth({ force: true });
        } catch {
          // The findings say why.
        }
        expect(findings).toEqual([]);
        expect(applied).toBeGreaterThan(0);
      } finally {
        dispose();
      }
    },
  );
});
