import { Stack } from 'aws-cdk-lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pageViewCounts from '../../examples/page-view-counts.js';
import { EddyPipeline, type EddyPipelineProps } from '../../infra/eddy-pipeline.js';
import { EddyPipelineStack } from '../../infra/pipeline-stack.js';
import {
  type CfnResource,
  type CfnTemplate,
  functionOfStage,
  onlyResourceOfType,
  PAGE_VIEW_COUNTS_ENTRY,
  referencedId,
  resourcesOfType,
  synthesize,
  testApp,
  UNPREFIXED,
} from './support.js';

const SOURCE_STAGE = 'from-clicks';
const WINDOWED_STAGE = 'from-page-view-counts-keyBy-1';
const REPLAY_FROM = new Date('2026-03-01T12:00:00.000Z');
const STARTED_AT = new Date('2026-03-02T08:30:00.000Z');

function synth(props: Partial<EddyPipelineProps>): { json: CfnTemplate; dispose: () => void } {
  // No bundling: nothing here looks at the functions' code.
  const test = testApp({ 'aws:cdk:bundling-stacks': [] });
  const stack = new EddyPipelineStack(test.app, 'Eddy-page-view-counts', {
    ...UNPREFIXED,
    pipeline: pageViewCounts,
    pipelineEntry: PAGE_VIEW_COUNTS_ENTRY,
    ...props,
  });
  return { json: synthesize(test.app, stack).json, dispose: test.dispose };
}

/** The event source mapping of a stage: its logical id and properties. */
function mappingOf(json: CfnTemplate, stageId: string): [string, CfnResource] {
  const [functionId] = functionOfStage(json, stageId);
  const matches = resourcesOfType(json, 'AWS::Lambda::EventSourceMapping').filter(
    ([, mapping]) => referencedId(mapping.Properties.FunctionName) === functionId,
  );
  expect(matches).toHaveLength(1);
  return matches[0] as [string, CfnResource];
}

function tableName(json: CfnTemplate): unknown {
  return onlyResourceOfType(json, 'AWS::DynamoDB::GlobalTable')[1].Properties.TableName;
}

/**
 * A replay in the cloud (docs/reliability.md, "Replay"): a new state generation is a new table and
 * new event source mappings, the source stages starting at the replay's position, the stages after
 * them at the replay's start, so that they read only what the new generation writes.
 */
describe('EddyPipeline state generations (replay)', () => {
  let generation0: CfnTemplate;
  let generation2: CfnTemplate;
  const disposers: (() => void)[] = [];
  beforeAll(() => {
    const first = synth({});
    const replay = synth({
      stateGeneration: 2,
      startingPosition: 'AT_TIMESTAMP',
      startingPositionTimestamp: REPLAY_FROM,
      replayStartedAt: STARTED_AT,
    });
    disposers.push(first.dispose, replay.dispose);
    generation0 = first.json;
    generation2 = replay.json;
  });
  afterAll(() => {
    for (const dispose of disposers) dispose();
  });

  it('generation 2 keeps its windows in a new table, <table>-g2, which its windowed stage uses', () => {
    expect(tableName(generation0)).toBe('page-view-counts-state');
    expect(tableName(generation2)).toBe('page-view-counts-state-g2');
    const [, windowed] = functionOfStage(generation2, WINDOWED_STAGE);
    const variables = (windowed.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(referencedId(variables.EDDY_STATE_TABLE)).toBe(
      onlyResourceOfType(generation2, 'AWS::DynamoDB::GlobalTable')[0],
    );
  });

  it('generation 2 has new mappings: the source stage AT_TIMESTAMP the replay’s point, the next stage AT_TIMESTAMP its start', () => {
    const [sourceId, source] = mappingOf(generation2, SOURCE_STAGE);
    const [windowedId, windowed] = mappingOf(generation2, WINDOWED_STAGE);
    expect(source.Properties).toMatchObject({
      StartingPosition: 'AT_TIMESTAMP',
      StartingPositionTimestamp: REPLAY_FROM.getTime() / 1000,
      BatchSize: 500,
      BisectBatchOnFunctionError: true,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
    expect(windowed.Properties).toMatchObject({
      StartingPosition: 'AT_TIMESTAMP',
      StartingPositionTimestamp: STARTED_AT.getTime() / 1000,
    });
    // New logical ids: CloudFormation creates the mappings (no checkpoints) and deletes the old ones.
    const oldIds = [mappingOf(generation0, SOURCE_STAGE)[0], mappingOf(generation0, WINDOWED_STAGE)[0]];
    expect(oldIds).not.toContain(sourceId);
    expect(oldIds).not.toContain(windowedId);
    expect(mappingOf(generation0, SOURCE_STAGE)[1].Properties).toMatchObject({ StartingPosition: 'TRIM_HORIZON' });
    expect(mappingOf(generation0, SOURCE_STAGE)[1].Properties.StartingPositionTimestamp).toBeUndefined();
  });

  it('refuses inconsistent replay props, naming what is missing', () => {
    const construct = (props: Partial<EddyPipelineProps>) => () =>
      new EddyPipeline(new Stack(), 'Pipeline', {
        pipeline: pageViewCounts,
        pipelineEntry: PAGE_VIEW_COUNTS_ENTRY,
        ...props,
      });
    expect(construct({ stateGeneration: 1, startingPosition: 'TRIM_HORIZON' })).toThrow(/needs replayStartedAt/);
    expect(construct({ stateGeneration: -1 })).toThrow(/whole number from 0/);
    expect(construct({ startingPosition: 'AT_TIMESTAMP' })).toThrow(/startingPositionTimestamp/);
    expect(construct({ startingPositionTimestamp: REPLAY_FROM })).toThrow(/startingPositionTimestamp/);
    expect(construct({ replayStartedAt: STARTED_AT })).toThrow(/stateGeneration above 0/);
  });
});
