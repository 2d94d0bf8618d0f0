import { fork } from 'node:child_process';
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { ListStreamsCommand } from '@aws-sdk/client-kinesis';
import { describe, expect, it } from 'vitest';
import { createDynamoDbClient, createKinesisClient } from '../../local/aws-clients.js';
import { type RunningEmulators, startEmulators } from '../../local/emulators/index.js';
import { waitUntil } from '../helpers/emulators.js';

/** Whether any process of the group still runs. */
function groupAlive(group: number): boolean {
  try {
    process.kill(-group, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
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
  it('serves both APIs, and stop() ends both engines (their whole process groups)', async () => {
    const emulators = await startEmulators({ engines: 'kinesis-mock+dynamodb-local' });
    const groups = emulators.processGroups;
    expect(groups).toHaveLength(2);
    expect(groups.every(groupAlive)).toBe(true);

    await answers(emulators);
    await emulators.stop();

    await waitUntil(() => !groups.some(groupAlive), 'both engines are gone', { timeoutMs: 10_000 });
  }, 120_000);

  it('crash() (the emulator process SIGKILLed) takes the engines with it', async () => {
    const emulators = await startEmulators({ engines: 'kinesis-mock+dynamodb-local' });
    const groups = emulators.processGroups;

    await emulators.crash();

    await waitUntil(() => !groups.some(groupAlive), 'both engines are gone', { timeoutMs: 10_000 });
  }, 120_000);

  it('a SIGKILLed owner leaves no engine running', async () => {
    // Prepare: a process that starts the pair, reports the groups, and is then killed outright.
    const owner = fork(new URL('./engine-pair-owner.fixture.ts', import.meta.url), [], {
      execArgv: ['--import', import.meta.resolve('tsx')],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const groups = await new Promise<number[]>((resolve, reject) => {
      owner.once('message', (message) => resolve(message as number[]));
      owner.once('exit', (code) => reject(new Error(`the owner exited with ${code} before its engines were up`)));
    });
    expect(groups.every(groupAlive)).toBe(true);

    // Act
    owner.kill('SIGKILL');

    // Assess
    await waitUntil(() => !groups.some(groupAlive), 'both engines are gone', { timeoutMs: 20_000 });
  }, 120_000);

  it('refuses a data folder, saying why', async () => {
    await expect(startEmulators({ engines: 'kinesis-mock+dynamodb-local', dataDir: '/tmp/unused' })).rejects.toThrow(
      /data directory needs the kinesalite\+dynalite engines/,
    );
  });
});
