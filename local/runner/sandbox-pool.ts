/**
 * Lambda runs one invocation at a time per execution environment and starts another environment
 * when invocations overlap (one per shard and parallelization lane here). The pool mirrors that:
 * concurrent invocations get handler instances of their own, idle ones are reused warm.
 */
export class SandboxPool<H> {
  readonly #idle: H[] = [];
  #created = 0;

  constructor(readonly create: () => H) {}

  /** Environments started so far (cold starts). */
  get created(): number {
    return this.#created;
  }

  async with<T>(use: (handler: H) => Promise<T>): Promise<T> {
    let handler = this.#idle.pop();
    if (handler === undefined) {
      handler = this.create();
      this.#created += 1;
    }
    try {
      return await use(handler);
    } finally {
      this.#idle.push(handler);
    }
  }
}
