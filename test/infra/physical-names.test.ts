import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CfnTemplate } from './support.js';
import { stackNames, synthApp } from './synth-app.js';

/** The properties that carry a resource's physical name, by resource type. */
const NAME_PROPERTIES: Readonly<Record<string, string>> = {
  'AWS::Kinesis::Stream': 'Name',
  'AWS::Kinesis::StreamConsumer': 'ConsumerName',
  'AWS::DynamoDB::Table': 'TableName',
  'AWS::DynamoDB::GlobalTable': 'TableName',
  'AWS::SQS::Queue': 'QueueName',
  'AWS::Lambda::Function': 'FunctionName',
};

/** Example apps deployed side by side into one account and region: the page views in two stages too. */
const DEPLOYMENTS: readonly Record<string, string>[] = [
  { pipeline: 'examples/page-views.ts' },
  { pipeline: 'examples/page-views.ts', stage: 'dev' },
  { pipeline: 'examples/page-views.ts', stage: 'prod' },
  { pipeline: 'examples/page-view-counts.ts', stage: 'dev' },
  { pipeline: 'examples/views-by-country.ts' },
  { pipeline: 'examples/orders-payments.ts' },
  { pipeline: 'examples/nexmark/q0.ts' },
  { pipeline: 'examples/nexmark/q3.ts' },
  { pipeline: 'examples/nexmark/q5.ts' },
  { pipeline: 'test/e2e/fixtures/plans-external.ts', stage: 'prod' },
];

interface Deployment {
  readonly stack: string;
  /** `<type> <physical name>`; resources without an explicit name get one from CloudFormation, unique per stack. */
  readonly names: string[];
  readonly template: string;
}

const deployments: Deployment[] = [];

describe('physical names of deployments side by side', () => {
  for (const context of DEPLOYMENTS) {
    it(`synthesizes ${context.pipeline}${context.stage === undefined ? '' : ` in stage ${context.stage}`}`, async () => {
      const { outdir } = await synthApp(context);
      const [stack, ...others] = stackNames(outdir);
      expect(others).toEqual([]);
      if (stack === undefined) throw new Error(`no stack synthesized for ${JSON.stringify(context)}`);
      const template = readFileSync(join(outdir, `${stack}.template.json`), 'utf8');
      const json = JSON.parse(template) as CfnTemplate;
      const names = Object.values(json.Resources).flatMap((resource) => {
        const property = NAME_PROPERTIES[resource.Type];
        const name = property === undefined ? undefined : resource.Properties?.[property];
        return typeof name === 'string' ? [`${resource.Type} ${name}`] : [];
      });
      deployments.push({ stack, names, template });
      // A deadline per synthesis (a loaded machine took up to 40 s), not on the whole file.
    });
  }

  it('shares no stack, stream, table, queue or function name between any two of them', () => {
    expect(deployments).toHaveLength(DEPLOYMENTS.length);
    const owners = new Map<string, string[]>();
    for (const { stack, names } of deployments) {
      for (const name of [`stack ${stack}`, ...names]) owners.set(name, [...(owners.get(name) ?? []), stack]);
    }
    const shared = [...owners].filter(([, stacks]) => stacks.length > 1);
    expect(shared).toEqual([]);
    // Every example has a stream, and the two stages of page-views name them apart.
    expect(deployments.every((d) => d.names.some((n) => n.startsWith('AWS::Kinesis::Stream ')))).toBe(true);
    expect(owners.has('AWS::Kinesis::Stream dev_page-views-clicks')).toBe(true);
    expect(owners.has('AWS::Kinesis::Stream prod_page-views-clicks')).toBe(true);
    expect(owners.has('AWS::Kinesis::Stream page-views-clicks')).toBe(true);
  });

  it('keeps the name of an external table as the pipeline gives it', () => {
    const external = deployments.find((d) => d.stack === 'Eddy-prod-priced-signups');
    expect(external?.template).toContain(':table/eddy-e2e-plans');
    expect(external?.names.some((n) => n.includes('eddy-e2e-plans'))).toBe(false);
  });
});
