/** Memory of a stage function when the pipeline does not set `memorySize`, in MB. */
export const DEFAULT_STAGE_MEMORY_MB = 1024;

/**
 * The V8 heap flags Lambda's Node.js bootstrap (`/var/runtime/bootstrap`) gives a function of
 * `memoryMb`, unless its NODE_OPTIONS sets either: a tenth of the memory for the young generation,
 * half of that per semi-space, the rest for the old generation. Node outside Lambda sizes its heap
 * from the machine's memory instead (its semi-spaces at most 16 MB), so processes that stand in for
 * a Lambda execution environment (benchmarks, worker sandboxes) run with these, or they collect
 * young garbage several times as often as Lambda does.
 */
export function lambdaHeapFlags(memoryMb: number = DEFAULT_STAGE_MEMORY_MB): string[] {
  const newSpace = Math.floor(memoryMb / 10);
  return [`--max-semi-space-size=${Math.floor(newSpace / 2)}`, `--max-old-space-size=${memoryMb - newSpace}`];
}
