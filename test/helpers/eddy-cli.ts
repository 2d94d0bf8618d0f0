import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);
// The embedded stack, whatever the developer's shell points the AWS SDK at; and without the SDK's
// Node-version switch, so that the tests see whether Eddy silences the warning itself.
const { AWS_ENDPOINT_URL: _, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: __, ...environment } = process.env;

/**
 * Runs `bin/eddy.js` with these arguments, as a user would, from the repository's root. No time limit:
 * a run that stops moving fails on its own stall watch (EDDY_STALL_LIMIT_SECONDS, set by vitest.config.ts).
 */
export function eddy(...args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run(process.execPath, ['bin/eddy.js', ...args], { env: environment });
}

/** As {@link eddy}, with these environment variables added. */
export function eddyWith(env: Readonly<Record<string, string>>, ...args: string[]) {
  return run(process.execPath, ['bin/eddy.js', ...args], { env: { ...environment, ...env } });
}

/** What `eddy run --output <name>=<file>` wrote: one JSON object a line. */
export function readJsonLines(file: string): Record<string, unknown>[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}
