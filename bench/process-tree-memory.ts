/**
 * Resident memory of a process and all its descendants, read from Linux's /proc: what a run of
 * `eddy run` costs the machine, its emulator child and worker sandboxes included. A single
 * process' `process.memoryUsage()` would miss the children, where most of it may be.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** One process of the tree at one moment. */
export interface ProcessMemory {
  readonly pid: number;
  /** What the process is, from its command line: `runner`, `emulators`, `worker` or `other`. */
  readonly role: ProcessRole;
  readonly rssBytes: number;
}

export type ProcessRole = 'runner' | 'emulators' | 'worker' | 'other';

/** The role of a process of an `eddy run` tree, from its command line. */
export function roleOf(commandLine: string, isRoot: boolean): ProcessRole {
  if (commandLine.includes('emulator-process')) return 'emulators';
  if (commandLine.includes('sandbox-worker')) return 'worker';
  return isRoot || commandLine.includes('eddy') ? 'runner' : 'other';
}

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    // The process ended between listing and reading: it holds nothing any more.
    return undefined;
  }
}

/** The parent pid in /proc/<pid>/stat: the field after the command name, which may hold spaces. */
function parentOf(stat: string): number {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[1]);
}

/** VmRSS of /proc/<pid>/status, in bytes. */
function rssOf(status: string): number {
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  return match === null ? 0 : Number(match[1]) * 1024;
}

/** Every live process of the tree rooted at `root`, with its resident memory now. */
export function processTreeMemory(root: number): ProcessMemory[] {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = read(`/proc/${entry}/stat`);
    if (stat !== undefined) parents.set(Number(entry), parentOf(stat));
  }
  const tree = new Set([root]);
  // Parents may have higher pids than their children after pid wrap-around: repeat until stable.
  for (let grew = true; grew; ) {
    grew = false;
    for (const [pid, parent] of parents) {
      if (!tree.has(pid) && tree.has(parent)) {
        tree.add(pid);
        grew = true;
      }
    }
  }
  const processes: ProcessMemory[] = [];
  for (const pid of tree) {
    const status = read(`/proc/${pid}/status`);
    if (status === undefined) continue;
    const commandLine = (read(`/proc/${pid}/cmdline`) ?? '').replaceAll('\0', ' ');
    processes.push({ pid, role: roleOf(commandLine, pid === root), rssBytes: rssOf(status) });
  }
  return processes;
}

/** The highest sums seen by a {@link PeakMemorySampler}, in bytes. */
export interface PeakMemory {
  /** The highest sum over the whole tree at one moment. */
  readonly totalBytes: number;
  /** Per role, the highest sum of that role's processes at one moment. */
  readonly byRole: Readonly<Record<ProcessRole, number>>;
  /** The most processes the tree had at one moment. */
  readonly processes: number;
  readonly samples: number;
}

/** Samples a process tree's memory on a timer and keeps the peaks. */
export class PeakMemorySampler {
  #timer: NodeJS.Timeout | undefined;
  #total = 0;
  #processes = 0;
  #samples = 0;
  readonly #byRole: Record<ProcessRole, number> = { runner: 0, emulators: 0, worker: 0, other: 0 };

  constructor(
    readonly root: number,
    readonly intervalMs = 200,
  ) {}

  start(): this {
    this.sample();
    this.#timer = setInterval(() => this.sample(), this.intervalMs);
    return this;
  }

  sample(): void {
    const tree = processTreeMemory(this.root);
    if (tree.length === 0) return;
    this.#samples += 1;
    this.#processes = Math.max(this.#processes, tree.length);
    this.#total = Math.max(
      this.#total,
      tree.reduce((sum, p) => sum + p.rssBytes, 0),
    );
    const now: Record<ProcessRole, number> = { runner: 0, emulators: 0, worker: 0, other: 0 };
    for (const p of tree) now[p.role] += p.rssBytes;
    for (const role of Object.keys(now) as ProcessRole[]) this.#byRole[role] = Math.max(this.#byRole[role], now[role]);
  }

  stop(): PeakMemory {
    clearInterval(this.#timer);
    return { totalBytes: this.#total, byRole: { ...this.#byRole }, processes: this.#processes, samples: this.#samples };
  }
}
