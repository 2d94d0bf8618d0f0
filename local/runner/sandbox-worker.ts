/**
 * Child-process entry of a worker sandbox: one Lambda execution environment of one stage. It
 * imports the user's pipeline module by path, builds the stage's handler with
 * createLambdaStageHandler against the same endpoints as the parent (its own AWS clients, shard
 * directory and state store, as a Lambda environment has), and answers invocations over IPC, one at
 * a time. The parent treats its death in the middle of an invocation as Lambda treats a crashed
 * runtime: the invocation fails and the environment is replaced.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import type { Pipeline } from '../../shared/dsl/pipeline.js';
import { MemoryDeadLetterSink } from '../../shared/runtime/io/dead-letter-sink.js';
import { DynamoDbStreamShards, describeStreamWith } from '../../shared/runtime/io/dynamodb-stream-shards.js';
import { DynamoDbTableStore } from '../../shared/runtime/io/dynamodb-table-store.js';
import { DynamoDbWindowStore } from '../../shared/runtime/io/dynamodb-window-store.js';
import { KinesisRecordWriter } from '../../shared/runtime/io/kinesis-record-writer.js';
import { KinesisShardDirectory } from '../../shared/runtime/io/shard-directory.js';
import { createLambdaStageHandler, type StageHandler } from '../../shared/runtime/lambda-handler.js';
import type { BatchReport } from '../../shared/runtime/stage-runner.js';
import {
  createDestinationClients,
  createDynamoDbClient,
  createDynamoDbStreamsClient,
  createKinesisClient,
} from '../aws-clients.js';
import { type InvokeMessage, serializeError, type WorkerConfig, type WorkerMessage } from './sandbox-protocol.js';

const config = JSON.parse(process.argv[2] ?? '{}') as WorkerConfig;

const send = (message: WorkerMessage): void => {
  process.send?.(message);
};

// The IPC channel closes when the parent exits, even on SIGKILL: never outlive it.
process.on('disconnect', () => process.exit(0));

/** Requests (HTTP attempts) of the current invocation, and where the injected kill is due. */
let requests = 0;
let killAfter: number | undefined;
const die = (): never => {
  process.kill(process.pid, 'SIGKILL');
  // Not reached: SIGKILL cannot be caught.
  throw new Error('unreachable');
};

/**
 * Counts every HTTP attempt of a client (the deserialize step runs once per attempt, inside the
 * SDK's retries) and kills the process right after the attempt that reaches the kill point: that
 * request took effect, and whatever else was in flight is cut off.
 */
function countRequests(client: ReturnType<typeof createKinesisClient> | ReturnType<typeof createDynamoDbClient>) {
  client.middlewareStack.add(
    (next) => async (args) => {
      try {
        return await next(args);
      } finally {
        requests += 1;
        if (killAfter !== undefined && requests >= killAfter) die();
      }
    },
    { step: 'deserialize', name: 'eddyWorkerRequestCounter' },
  );
}

async function loadPipeline(): Promise<Pipeline> {
  const module = (await import(pathToFileURL(resolve(config.modulePath)).href)) as { default?: unknown };
  const candidate = module.default as Pipeline | undefined;
  if (candidate === undefined || typeof (candidate as { plan?: unknown }).plan !== 'function') {
    throw new Error(`${config.modulePath} does not default-export a pipeline`);
  }
  if (candidate.name !== config.pipelineName) {
    throw new Error(
      `${config.modulePath} exports pipeline '${candidate.name}', but the local stack runs '${config.pipelineName}'`,
    );
  }
  return candidate;
}

let report: BatchReport | undefined;
/** The invocation's dead letters, when they go to a queue: the parent's local queue receives them. */
const deadLetters = config.deadLetterQueue === true ? new MemoryDeadLetterSink() : undefined;

async function init(): Promise<StageHandler> {
  const pipeline = await loadPipeline();
  const kinesis = createKinesisClient(config.kinesisEndpoint);
  countRequests(kinesis);
  let store: DynamoDbWindowStore | undefined;
  let tables: DynamoDbTableStore | undefined;
  if (config.dynamodbEndpoint !== undefined && (config.stateTable !== undefined || config.tables !== undefined)) {
    const dynamodb = createDynamoDbClient(config.dynamodbEndpoint);
    countRequests(dynamodb);
    if (config.stateTable !== undefined) {
      store = new DynamoDbWindowStore({ client: dynamodb, tableName: config.stateTable });
    }
    if (config.tables !== undefined) tables = new DynamoDbTableStore({ client: dynamodb, tableNames: config.tables });
  }
  return createLambdaStageHandler(pipeline, {
    ...(config.dynamoDbStreams !== undefined && { dynamoDbStreams: tableStreamShards(config.dynamoDbStreams) }),
    stageId: config.stageId,
    writer: new KinesisRecordWriter({ client: kinesis, streamPrefix: config.streamPrefix }),
    shards: new KinesisShardDirectory({ client: kinesis, streamPrefix: config.streamPrefix, cacheMs: 1000 }),
    ...(store !== undefined && { store }),
    ...(tables !== undefined && { tables }),
    ...(config.destinations !== undefined && {
      destinations: {
        targets: config.destinations.targets,
        // Counted too: a worker may die right after a send took effect.
        clients: createDestinationClients(config.destinations.endpoint, (client) => {
          countRequests(client as unknown as Parameters<typeof countRequests>[0]);
          return client;
        }),
      },
    }),
    ...(deadLetters !== undefined && { deadLetters }),
    logger: new Logger({ serviceName: pipeline.name, logLevel: config.logLevel }),
    metrics: new Metrics({ namespace: 'Eddy', serviceName: pipeline.name }),
    onBatch: (batch) => {
      report = batch;
    },
  });
}

/** The table streams' shards through this environment's own client, counted: a worker may die after a DescribeStream. */
function tableStreamShards(streams: NonNullable<WorkerConfig['dynamoDbStreams']>): DynamoDbStreamShards {
  const client = createDynamoDbStreamsClient(streams.endpoint);
  countRequests(client as unknown as Parameters<typeof countRequests>[0]);
  return new DynamoDbStreamShards({
    describe: describeStreamWith(() => client),
    streams: streams.streamArns,
    cacheMs: 1000,
  });
}

function contextOf(message: InvokeMessage): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: message.functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: message.invokedFunctionArn,
    memoryLimitInMB: '1024',
    awsRequestId: message.awsRequestId,
    logGroupName: `/aws/lambda/${message.functionName}`,
    logStreamName: `local-worker-${process.pid}`,
    getRemainingTimeInMillis: () => Math.max(0, message.deadline - Date.now()),
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}

let handler: StageHandler;
try {
  handler = await init();
} catch (error) {
  send({ type: 'init-error', error: serializeError(error) });
  process.exit(1);
}

process.on('message', (message: InvokeMessage) => {
  if (message.type !== 'invoke') return;
  requests = 0;
  report = undefined;
  deadLetters?.letters.splice(0);
  killAfter = message.killAfterRequests;
  handler(message.event, contextOf(message)).then(
    (response) => {
      // The kill point lies past the invocation's last request: die before answering.
      if (killAfter !== undefined) die();
      send({ type: 'result', id: message.id, response, report, requests, ...lettersSent() });
    },
    (error: unknown) => {
      if (killAfter !== undefined) die();
      send({ type: 'error', id: message.id, error: serializeError(error), requests, ...lettersSent() });
    },
  );
});
send({ type: 'ready' });

function lettersSent() {
  return deadLetters === undefined ? {} : { deadLetters: [...deadLetters.letters] };
}
