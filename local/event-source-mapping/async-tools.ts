/** Resolves after `ms`, or at once when `abort` fires; never rejects. */
export function sleep(ms: number, abort?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (abort?.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      abort?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    abort?.addEventListener('abort', done, { once: true });
  });
}

/**
 * Wakes a loop waiting for work: `wait` resolves on the next `notify`, after the timeout, or on
 * abort. A notify with nobody waiting is remembered, so a wake-up between a check and a wait is not lost.
 */
export class Wakeup {
  #pending = false;
  #resolve: (() => void) | undefined;

  notify(): void {
    if (this.#resolve) {
      const resolve = this.#resolve;
      this.#resolve = undefined;
      resolve();
    } else {
      this.#pending = true;
    }
  }

  wait(timeoutMs: number, abort?: AbortSignal): Promise<void> {
    if (this.#pending || abort?.aborted) {
      this.#pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = (): void => {
        if (timer !== undefined) clearTimeout(timer);
        abort?.removeEventListener('abort', done);
        this.#resolve = undefined;
        resolve();
      };
      const timer = Number.isFinite(timeoutMs) ? setTimeout(done, Math.max(0, timeoutMs)) : undefined;
      abort?.addEventListener('abort', done, { once: true });
      this.#resolve = done;
    });
  }
}

/** The name of an AWS SDK error (its exception type), or undefined for anything else. */
export function errorName(error: unknown): string | undefined {
  return error instanceof Error ? error.name : undefined;
}

/** A short description of any thrown value, for stats and logs. */
export function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
