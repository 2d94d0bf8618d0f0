import {
  ConditionalCheckFailedException,
  DescribeTableCommand,
  type DynamoDBClient,
  InternalServerError,
  ProvisionedThroughputExceededException,
  ThrottlingException,
} from '@aws-sdk/client-dynamodb';
import type { BatchGetCommandInput, BatchGetCommandOutput } from '@aws-sdk/lib-dynamodb';
import type { InitializeHandlerArguments, InitializeHandlerOutput, MetadataBearer } from '@smithy/types';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDynamoDbClient } from '../../local/aws-clients.js';
import { DynamoDbWindowStore, type DynamoDbWindowStoreOptions } from '../../shared/runtime/io/dynamodb-window-store.js';
import { MemoryWindowStore } from '../../shared/runtime/io/memory-window-store.js';
import { StateConflictError, StateStoreUnavailableError } from '../../shared/runtime/io/state-errors.js';
import type {
  CommitOutcome,
  StoredWindow,
  WindowChange,
  WindowRef,
  WindowStore,
} from '../../shared/runtime/io/state-store.js';
import { createStateTable, StateTableError } from '../../shared/runtime/io/state-table-schema.js';
import { useEmulators } from '../helpers/emulators.js';
import { del, describeWindowStoreContract, newStageId, put } from '../helpers/window-store-contract.js';

const emulators = useEmulators({ kinesis: false });
const tableName = `eddy-state-${process.pid}`;
const fastBackoff = { baseMs: 1, capMs: 2 };
let client: DynamoDBClient;
const clients: DynamoDBClient[] = [];

beforeAll(async () => {
  client = dynamoClient();
  await createStateTable(client, tableName, { pollIntervalMs: 10 });
});

afterAll(() => {
  for (const c of clients) c.destroy();
});

/** A client of its own, so that middleware a test adds stays in that test. */
function dynamoClient(): DynamoDBClient {
  const created = createDynamoDbClient(emulators().dynamodbEndpoint);
  clients.push(created);
  return created;
}

function dynamoStore(options: Partial<DynamoDbWindowStoreOptions> = {}): DynamoDbWindowStore {
  return new DynamoDbWindowStore({ client, tableName, backoff: fastBackoff, ...options });
}

type Next = (args: InitializeHandlerArguments<object>) => Promise<InitializeHandlerOutput<MetadataBearer>>;

/**
 * Puts `handle` in front of every request of `target`, before the SDK's own retries, so that what it
 * throws reaches the store as DynamoDB's answer.
 */
function intercept(
  target: DynamoDBClient,
  handle: (commandName: string, args: InitializeHandlerArguments<object>, next: Next) => Promise<unknown>,
): void {
  target.middlewareStack.add(
    (next, context) => async (args) =>
      (await handle(context.commandName ?? '', args, next as unknown as Next)) as InitializeHandlerOutput<never>,
    { step: 'initialize', name: 'interceptForTest' },
  );
}

const w = (key: string, start: number): WindowRef => ({ key, start, end: start + 1000 });

describeWindowStoreContract('DynamoDbWindowStore on dynalite', () => ({
  create: (options) => dynamoStore(options),
  // dynalite ignores ReturnValuesOnConditionCheckFailure; the ALL_OLD path is tested below with a stub.
  reportsCurrent: false,
}));

describe('createStateTable', () => {
  it('creates the table with string keys, the fire-time GSI projecting all, on demand', async () => {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));

    expect(Table?.TableStatus).toBe('ACTIVE');
    expect(Table?.KeySchema).toEqual([
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ]);
    expect(Table?.BillingModeSummary?.BillingMode).toBe('PAY_PER_REQUEST');
    expect(Table?.GlobalSecondaryIndexes?.map((i) => [i.IndexName, i.KeySchema, i.Projection])).toEqual([
      [
        'byFireTime',
        [
          { AttributeName: 'timer', KeyType: 'HASH' },
          { AttributeName: 'fireAt', KeyType: 'RANGE' },
        ],
        { ProjectionType: 'ALL' },
      ],
    ]);
  });

  it('refuses names DynamoDB refuses, and a table that exists', async () => {
    await expect(createStateTable(client, 'ab')).rejects.toThrow(StateTableError);
    await expect(createStateTable(client, 'has space')).rejects.toThrow(StateTableError);
    await expect(createStateTable(client, tableName)).rejects.toMatchObject({
      name: 'StateTableError',
      cause: { name: 'ResourceInUseException' },
    });
  });
});

describe('DynamoDbWindowStore retries', () => {
  it('retries a throttled write with backoff and counts every attempt', async () => {
    // Prepare: the first two requests are throttled.
    const flaky = dynamoClient();
    let throttles = 2;
    intercept(flaky, async (_, args, next) => {
      if (throttles-- > 0) {
        throw new ProvisionedThroughputExceededException({ message: 'slow down', $metadata: {} });
      }
      return next(args);
    });
    const store = dynamoStore({ client: flaky });
    const stage = newStageId();

    // Act
    const version = await store.commit(put(stage, w('k', 0)));

    // Assess
    expect(version).toBe(1);
    expect(store.counter.snapshot()).toMatchObject({ requests: 3, throttled: 2, byOperation: { UpdateItem: 3 } });
    expect((await dynamoStore().getWindows(stage, [w('k', 0)])).map((s) => s.version)).toEqual([1]);
  });

  it('retries throttling and 5xx errors within a concurrent commit, writing each change once', async () => {
    // Prepare: every write is throttled, then fails with a 500, then goes through.
    const flaky = dynamoClient();
    const attempts = new Map<string, number>();
    intercept(flaky, async (_, args, next) => {
      const pk = String((args.input as { Key?: { pk?: unknown } }).Key?.pk);
      const attempt = (attempts.get(pk) ?? 0) + 1;
      attempts.set(pk, attempt);
      if (attempt === 1) throw new ThrottlingException({ message: 'throttled', $metadata: {} });
      if (attempt === 2) throw new InternalServerError({ message: 'oops', $metadata: { httpStatusCode: 500 } });
      return next(args);
    });
    const store = dynamoStore({ client: flaky, concurrency: 4 });
    const stage = newStageId();
    const changes = Array.from({ length: 20 }, (_, i) => put(stage, w(`k${i}`, 0)));

    // Act
    const outcome = await store.commitAll(changes);

    // Assess
    expect(outcome.conflicts).toEqual([]);
    expect(outcome.committed.map((c) => c.version)).toEqual(changes.map(() => 1));
    expect(store.counter.snapshot()).toMatchObject({ requests: 60, throttled: 40, byOperation: { UpdateItem: 60 } });
    expect(
      await dynamoStore().getWindows(
        stage,
        changes.map((c) => c.state),
      ),
    ).toHaveLength(20);
  });

  it('gives up after maxAttempts with StateStoreUnavailableError, and surfaces other errors at once', async () => {
    const throttled = dynamoClient();
    intercept(throttled, async () => {
      throw new ThrottlingException({ message: 'throttled', $metadata: {} });
    });
    const store = dynamoStore({ client: throttled, maxAttempts: 3 });
    const missingTable = dynamoStore({ tableName: 'no-such-table' });

    const error = await store.commit(put(newStageId(), w('k', 0))).catch((e: unknown) => e);
    const notFound = await missingTable.getWindows(newStageId(), [w('k', 0)]).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(StateStoreUnavailableError);
    expect(error).toMatchObject({ operation: 'UpdateItem', attempts: 3, cause: { name: 'ThrottlingException' } });
    expect(store.counter.snapshot()).toMatchObject({ requests: 3, throttled: 3 });
    expect(notFound).toMatchObject({ name: 'ResourceNotFoundException' });
    expect(missingTable.counter.snapshot().requests).toBe(1);
  });

  /** A client whose first BatchGetItem processes only its first 10 keys and hands back the rest. */
  function partialBatchGet(): DynamoDBClient {
    const partial = dynamoClient();
    let first = true;
    intercept(partial, async (commandName, args, next) => {
      if (commandName !== 'BatchGetItemCommand' || !first) return next(args);
      first = false;
      const input = args.input as BatchGetCommandInput;
      const request = input.RequestItems?.[tableName];
      const keys = request?.Keys ?? [];
      const result = await next({
        ...args,
        input: { ...input, RequestItems: { [tableName]: { ...request, Keys: keys.slice(0, 10) } } },
      });
      (result.output as BatchGetCommandOutput).UnprocessedKeys = { [tableName]: { ...request, Keys: keys.slice(10) } };
      return result;
    });
    return partial;
  }

  it('asks again for the keys a BatchGetItem left unprocessed', async () => {
    const stage = newStageId();
    const windows = Array.from({ length: 30 }, (_, i) => w(`k${i}`, 0));
    await dynamoStore().commitAll(windows.map((window) => put(stage, window)));
    const store = dynamoStore({ client: partialBatchGet() });

    const found = await store.getWindows(stage, windows);

    expect(found.map((s) => s.state.key)).toEqual(windows.map((window) => window.key));
    expect(store.counter.snapshot().byOperation.BatchGetItem).toBe(2);
  });

  it('asks again for the buffered join records a BatchGetItem left unprocessed', async () => {
    const stage = newStageId();
    const records = Array.from({ length: 30 }, (_, i) => ({
      key: `k${i}`,
      side: 'left' as const,
      time: i,
      id: `id-${i}`,
      value: i,
      matched: i % 2 === 0,
    }));
    await dynamoStore().writeBuffered(
      stage,
      records.map((record) => ({ record, fireAt: Date.now(), timerShard: 's' })),
      [],
    );
    const store = dynamoStore({ client: partialBatchGet() });

    const found = await store.getBuffered(stage, records);

    expect(found).toEqual(records);
    expect(store.counter.snapshot().byOperation.BatchGetItem).toBe(2);
  });

  it('reads the current item DynamoDB returns with a failed condition (ALL_OLD), ignoring an expired one', async () => {
    // Prepare: DynamoDB (unlike dynalite) puts the item on the exception, marshalled.
    const stage = newStageId();
    const expiresAt = Math.ceil(Date.now() / 1000) + 3600;
    const item = (expires: number) => ({
      pk: { S: `${stage}#k` },
      sk: { S: '4503599627370496#4503599627371496' },
      key: { S: 'k' },
      start: { N: '0' },
      end: { N: '1000' },
      accumulator: { M: { sum: { N: '3.5' }, tags: { L: [{ S: 'a' }, { NULL: true }, { BOOL: false }] } } },
      count: { N: '2' },
      emitted: { N: '0' },
      version: { N: '5' },
      fence: { M: { s1: { S: '49590338271490256608559692538361571095921575989136588898' } } },
      timer: { S: `${stage}#s1` },
      fireAt: { N: '1000' },
      expiresAt: { N: String(expires) },
    });
    const stub = dynamoClient();
    const items = [item(expiresAt), item(100)];
    intercept(stub, async () => {
      throw new ConditionalCheckFailedException({
        message: 'The conditional request failed',
        $metadata: {},
        Item: items.shift(),
      });
    });
    const store = dynamoStore({ client: stub });

    const outcome = await store.commitAll([put(stage, w('k', 0), { expected: 4 })]);
    const expired = await store.commit(del(stage, w('k', 0), 4)).catch((e: unknown) => e);

    expect(outcome.conflicts[0]?.current).toEqual({
      stageId: stage,
      state: {
        key: 'k',
        start: 0,
        end: 1000,
        accumulator: { sum: 3.5, tags: ['a', null, false] },
        count: 2,
        emitted: 0,
      },
      version: 5,
      fence: { s1: '49590338271490256608559692538361571095921575989136588898' },
      timer: `${stage}#s1`,
      fireAt: 1000,
      expiresAt,
    } satisfies StoredWindow);
    expect(expired).toBeInstanceOf(StateConflictError);
    expect((expired as StateConflictError).current).toBeUndefined();
    expect(store.counter.snapshot()).toMatchObject({ conditionalFailures: 2, writeUnits: 0 });
  });

  it('keeps its marshalling when another document client is made from the same SDK client', async () => {
    const { DynamoDBDocumentClient } = await import('@aws-sdk/lib-dynamodb');
    const shared = dynamoClient();
    const store = dynamoStore({ client: shared });
    // Without removeUndefinedValues, an undefined member would fail the marshalling.
    DynamoDBDocumentClient.from(shared, { marshallOptions: { removeUndefinedValues: false } });
    const stage = newStageId();

    await store.commit(put(stage, w('k', 0), { accumulator: { a: 1, gone: undefined } }));

    expect((await store.getWindows(stage, [w('k', 0)]))[0]?.state.accumulator).toEqual({ a: 1 });
  });
});

describe('DynamoDbWindowStore and MemoryWindowStore', () => {
  const keys = ['a', 'b', 'c'];
  const shards = ['shardId-000000000000', 'shardId-000000000001'];
  const day = 24 * 60 * 60 * 1000;
  const base = Date.now() + day;

  const scalar = fc.oneof(
    fc.integer(),
    fc.double({ min: -1e9, max: 1e9, noNaN: true }).filter((x) => x === 0 || Math.abs(x) > 1e-100),
    fc.string({ unit: 'grapheme', maxLength: 8 }),
    fc.boolean(),
    fc.constant(null),
    fc.constant(undefined),
  );
  const accumulator = fc.oneof(
    scalar,
    fc.array(scalar, { maxLength: 4 }),
    fc.dictionary(fc.string({ maxLength: 4 }), fc.oneof(scalar, fc.array(scalar, { maxLength: 3 })), { maxKeys: 4 }),
  );
  const step = fc.record({
    kind: fc.constantFrom('put', 'put', 'delete'),
    key: fc.constantFrom(...keys),
    start: fc.constantFrom(-2000, 0, 1000),
    // Most changes name the version the writer last saw; the others a stale or made-up one.
    fresh: fc.boolean(),
    stale: fc.nat(3),
    shard: fc.constantFrom(...shards),
    accumulator,
    count: fc.nat(100),
    fireAt: fc.integer({ min: 0, max: 5000 }),
  });
  const batches = fc.array(
    fc.uniqueArray(step, { selector: (s) => `${s.key}/${s.start}`, minLength: 1, maxLength: 6 }),
    { minLength: 1, maxLength: 6 },
  );

  it('end in the same state, with the same conflicts, after random commits with stale versions', async () => {
    let sequence = 49590338271490256608559692538361571095921575989136588898n;
    await fc.assert(
      fc.asyncProperty(batches, async (plan) => {
        const stage = newStageId();
        const stores: WindowStore[] = [dynamoStore(), new MemoryWindowStore({ returnCurrentOnConflict: false })];
        // What the writer believes the versions are: the memory store's answers, which the
        // DynamoDB store must match.
        const versions = new Map<string, number>();
        for (const batch of plan) {
          sequence += 1n;
          const changes: WindowChange[] = batch.map((s) => {
            const window = w(s.key, s.start);
            const known = versions.get(`${s.key}/${s.start}`) ?? 0;
            const expected = s.fresh ? known : s.stale;
            return s.kind === 'delete'
              ? del(stage, window, Math.max(1, expected))
              : put(stage, window, {
                  expected,
                  shard: s.shard,
                  seq: String(sequence),
                  accumulator: s.accumulator,
                  count: s.count,
                  fireAt: base + s.fireAt,
                });
          });
          const [dynamo, memory] = (await Promise.all(stores.map((store) => store.commitAll(changes)))) as [
            CommitOutcome,
            CommitOutcome,
          ];
          expect(dynamo).toEqual(memory);
          for (const { change, version } of memory.committed) {
            const ref = change.kind === 'put' ? change.state : change.window;
            versions.set(`${ref.key}/${ref.start}`, version);
          }
        }
        const [dynamoState, memoryState] = await Promise.all(stores.map((store) => snapshot(store, stage)));
        expect(dynamoState).toEqual(memoryState);
      }),
      { numRuns: 30 },
    );
  });

  /** Everything a stage can read back. */
  async function snapshot(store: WindowStore, stage: string): Promise<unknown> {
    const byKey = await store.queryWindows(stage, keys);
    const exact = await store.getWindows(
      stage,
      keys.flatMap((key) => [-2000, 0, 1000].map((start) => w(key, start))),
    );
    const due = await Promise.all(
      shards.map(async (shard) =>
        (await store.dueWindows(stage, shard, base + 2500)).map((s) => [s.fireAt, s.state.key, s.state.start]).sort(),
      ),
    );
    return { byKey: [...byKey], exact, due };
  }
});
