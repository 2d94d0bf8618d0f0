import { type ChildProcess, fork } from 'node:child_process';
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { ListStreamsCommand } from '@aws-sdk/client-kinesis';
import { describe, expect, it } from 'vitest';
import { createDynamoDbClient, createKinesisClient } from '../../local/aws-clients.js';
import { type RunningEmulators, startEmulators } from '../../local/emulators/index.js';
import { waitUntil } from '../helpers/emulators.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Forks a process that starts the pair and reports the engines' process ids. */
async function startOwner(options: { detached: boolean }): Promise<{ owner: ChildProcess; engines: number[] }> {
  const owner = fork(new URL('./engine-pair-owner.fixture.ts', import.meta.url), [], {
    execArgv: ['--import', import.meta.resolve('tsx')],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    detached: options.detached,
  });
  const engines = await new Promise<number[]>((resolve, reject) => {
    owner.once('message', (message) => resolve(message as number[]));
    owner.once('exit', (code) => reject(new Error(`the owner exited with ${code} before its engines were up`)));
  });
  return { owner, engines };
}

async function answers(emulators: RunningEmulators): Promise<void> {
  const kinesis = createKinesisClient(emulators.kinesisEndpoint);
  const dynamodb = createDynamoDbClient(emulators.dynamodbEndpoint);
  try {
    await expect(kinesis.send(new ListStreamsCommand({}))).resolves.toMatchObject({ StreamNames: [] });
    await expect(dynamodb.send(new ListTablesCommand({}))).resolves.toMatchObject({ TableNames: [] });
  } finally {
    kinesis.destroy();
    dynamodb.destroy();
  }
}

describe('the kinesis-mock + DynamoDB Local pair: started on free ports, nothing left behind', () => {
  it('serves both APIs, and stop() ends both engine processes', async () => {
    const emulators = await startEmulators({ engines: 'kinesis-mock+dynamodb-local' });
    const engines = emulators.processIds;
    expect(engines).toHaveLength(2);
    expect(engines.every(alive)).toBe(true);

    await answers(emulators);
    await emulators.stop();

    await waitUntil(() => !engines.some(alive), 'both engines are gone', { timeoutMs: 10_000 });
  });

  it('crash() (the emulator process SIGKILLed) takes the engines with it', async () => {
    const emulators = await startEmulators({ engines: 'kinesis-mock+dynamodb-local' });
    const engines = emulators.processIds;

    await emulators.crash();

    await waitUntil(() => !engines.some(alive), 'both engines are gone', { timeoutMs: 10_000 });
  });

  it('a SIGKILLed owner leaves no engine running', async () => {
    // Prepare: a process that starts the pair, then is killed outright, alone.
    const { owner, engines } = await startOwner({ detached: false });
    expect(engines.every(alive)).toBe(true);

    // Act
    owner.kill('SIGKILL');

    // Assess: the emulator process loses its parent and stops the engines.
    await waitUntil(() => !engines.some(alive), 'both engines are gone', { timeoutMs: 20_000 });
  });

  it('SIGKILL of every process of the owner (its process group) ends the engines too', async () => {
    const { owner, engines } = await startOwner({ detached: true });

    process.kill(-(owner.pid ?? 0), 'SIGKILL');

    await waitUntil(() => !engines.some(alive), 'both engines are gone', { timeoutMs: 10_000 });
  });

  it('refuses a data folder, saying why', async () => {
    await expect(startEmulators({ engines: 'kinesis-mock+dynamodb-local', dataDir: '/tmp/unused' })).rejects.toThrow(
      /data directory needs the kinesalite\+dynalite engines/,
    );
  });
});
