import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

// The embedded stack, whatever the developer's shell points the AWS SDK at.
const { AWS_ENDPOINT_URL: _, ...environment } = process.env;

export interface KillRestartOptions {
  /** The arguments of `eddy run`, `--data-dir` included; or of node, to run another script. */
  readonly args: readonly string[];
  /** Run `node <args>` rather than `node bin/eddy.js <args>`. @default false */
  readonly script?: boolean;
  readonly dataDir: string;
  /**
   * Each session but the last is SIGKILLed, its whole process group, this many ms after its stack
   * started: after the session first changed something in the data folder (the emulators opening
   * their files), so that the moments fall on the run itself whatever the start-up costs on a loaded
   * machine. A session that changes nothing within 60 s is killed then.
   */
  readonly killAfterMs: readonly number[];
  /**
   * The first session's kill counts from when it started feeding (its first write of the data
   * folder's `inputs/` progress file) instead: a kill in the middle of the feed, the moment a
   * restarted feeder must neither put a line twice nor skip one. @default false
   */
  readonly firstKillInFeed?: boolean;
  /** The last session fails when nothing in the data folder changed for this long. @default 90000 */
  readonly stallMs?: number;
}

export interface KillRestartResult {
  /** Sessions SIGKILLed before they ended (some may have ended before their kill). */
  readonly kills: number;
  readonly sessions: number;
  /** What the session that finished printed. */
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * `eddy run` on a data folder, SIGKILLed with all its processes (the CLI, the emulators' child,
 * worker sandboxes) at the given moments and started again with the same command each time, as a
 * user would after a crash, until one session ends by itself.
 */
export async function runKilledAndRestarted(options: KillRestartOptions): Promise<KillRestartResult> {
  let kills = 0;
  let sessions = 0;
  for (const delay of [...options.killAfterMs, undefined]) {
    sessions += 1;
    const child = start(options.script === true ? options.args : ['bin/eddy.js', ...options.args]);
    const output = collect(child);
    const ended = exitOf(child);
    if (delay !== undefined) {
      const anchor =
        sessions === 1 && options.firstKillInFeed === true ? join(options.dataDir, 'inputs') : options.dataDir;
      const killing = killWhenStarted(child, ended, anchor, delay);
      const { code, signal } = await ended;
      killing.cancel();
      if (signal === 'SIGKILL') {
        kills += 1;
        // The CLI is gone; its emulators' process may still hold the data folder for a moment.
        if (child.pid !== undefined) await groupGone(child.pid);
        continue;
      }
      if (code !== 0) throw new Error(`session ${sessions} failed with code ${code}: ${output.stderr()}`);
      return { kills, sessions, stdout: output.stdout(), stderr: output.stderr() };
    }
    const { code } = await untilEndOrStall(child, ended, options.dataDir, options.stallMs ?? 90_000);
    if (code !== 0) throw new Error(`the last session failed with code ${code}: ${output.stderr()}`);
    return { kills, sessions, stdout: output.stdout(), stderr: output.stderr() };
  }
  throw new Error('unreachable');
}

/** SIGKILLs the session's whole process group `delay` ms after its first change to `folder`. */
function killWhenStarted(
  child: ChildProcess,
  ended: Promise<unknown>,
  folder: string,
  delay: number,
): { cancel: () => void } {
  let cancelled = false;
  const before = latestChange(folder);
  const giveUp = Date.now() + 60_000;
  void (async () => {
    while (!cancelled && latestChange(folder) === before && Date.now() < giveUp) {
      await Promise.race([ended, new Promise((resolve) => setTimeout(resolve, 50))]);
    }
    await Promise.race([ended, new Promise((resolve) => setTimeout(resolve, delay))]);
    // A negative pid: the whole process group the CLI leads.
    if (!cancelled && child.pid !== undefined && child.exitCode === null) process.kill(-child.pid, 'SIGKILL');
  })();
  return {
    cancel: () => {
      cancelled = true;
    },
  };
}

/**
 * Resolves once no process of the group is left, as a user restarting after a crash would find it: a
 * killed process lives on until it is reaped, and the emulators' lock on the data folder with it.
 */
async function groupGone(pid: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      process.kill(-pid, 0);
    } catch {
      return;
    }
    if (Date.now() > deadline) throw new Error(`process group ${pid} still runs 30 s after its SIGKILL`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function start(args: readonly string[]): ChildProcess {
  return spawn(process.execPath, args, {
    env: environment,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

function collect(child: ChildProcess): { stdout: () => string; stderr: () => string } {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return { stdout: () => stdout, stderr: () => stderr };
}

function exitOf(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

/** Waits for the session's end; kills it and fails when the data folder stops changing first. */
async function untilEndOrStall(
  child: ChildProcess,
  ended: Promise<{ code: number | null }>,
  dataDir: string,
  stallMs: number,
): Promise<{ code: number | null }> {
  let last = latestChange(dataDir);
  let since = Date.now();
  for (;;) {
    const result = await Promise.race([ended, new Promise<undefined>((r) => setTimeout(() => r(undefined), 1000))]);
    if (result !== undefined) return result;
    const now = latestChange(dataDir);
    if (now !== last) {
      last = now;
      since = Date.now();
    } else if (Date.now() - since > stallMs) {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      await ended;
      throw new Error(`the last session made no progress (nothing in ${dataDir} changed) for ${stallMs} ms`);
    }
  }
}

/** The latest modification time of any file under `folder`; 0 before the session has created it. */
function latestChange(folder: string): number {
  if (!existsSync(folder)) return 0;
  let latest = 0;
  for (const entry of readdirSync(folder, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    try {
      latest = Math.max(latest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
    } catch {
      // Replaced between the listing and the stat (checkpoint files are written by rename).
    }
  }
  return latest;
}
