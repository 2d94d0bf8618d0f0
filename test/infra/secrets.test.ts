import { fileURLToPath } from 'node:url';
import { Aspects, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks, type INagLogger, NagMessageLevel } from 'cdk-nag';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EddyPipeline } from '../../infra/eddy-pipeline.js';
import tokenized, { SHARED_SALT } from './fixtures/tokenized-pipeline.js';
import { expectLeastPrivilege, expectNoWildcards } from './least-privilege.js';
import {
  allowedPairs,
  type CfnTemplate,
  functionOfStage,
  onlyResourceOfType,
  referencedId,
  resourcesOfType,
  testApp,
  UNPREFIXED,
} from './support.js';

const ENTRY = fileURLToPath(new URL('./fixtures/tokenized-pipeline.ts', import.meta.url));
const parameterArn = (name: string) =>
  `arn:\${AWS::Partition}:ssm:\${AWS::Region}:\${AWS::AccountId}:parameter/${name}`;

describe('EddyPipeline with a pipeline whose operators read secrets', () => {
  let json: CfnTemplate;
  const findings: string[] = [];
  /** Rules that ran on some resource, compliant, suppressed or not. */
  const ran = new Set<string>();
  let dispose: () => void;

  beforeAll(() => {
    // No bundling: the grants and the rules look at the template, not at the code.
    const test = testApp({ 'aws:cdk:bundling-stacks': [] });
    dispose = test.dispose;
    const stack = new Stack(test.app, 'Tokenized');
    new EddyPipeline(stack, 'Pipeline', { ...UNPREFIXED, pipeline: tokenized, pipelineEntry: ENTRY });
    json = Template.fromStack(stack).toJSON() as CfnTemplate;
    const logger: INagLogger = {
      onCompliance: (data) => ran.add(data.ruleId),
      onNonCompliance: (data) => {
        ran.add(data.ruleId);
        const level = data.ruleLevel === NagMessageLevel.ERROR ? 'error' : 'warning';
        findings.push(`${level} ${data.ruleId}[${data.findingId}] on ${data.resource.node.path}: ${data.ruleInfo}`);
      },
      onSuppressed: (data) => ran.add(data.ruleId),
      onError: (data) => findings.push(`rule error ${data.ruleId} on ${data.resource.node.path}: ${data.errorMessage}`),
      onSuppressedError: () => undefined,
      onNotApplicable: () => undefined,
    };
    Aspects.of(stack).add(new AwsSolutionsChecks({ reports: false, additionalLoggers: [logger] }));
    try {
      test.app.synth({ force: true });
    } catch {
      // With findings, cdk-nag's annotations fail synthesis; the findings say why.
    }
  });
  afterAll(() => dispose());

  it('lets each stage function GetParameter exactly the parameters its own operators read', () => {
    // Prepare
    const [first, second] = tokenized.plan().stages.map((stage) => stage.id);
    const parameters = (stageId: string | undefined) => {
      const [, fn] = functionOfStage(json, stageId ?? '');
      return allowedPairs(json, referencedId(fn.Properties.Role));
    };

    // Act
    const firstPairs = parameters(first);
    const secondPairs = parameters(second);

    // Assess
    expect([...(firstPairs.get('ssm:GetParameter') ?? [])]).toEqual([parameterArn('eddy/token-key')]);
    // A pinned version reads the same parameter; a shared parameter is granted by its ARN.
    expect([...(secondPairs.get('ssm:GetParameter') ?? [])].sort()).toEqual(
      [parameterArn('eddy/page-key'), SHARED_SALT].sort(),
    );
    for (const pairs of [firstPairs, secondPairs]) {
      expect([...pairs.keys()].filter((action) => action.startsWith('ssm:'))).toEqual(['ssm:GetParameter']);
      // A SecureString under the AWS managed key alias/aws/ssm needs no KMS permission of the function.
      expect([...pairs.keys()].filter((action) => action.startsWith('kms:'))).toEqual([]);
    }
  });

  it('keeps every other permission as least privilege demands, and no wildcard', () => {
    const [first, second] = tokenized.plan().stages.map((stage) => stage.id);
    expectLeastPrivilege(json, {
      plan: tokenized.plan(),
      queueId: onlyResourceOfType(json, 'AWS::SQS::Queue')[0],
      parameters: {
        [first ?? '']: [parameterArn('eddy/token-key')],
        [second ?? '']: [parameterArn('eddy/page-key'), SHARED_SALT],
      },
    });
    expectNoWildcards(json);
  });

  it('puts no secret, and no secret name, in any function environment', () => {
    for (const [, fn] of resourcesOfType(json, 'AWS::Lambda::Function')) {
      const variables = JSON.stringify((fn.Properties.Environment as { Variables?: unknown } | undefined)?.Variables);
      expect(variables).not.toMatch(/EDDY_SECRET|token-key|page-key|salt/);
    }
  });

  it('passes cdk-nag AwsSolutions with the same suppressions as any pipeline', () => {
    expect(findings).toEqual([]);
    // The policies with the new statements were looked at: IAM5 judges their resources.
    expect(ran).toContain('AwsSolutions-IAM5');
  });
});
