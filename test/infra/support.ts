import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { App, type Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { CloudAssembly } from 'aws-cdk-lib/cx-api';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const PAGE_VIEWS_ENTRY = join(REPO_ROOT, 'examples/page-views.ts');
export const PAGE_VIEW_COUNTS_ENTRY = join(REPO_ROOT, 'examples/page-view-counts.ts');
export const FAN_OUT_ENTRY = fileURLToPath(new URL('./fixtures/fan-out-pipeline.ts', import.meta.url));

/** The feature flags of cdk.json, so that tests synthesize what `cdk synth` does. */
export function cdkJsonContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(join(REPO_ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> };
  return cdkJson.context;
}

/** An App writing to a temporary folder; `dispose` removes it. */
export function testApp(extraContext: Record<string, unknown> = {}): { app: App; dispose: () => void } {
  const outdir = mkdtempSync(join(tmpdir(), 'eddy-infra-test-'));
  const app = new App({ outdir, context: { ...cdkJsonContext(), ...extraContext } });
  return { app, dispose: () => rmSync(outdir, { recursive: true, force: true }) };
}

export interface Synthesized {
  readonly template: Template;
  readonly json: CfnTemplate;
  readonly assembly: CloudAssembly;
}

export function synthesize(app: App, stack: Stack): Synthesized {
  const assembly = app.synth();
  const template = Template.fromStack(stack);
  return { template, json: template.toJSON() as CfnTemplate, assembly };
}

export interface CfnResource {
  readonly Type: string;
  readonly Properties: Record<string, unknown>;
  readonly DependsOn?: string[];
  readonly Metadata?: Record<string, unknown>;
}

export interface CfnTemplate {
  readonly Resources: Record<string, CfnResource>;
  readonly Outputs?: Record<string, { Value: unknown; Description?: string }>;
}

export function resourcesOfType(json: CfnTemplate, type: string): [string, CfnResource][] {
  return Object.entries(json.Resources).filter(([, resource]) => resource.Type === type);
}

/**
 * Logical id of the resource a `Ref` or `Fn::GetAtt` points to, or the literal string (such as '*').
 * A reference joined with literal suffixes (`<table ARN>/index/<name>`) gives the id with the suffixes.
 */
export function referencedId(value: unknown): string {
  if (typeof value === 'string') return value;
  const ref = value as { Ref?: string; 'Fn::GetAtt'?: [string, string]; 'Fn::Join'?: [string, unknown[]] };
  if (ref.Ref !== undefined) return ref.Ref;
  if (ref['Fn::GetAtt'] !== undefined) return ref['Fn::GetAtt'][0];
  const join = ref['Fn::Join'];
  if (join !== undefined && join[0] === '' && join[1].length > 1) {
    const [first, ...rest] = join[1];
    if (typeof first !== 'string' && rest.every((part) => typeof part === 'string')) {
      return referencedId(first) + rest.join('');
    }
    // An ARN made of text and pseudo parameters (Stack.formatArn): `arn:${AWS::Partition}:ssm:...`.
    const pseudo = (part: unknown) => (part as { Ref?: unknown }).Ref?.toString().startsWith('AWS::') === true;
    if (join[1].every((part) => typeof part === 'string' || pseudo(part))) {
      return join[1].map((part) => (typeof part === 'string' ? part : `\${${(part as { Ref: string }).Ref}}`)).join('');
    }
  }
  throw new Error(`unexpected reference ${JSON.stringify(value)}`);
}

/** Logical stream name (physical name without the prefix) by the stream's logical id. */
export function streamsByLogicalId(json: CfnTemplate, prefix = ''): Map<string, string> {
  const streams = new Map<string, string>();
  for (const [id, resource] of resourcesOfType(json, 'AWS::Kinesis::Stream')) {
    const name = resource.Properties.Name as string;
    if (!name.startsWith(prefix)) throw new Error(`stream ${name} lacks the prefix '${prefix}'`);
    streams.set(id, name.slice(prefix.length));
  }
  return streams;
}

/** Each event source mapping as its function's stage id and the logical name of the stream it reads. */
export function mappingInputs(json: CfnTemplate): [string, string | undefined][] {
  const streams = streamsByLogicalId(json);
  return resourcesOfType(json, 'AWS::Lambda::EventSourceMapping').map(([, mapping]) => {
    const fn = json.Resources[referencedId(mapping.Properties.FunctionName)];
    if (fn === undefined) throw new Error('the mapping names no function of the template');
    const stageId = (fn.Properties.Environment as { Variables: Record<string, string> }).Variables.EDDY_STAGE_ID;
    return [stageId as string, streams.get(referencedId(mapping.Properties.EventSourceArn))];
  });
}

/** The logical id of the one resource of a type; throws when there are none or several. */
export function onlyResourceOfType(json: CfnTemplate, type: string): [string, CfnResource] {
  const matches = resourcesOfType(json, type);
  if (matches.length !== 1) throw new Error(`expected one ${type}, found ${matches.length}`);
  return matches[0] as [string, CfnResource];
}

/** The function whose EDDY_STAGE_ID is the stage. */
export function functionOfStage(json: CfnTemplate, stageId: string): [string, CfnResource] {
  const matches = resourcesOfType(json, 'AWS::Lambda::Function').filter(
    ([, fn]) =>
      (fn.Properties.Environment as { Variables: Record<string, string> }).Variables.EDDY_STAGE_ID === stageId,
  );
  if (matches.length !== 1) throw new Error(`expected one function of stage ${stageId}, found ${matches.length}`);
  return matches[0] as [string, CfnResource];
}

interface PolicyStatement {
  readonly Effect: string;
  readonly Action: string | string[];
  readonly Resource: unknown;
  readonly Condition?: unknown;
}

/**
 * Every (action, resource) a role is allowed, from all the policies attached to it, expanded one
 * pair per row: statements merged by `minimizePolicies` or split over several policies compare the same.
 * Resources are logical ids (or '*'). Throws on what the tests do not expect at all: Deny
 * statements, NotAction/NotResource, inline or managed policies on the role.
 */
export function allowedPairs(json: CfnTemplate, roleId: string): Map<string, Set<string>> {
  const role = json.Resources[roleId];
  if (role?.Type !== 'AWS::IAM::Role') throw new Error(`${roleId} is not a role`);
  if (role.Properties.ManagedPolicyArns !== undefined) {
    throw new Error(`role ${roleId} has managed policies: ${JSON.stringify(role.Properties.ManagedPolicyArns)}`);
  }
  if (role.Properties.Policies !== undefined) throw new Error(`role ${roleId} has inline policies`);
  const pairs = new Map<string, Set<string>>();
  for (const [, policy] of resourcesOfType(json, 'AWS::IAM::Policy')) {
    const roles = (policy.Properties.Roles as unknown[]).map(referencedId);
    if (!roles.includes(roleId)) continue;
    const document = policy.Properties.PolicyDocument as { Statement: PolicyStatement[] };
    for (const statement of document.Statement) {
      if (statement.Effect !== 'Allow' || statement.Action === undefined || statement.Resource === undefined) {
        throw new Error(`unexpected statement ${JSON.stringify(statement)}`);
      }
      const actions = [statement.Action].flat();
      const resources = [statement.Resource].flat().map(referencedId);
      for (const action of actions) {
        const set = pairs.get(action) ?? new Set<string>();
        for (const resource of resources) set.add(resource);
        pairs.set(action, set);
      }
    }
  }
  return pairs;
}

export function sorted(values: Iterable<string>): string[] {
  return [...values].sort();
}

/**
 * A dashboard's body as JSON. The body is a `Fn::Join` of JSON text and references; each reference
 * becomes a placeholder inside its string: `{{Ref:<logical id>}}`, `{{<logical id>.<attribute>}}` or
 * `{{AWS::Region}}` for a pseudo parameter.
 */
export function dashboardBody(dashboard: CfnResource): DashboardBody {
  const body = dashboard.Properties.DashboardBody as string | { 'Fn::Join': [string, unknown[]] };
  const text =
    typeof body === 'string'
      ? body
      : body['Fn::Join'][1]
          .map((part) => {
            if (typeof part === 'string') return part;
            const ref = part as { Ref?: string; 'Fn::GetAtt'?: [string, string] };
            if (ref.Ref !== undefined) return ref.Ref.startsWith('AWS::') ? `{{${ref.Ref}}}` : `{{Ref:${ref.Ref}}}`;
            if (ref['Fn::GetAtt'] !== undefined) return `{{${ref['Fn::GetAtt'][0]}.${ref['Fn::GetAtt'][1]}}}`;
            throw new Error(`unexpected part of a dashboard body: ${JSON.stringify(part)}`);
          })
          .join('');
  return JSON.parse(text) as DashboardBody;
}

export interface DashboardBody {
  readonly widgets: DashboardWidget[];
}

export interface DashboardWidget {
  readonly type: string;
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
  readonly properties: {
    readonly title?: string;
    readonly markdown?: string;
    /** `[namespace, metric name, dimension name, value, ..., options]` per metric. */
    readonly metrics?: unknown[][];
    readonly alarms?: string[];
    readonly annotations?: { horizontal?: { value: number; label?: string }[] };
  };
}

/**
 * Props that keep the plan's names unprefixed, for tests about something other than names (the
 * default, `<pipeline>-`, is tested in eddy-pipeline.test.ts, windowed.test.ts and physical-names.test.ts).
 */
export const UNPREFIXED = { streamNamePrefix: '' } as const;
