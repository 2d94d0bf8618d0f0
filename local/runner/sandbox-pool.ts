export interface SandboxPoolOptions<H> {
  /** Whether an environment can take another invocation; a dead one is dropped and replaced. @default always */
  readonly alive?: (handler: H) => boolean;
  /** Releases an environment (on close, or once it is dead). */
  readonly dispose?: (handler: H) => Promise<void> | void;
  /**
   * Environments kept started ahead, idle, once the first one was needed (as provisioned
   * concurrency keeps them initialized): a worker that dies is replaced by one already warm, so a
   * test that kills many is not dominated by cold starts. @default 0
   */
  readonly spares?: number;
}

/**
 * Lambda runs one invocation at a time per execution environment and starts another environment
 * when invocations overlap (one per shard and parallelization lane here). The pool mirrors that:
 * concurrent invocations get handler instances of their own, idle ones are reused warm, and an
 * environment that died (a worker sandbox killed mid-invocation) is replaced by a fresh one.
 */
export class SandboxPool<H> {
  readonly #idle: H[] = [];
  readonly #all = new Set<H>();
  /** What each environment last ran (a shard): its next batch goes back there if it is idle. */
  readonly #lastRan = new Map<H, string>();
  readonly #options: SandboxPoolOptions<H>;
  #created = 0;
  #replaced = 0;
  #closed = false;

  constructor(
    readonly create: () => H,
    options: SandboxPoolOptions<H> = {},
  ) {
    this.#options = options;
  }

  /** Environments started so far (cold starts). */
  get created(): number {
    return this.#created;
  }

  /** Environments dropped because they had died. */
  get replaced(): number {
    return this.#replaced;
  }

  #isAlive(handler: H): boolean {
    return this.#options.alive?.(handler) ?? true;
  }

  /**
   * Runs `use` in an idle environment, or a new one. `affinity` (a shard id) prefers the idle
   * environment that last ran the same one: what a stage keeps per shard in its environment (a join's
   * buffer cache, docs/joins.md) then stays useful. Lambda does not promise this; a shard's batch
   * that lands elsewhere only costs that environment's cache.
   */
  async with<T>(use: (handler: H) => Promise<T>, affinity?: string): Promise<T> {
    if (this.#closed) throw new Error('the function is shut down: no new environments');
    let handler = this.#takeIdle(affinity);
    while (handler !== undefined && !this.#isAlive(handler)) {
      this.#drop(handler);
      handler = this.#idle.pop();
    }
    handler ??= this.#start();
    if (affinity !== undefined) this.#lastRan.set(handler, affinity);
    this.#topUp();
    try {
      return await use(handler);
    } finally {
      if (this.#closed || !this.#isAlive(handler)) this.#drop(handler);
      else this.#idle.push(handler);
      if (!this.#closed) this.#topUp();
    }
  }

  /** The idle environment that last ran `affinity`, else the one idle last (the warmest). */
  #takeIdle(affinity: string | undefined): H | undefined {
    const at = affinity === undefined ? -1 : this.#idle.findLastIndex((h) => this.#lastRan.get(h) === affinity);
    return at < 0 ? this.#idle.pop() : this.#idle.splice(at, 1)[0];
  }

  #start(): H {
    const handler = this.create();
    this.#created += 1;
    this.#all.add(handler);
    return handler;
  }

  /** Starts idle environments until `spares` of them are alive. */
  #topUp(): void {
    const alive = this.#idle.filter((handler) => this.#isAlive(handler)).length;
    for (let i = alive; i < (this.#options.spares ?? 0); i += 1) this.#idle.unshift(this.#start());
  }

  #drop(handler: H): void {
    this.#lastRan.delete(handler);
    if (!this.#all.delete(handler)) return;
    if (!this.#closed) this.#replaced += 1;
    void Promise.resolve(this.#options.dispose?.(handler)).catch(() => undefined);
  }

  /** Releases every environment, idle or busy. */
  async close(): Promise<void> {
    this.#closed = true;
    const all = [...this.#all];
    this.#all.clear();
    this.#idle.length = 0;
    await Promise.all(all.map((handler) => Promise.resolve(this.#options.dispose?.(handler)).catch(() => undefined)));
  }
}
