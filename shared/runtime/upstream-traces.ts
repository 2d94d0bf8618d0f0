import type { Decoded } from './decode.js';

/** How many upstream trace ids a batch reports: enough to follow a batch back, bounded for X-Ray. */
const MAX_TRACES = 50;

/**
 * The X-Ray trace ids of the invocations that wrote a batch's shuffle packs. Lambda starts a new
 * trace for each invocation of a Kinesis trigger; a stage's trace names these, so a record can be
 * followed from stage to stage (docs/operations.md).
 */
export class UpstreamTraces {
  readonly #ids = new Set<string>();

  addAll(items: readonly Decoded[]): void {
    for (const item of items) {
      const trace = item.kind === 'data' ? item.from?.trace : undefined;
      if (trace !== undefined && this.#ids.size < MAX_TRACES) this.#ids.add(trace);
    }
  }

  list(): string[] {
    return [...this.#ids];
  }

  report(): { upstreamTraces?: readonly string[] } {
    return this.#ids.size > 0 ? { upstreamTraces: this.list() } : {};
  }
}
