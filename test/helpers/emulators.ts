import { CreateStreamCommand, DescribeStreamSummaryCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { afterAll, beforeAll } from 'vitest';
import { type RunningEmulators, type StartEmulatorsOptions, startEmulators } from '../../local/emulators/index.js';

/**
 * Starts the emulators on free ports before the file's tests and stops them after. Call it at the
 * top level of a test file (or a describe block); the getter throws when used outside a test.
 */
export function useEmulators(options?: StartEmulatorsOptions): () => RunningEmulators {
  let running: RunningEmulators | undefined;
  beforeAll(async () => {
    running = await startEmulators(options);
  });
  afterAll(async () => {
    await running?.stop();
    running = undefined;
  });
  return () => {
    if (!running) throw new Error('emulators are not running: use the getter inside a test or hook');
    return running;
  };
}

/**
 * Polls `condition` until it holds. Without `progress`, fails after `timeoutMs`. With `progress` (a
 * value that changes whenever the awaited work moves: records delivered, invocations, a checkpoint),
 * fails only when that value has not changed for `timeoutMs`: a loaded machine that is slow but moving
 * never fails the wait, a stuck one fails as fast as before.
 */
export async function waitUntil(
  condition: () => boolean | Promise<boolean>,
  description: string,
  {
    timeoutMs = 15_000,
    intervalMs = 10,
    progress,
  }: { timeoutMs?: number; intervalMs?: number; progress?: () => unknown } = {},
): Promise<void> {
  const mark = async () => (progress === undefined ? undefined : JSON.stringify(await progress()));
  let lastMark = await mark();
  let deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    const currentMark = await mark();
    if (currentMark !== lastMark) {
      lastMark = currentMark;
      deadline = Date.now() + timeoutMs;
    }
    if (Date.now() > deadline) {
      throw new Error(
        progress === undefined
          ? `timed out after ${timeoutMs} ms waiting until ${description}`
          : `nothing moved for ${timeoutMs} ms (last: ${lastMark}) waiting until ${description}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

let streamCounter = 0;

/** Creates a stream with a name unique in this process and waits until it is ACTIVE. */
export async function createTestStream(kinesis: KinesisClient, shardCount: number, prefix = 'test'): Promise<string> {
  streamCounter += 1;
  const streamName = `${prefix}-${process.pid}-${streamCounter}`;
  await kinesis.send(new CreateStreamCommand({ StreamName: streamName, ShardCount: shardCount }));
  await waitForStreamActive(kinesis, streamName);
  return streamName;
}

/** Waits until the stream is ACTIVE again (after create, split or merge). */
export async function waitForStreamActive(kinesis: KinesisClient, streamName: string): Promise<void> {
  await waitUntil(async () => {
    const { StreamDescriptionSummary } = await kinesis.send(
      new DescribeStreamSummaryCommand({ StreamName: streamName }),
    );
    return StreamDescriptionSummary?.StreamStatus === 'ACTIVE';
  }, `stream ${streamName} is ACTIVE`);
}
