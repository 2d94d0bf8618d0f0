import { describe, expect, it } from 'vitest';
import { SandboxPool } from '../../../local/runner/sandbox-pool.js';

interface FakeEnvironment {
  readonly id: number;
  alive: boolean;
  disposed: boolean;
}

function pool(spares = 0) {
  let next = 0;
  const made: FakeEnvironment[] = [];
  const sandboxes = new SandboxPool<FakeEnvironment>(
    () => {
      next += 1;
      const environment = { id: next, alive: true, disposed: false };
      made.push(environment);
      return environment;
    },
    {
      alive: (e) => e.alive,
      dispose: (e) => {
        e.disposed = true;
      },
      spares,
    },
  );
  return { sandboxes, made };
}

describe('SandboxPool', () => {
  it('reuses a warm environment, and gives overlapping invocations one each', async () => {
    const { sandboxes } = pool();
    const first = await sandboxes.with(async (e) => e.id);
    const second = await sandboxes.with(async (e) => e.id);
    let release: () => void = () => {};
    const held = sandboxes.with((e) => new Promise<number>((resolve) => (release = () => resolve(e.id))));
    const overlapping = await sandboxes.with(async (e) => e.id);
    release();

    expect([first, second, await held, overlapping]).toEqual([1, 1, 1, 2]);
    expect(sandboxes.created).toBe(2);
  });

  it("sends a shard's batch back to the idle environment that last ran the shard", async () => {
    // Prepare: shards a and b run at once, in environments 1 and 2; a's ends first, so 2 is idle last.
    const { sandboxes } = pool();
    const releases: (() => void)[] = [];
    const hold = (shard: string) =>
      sandboxes.with((e) => new Promise<number>((resolve) => releases.push(() => resolve(e.id))), shard);
    const running = [hold('a'), hold('b')];
    for (const release of releases) release();
    await Promise.all(running);

    // Act
    const a = await sandboxes.with(async (e) => e.id, 'a');
    const b = await sandboxes.with(async (e) => e.id, 'b');
    const any = await sandboxes.with(async (e) => e.id);

    // Assess: without affinity the environment idle last (2) would have taken a's batch.
    expect([a, b, any]).toEqual([1, 2, 2]);
    expect(sandboxes.created).toBe(2);
  });

  it('replaces an environment that died during an invocation, and disposes of it', async () => {
    const { sandboxes, made } = pool();
    const error = await sandboxes
      .with(async (e) => {
        e.alive = false;
        throw new Error('Runtime exited with signal: SIGKILL');
      })
      .catch((e: unknown) => e);
    const next = await sandboxes.with(async (e) => e.id);

    expect(error).toBeInstanceOf(Error);
    expect(next).toBe(2);
    expect(made[0]?.disposed).toBe(true);
    expect(sandboxes.replaced).toBe(1);
  });

  it('keeps spares started ahead, so a death is followed by a warm environment', async () => {
    const { sandboxes, made } = pool(1);
    await sandboxes.with(async (e) => {
      e.alive = false;
    });
    // The first invocation started its environment and a spare; the retry takes the spare.
    const retry = await sandboxes.with(async (e) => e.id);

    expect(retry).toBe(2);
    expect(made.map((e) => e.id)).toEqual([1, 2, 3]);
  });

  it('disposes of every environment on close, and starts none after', async () => {
    const { sandboxes, made } = pool(1);
    await sandboxes.with(async () => undefined);
    await sandboxes.close();

    expect(made.every((e) => e.disposed)).toBe(true);
    await expect(sandboxes.with(async () => undefined)).rejects.toThrow(/shut down/);
  });
});
