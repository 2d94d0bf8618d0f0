import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';

/** The CDK CLI commands `eddy` wraps, each with the pipeline file as the app's. */
const CDK_COMMANDS = {
  synth: 'synthesize the CloudFormation template of a pipeline (cdk synth)',
  deploy: 'deploy a pipeline to the AWS account and region of the environment (cdk deploy)',
  destroy: 'delete a deployed pipeline and what it created (cdk destroy)',
} as const;

type CdkCommand = keyof typeof CDK_COMMANDS;

interface CdkCommandOptions {
  readonly stage?: string;
  readonly prefix?: string;
}

/** This package's bin, which the CDK CLI runs as the app (`eddy cdk-app`). */
const EDDY_BIN = fileURLToPath(
  new URL(import.meta.url.endsWith('.ts') ? '../bin/eddy.js' : '../../bin/eddy.js', import.meta.url),
);

/**
 * Adds `eddy synth|deploy|destroy <pipeline>`, which run the CDK CLI with Eddy's app and the pipeline,
 * stage and prefix as context, and the hidden `eddy cdk-app` that the CDK CLI runs (also from a user's
 * cdk.json: `"app": "npx eddy cdk-app"`, with the pipeline as context).
 */
export function registerCdkCommands(program: Command): void {
  for (const [name, description] of Object.entries(CDK_COMMANDS) as [CdkCommand, string][]) {
    program
      .command(name)
      .description(description)
      .argument('<pipeline>', 'TypeScript file that default-exports the pipeline')
      .argument('[cdk-args...]', 'more arguments for the CDK CLI, after --')
      .option('--stage <name>', 'deployment stage (dev, prod, ...): physical names start with <stage>_<pipeline>-')
      .option('--prefix <prefix>', 'prefix of every physical name instead of the derived one')
      .action(async (file: string, cdkArgs: string[], options: CdkCommandOptions) => {
        process.exitCode = await runCdk(name, file, cdkArgs, options);
      });
  }
  program
    .command('cdk-app', { hidden: true })
    .description("the CDK app (what cdk.json's app runs): deploys the pipeline named by the 'pipeline' context")
    .action(async () => {
      await import('../infra/app.js');
    });
}

/** Runs the CDK CLI; resolves to its exit code. */
async function runCdk(command: CdkCommand, file: string, cdkArgs: string[], options: CdkCommandOptions) {
  if (!existsSync(resolve(file))) throw new Error(`pipeline file not found: ${file}`);
  const app = `${quote(process.execPath)} ${quote(EDDY_BIN)} cdk-app`;
  const context = [
    ['pipeline', file],
    ...(options.stage === undefined ? [] : [['stage', options.stage]]),
    ...(options.prefix === undefined ? [] : [['prefix', options.prefix]]),
  ].flatMap(([key, value]) => ['--context', `${key}=${value}`]);
  const args = [cdkCli(), command, '--app', app, ...context, '--no-notices', ...cdkArgs];
  const child = spawn(process.execPath, args, { stdio: 'inherit' });
  return await new Promise<number>((done, fail) => {
    child.once('error', fail);
    child.once('exit', (code, signal) => done(code ?? (signal === null ? 1 : 128)));
  });
}

/**
 * The CDK CLI's entry: the project's own `aws-cdk` (the version its cdk.json expects), else one
 * installed beside Eddy.
 */
function cdkCli(): string {
  for (const from of [join(process.cwd(), 'package.json'), fileURLToPath(import.meta.url)]) {
    try {
      const manifest = createRequire(from).resolve('aws-cdk/package.json');
      const { bin } = JSON.parse(readFileSync(manifest, 'utf8')) as { bin: { cdk: string } };
      return join(dirname(manifest), bin.cdk);
    } catch {
      // Not installed there: try the next place.
    }
  }
  throw new Error('the AWS CDK CLI is not installed: npm install --save-dev aws-cdk');
}

function quote(path: string): string {
  return `"${path.replace(/(["\\$`])/g, '\\$1')}"`;
}
