import { PipelineDefinitionError } from '../dag/errors.js';
import type { AnyFunction, DestinationDefinition } from '../dag/graph.js';
import type { PipelineGraph } from '../dag/pipeline-graph.js';
import { type PatternMatch, PatternOutputs, patternFunction } from '../process/cep.js';
import type { Pattern } from '../process/cep-pattern.js';
import type { ProcessFunction, StateDescriptors } from '../process/keyed-process.js';
import { dedupeFunction, type TopNResult, topNFunction } from '../process/library.js';
import { parseTimeSpan } from '../windows/event-time.js';
import type { Aggregation, Duration, WindowAssigner, WindowOptions, WindowResult } from '../windows/types.js';
import type {
  EnrichOptions,
  JoinOptions,
  KeyAttribute,
  KeyByOptions,
  KeyValue,
  OperatorOptions,
  SinkOptions,
  ToDynamoDbOptions,
  ToEventBridgeOptions,
  ToFirehoseOptions,
  ToSqsOptions,
  ToTableOptions,
} from './options.js';
import type { Pipeline } from './pipeline.js';
import { Table } from './table.js';

/**
 * A stream of values of type T inside a pipeline. Each method adds an operator and returns the
 * stream it produces; a stream may feed several operators (fan-out).
 *
 * @example
 * clicks.filter((c) => c.kind === 'view').map((c) => c.page).sink('viewed-pages');
 */
export class DataStream<T> {
  /** @internal */
  constructor(
    protected readonly pipeline: Pipeline,
    protected readonly graph: PipelineGraph,
    /** The operator that produces this stream. */
    readonly operator: string,
  ) {}

  map<U>(fn: (value: T) => U, options: OperatorOptions = {}): DataStream<U> {
    return this.#then<U>('map', fn, options);
  }

  filter<S extends T>(predicate: (value: T) => value is S, options?: OperatorOptions): DataStream<S>;
  filter(predicate: (value: T) => boolean, options?: OperatorOptions): DataStream<T>;
  filter(predicate: (value: T) => boolean, options: OperatorOptions = {}): DataStream<T> {
    return this.#then<T>('filter', predicate, options);
  }

  flatMap<U>(fn: (value: T) => Iterable<U>, options: OperatorOptions = {}): DataStream<U> {
    return this.#then<U>('flatMap', fn, options);
  }

  /**
   * Re-partitions the stream by key: records go through a Kinesis stream whose partition key is the
   * key, so that all records of a key meet on one shard, and the operators after it run in a new stage.
   */
  keyBy(keyOf: (value: T) => KeyValue, options: KeyByOptions = {}): KeyedStream<T> {
    const name = options.name ?? this.graph.nextName('keyBy');
    this.graph.add({
      kind: 'keyBy',
      name,
      parent: this.operator,
      fn: keyOf as (value: unknown) => unknown,
      stream: options.stream ?? `${this.graph.name}-${name}`,
      ...(options.shards !== undefined && { shards: options.shards }),
      ...(options.eventSource !== undefined && { eventSource: options.eventSource }),
    });
    return new KeyedStream<T>(this.pipeline, this.graph, name);
  }

  /**
   * Joins this stream (left) with another (right) by key and event time. Emits `[left, right]` for
   * each pair, and for outer interval joins `[left, null]` / `[null, right]` for records that found
   * no partner once the watermark has passed their interval. Both sides need event time.
   *
   * @example
   * orders.join(payments, { left: (o) => o.orderId, right: (p) => p.orderId, within: { after: '10m' } })
   */
  join<U>(other: DataStream<U>, options: JoinOptions<T, U> & { type: 'left' }): DataStream<[T, U | null]>;
  join<U>(other: DataStream<U>, options: JoinOptions<T, U> & { type: 'right' }): DataStream<[T | null, U]>;
  join<U>(other: DataStream<U>, options: JoinOptions<T, U> & { type: 'full' }): DataStream<[T | null, U | null]>;
  join<U>(other: DataStream<U>, options: JoinOptions<T, U> & { type?: 'inner' }): DataStream<[T, U]>;
  join<U>(other: DataStream<U>, options: JoinOptions<T, U>): DataStream<[T | null, U | null]> {
    const name = options.name ?? this.graph.nextName('join');
    const label = `join '${name}'`;
    if (other.pipeline !== this.pipeline) {
      throw new PipelineDefinitionError('joins a stream of another pipeline', label);
    }
    if ((options.within === undefined) === (options.window === undefined)) {
      throw new PipelineDefinitionError('needs either `within` (interval join) or `window` (window join)', label);
    }
    const type = options.type ?? 'inner';
    if (options.window !== undefined && type !== 'inner') {
      throw new PipelineDefinitionError(`a window join is inner only, got type '${type}'`, label);
    }
    if (options.window !== undefined && options.window.kind === 'session') {
      throw new PipelineDefinitionError('a window join needs tumbling or hopping windows', label);
    }
    if (options.window !== undefined && options.window.timeDomain !== 'event') {
      throw new PipelineDefinitionError('a window join runs on event time', label);
    }
    // A record's join range, time ± within, must stay inside what the store's keys encode (event-time.ts).
    const before = parseTimeSpan(options.within?.before ?? 0, `${label}: within.before`);
    const after = parseTimeSpan(options.within?.after ?? 0, `${label}: within.after`);
    const stream = options.stream ?? `${this.graph.name}-${name}`;
    this.graph.add({
      kind: 'join',
      name,
      stream,
      left: `${name}-left`,
      right: `${name}-right`,
      condition:
        options.window !== undefined
          ? { kind: 'window', assigner: options.window }
          : { kind: 'interval', before, after },
      type,
      allowedLateness: parseTimeSpan(options.allowedLateness ?? 0, `${label}: allowedLateness`),
      ...lateOutputOf(this.graph, name, options.lateOutput),
      ...(options.shards !== undefined && { shards: options.shards }),
      ...(options.eventSource !== undefined && { eventSource: options.eventSource }),
    });
    for (const [side, from, keyOf] of [
      ['left', this, options.left],
      ['right', other, options.right],
    ] as const) {
      this.graph.add({
        kind: 'joinSide',
        name: `${name}-${side}`,
        parent: from.operator,
        fn: keyOf as (value: unknown) => unknown,
        side,
        join: name,
        stream,
      });
    }
    return new DataStream<[T | null, U | null]>(this.pipeline, this.graph, name);
  }

  /**
   * Stream-table join (Kafka Streams' KStream-KTable join): pairs each record with the row its key
   * has in `table` when the record is processed, as `[value, row]`; with `type: 'left'` a record
   * whose key has no row is emitted as `[value, null]`, with 'inner' (the default) it is dropped.
   * Rows are read from DynamoDB once per distinct key per batch, so the stage stays stateless.
   *
   * @example
   * clicks.enrich(users, { key: (c) => c.userId, type: 'left' }).map(([c, u]) => ({ ...c, country: u?.country }))
   */
  enrich<R>(table: Table<R>, options: EnrichOptions<T> & { type: 'left' }): DataStream<[T, R | null]>;
  enrich<R>(table: Table<R>, options: EnrichOptions<T> & { type?: 'inner' }): DataStream<[T, R]>;
  enrich<R>(table: Table<R>, options: EnrichOptions<T>): DataStream<[T, R | null]>;
  enrich<R>(table: Table<R>, options: EnrichOptions<T>): DataStream<[T, R | null]> {
    const name = options.name ?? this.graph.nextName('enrich');
    if (table.pipeline !== this.pipeline) {
      throw new PipelineDefinitionError(`enriches with table '${table.name}' of another pipeline`, `enrich '${name}'`);
    }
    const type = options.type ?? 'inner';
    if (type !== 'inner' && type !== 'left') {
      throw new PipelineDefinitionError(
        `type must be 'inner' or 'left', got ${JSON.stringify(type)}`,
        `enrich '${name}'`,
      );
    }
    this.graph.add({
      kind: 'enrich',
      name,
      parent: this.operator,
      fn: options.key as (value: unknown) => unknown,
      table: table.name,
      type,
    });
    return new DataStream<[T, R | null]>(this.pipeline, this.graph, name);
  }

  /**
   * Keeps the stream as a table: the latest value per key (Kafka Streams' `toTable`), in a DynamoDB
   * table the pipeline owns, `<pipeline>-table-<name>`. Ends the branch; `enrich` reads the table.
   *
   * @example
   * const users = p.source('user-updates', { schema: User }).toTable('users', { key: (u) => u.id, version: (u) => u.updatedAt });
   */
  toTable(tableName: string, options: ToTableOptions<T>): Table<T> {
    const name = options.name ?? this.graph.nextName('toTable');
    this.graph.addTable({
      name: tableName,
      kind: 'materialized',
      tableName: `${this.graph.name}-table-${tableName}`,
      partitionKey: 'k',
      partitionKeyType: 'string',
      consistentRead: true,
    });
    for (const [option, fn] of [
      ['version', options.version],
      ['deleted', options.deleted],
    ] as const) {
      if (fn !== undefined && typeof fn !== 'function') {
        throw new PipelineDefinitionError(`${option} must be a function, got ${typeof fn}`, `toTable '${name}'`);
      }
    }
    this.graph.add({
      kind: 'toTable',
      name,
      parent: this.operator,
      fn: options.key as (value: unknown) => unknown,
      table: tableName,
      ...(options.version !== undefined && { version: options.version as (value: unknown) => unknown }),
      ...(options.deleted !== undefined && { deleted: options.deleted as (value: unknown) => unknown }),
    });
    return new Table<T>(this.pipeline, tableName);
  }

  /**
   * Writes each record as an item of a DynamoDB table (a materialized view, docs/sinks.md): an upsert
   * of the record's fields keyed by `key(record)`, or a delete when `delete(record)` says so, kept only
   * if newer than the item there (its `version`, by default its event time), so that repeats, retries
   * and reordering leave each key's newest record. Returns the pipeline to export.
   *
   * @example
   * counts.toDynamoDb('page-counts', { key: (r) => [r.key, r.windowStart], sortKey: { name: 'windowStart', type: 'number' } })
   */
  toDynamoDb(table: string, options: ToDynamoDbOptions<T>): Pipeline {
    const name = options.name ?? this.graph.nextName('toDynamoDb');
    const label = `toDynamoDb '${name}'`;
    for (const [option, fn] of [
      ['key', options.key],
      ['version', options.version],
      ['delete', options.delete],
    ] as const) {
      if ((fn !== undefined || option === 'key') && typeof fn !== 'function') {
        throw new PipelineDefinitionError(`${option} must be a function, got ${typeof fn}`, label);
      }
    }
    const arn = /^arn:aws[\w-]*:dynamodb:[^:]*:\d*:table\/([^/]+)$/.exec(table);
    const tableName = arn?.[1] ?? table;
    const existing = arn !== null || options.existing === true;
    const keyOf = (attribute: KeyAttribute, what: string) => {
      const type = attribute.type ?? 'string';
      if (type !== 'string' && type !== 'number') {
        throw new PipelineDefinitionError(
          `${what}.type must be 'string' or 'number', got ${JSON.stringify(type)}`,
          label,
        );
      }
      return { name: attribute.name, type };
    };
    const partitionKey = keyOf(options.partitionKey ?? { name: 'pk' }, 'partitionKey');
    this.graph.addTable({
      name: tableName,
      kind: 'sink',
      tableName,
      partitionKey: partitionKey.name,
      partitionKeyType: partitionKey.type,
      consistentRead: false,
      ...(options.sortKey !== undefined && { sortKey: keyOf(options.sortKey, 'sortKey') }),
      ...(existing && { existing: arn === null ? {} : { tableArn: table } }),
    });
    this.graph.add({
      kind: 'toDynamoDb',
      name,
      parent: this.operator,
      fn: options.key as (value: unknown) => unknown,
      table: tableName,
      ...(options.version !== undefined && { version: options.version as (value: unknown) => unknown }),
      ...(options.delete !== undefined && { deleted: options.delete as (value: unknown) => unknown }),
    });
    return this.pipeline;
  }

  /**
   * Sends each record, as JSON, to an SQS queue (docs/sinks.md): standard (at least once, the
   * record's deterministic id in the `eddyId` message attribute) or FIFO (the key as message group,
   * the id as deduplication id). Returns the pipeline to export.
   *
   * @example
   * alerts.keyBy((a) => a.account).toSqs('alerts.fifo')
   */
  toSqs(queue: string, options: ToSqsOptions<T> = {}): Pipeline {
    const name = options.name ?? this.graph.nextName('toSqs');
    const label = `toSqs '${name}'`;
    if (options.group !== undefined && typeof options.group !== 'function') {
      throw new PipelineDefinitionError(`group must be a function, got ${typeof options.group}`, label);
    }
    const arn = /^arn:aws[\w-]*:sqs:[^:]*:\d*:([^:/]+)$/.exec(queue);
    const queueName = arn?.[1] ?? queue;
    if (!/^[A-Za-z0-9_-]{1,75}(\.fifo)?$/.test(queueName) || queueName.length > 80) {
      throw new PipelineDefinitionError(
        `queue name '${queueName}' must be 1 to 80 letters, digits, - and _ (a FIFO queue's ending in .fifo)`,
        label,
      );
    }
    const fifo = options.fifo ?? queueName.endsWith('.fifo');
    if (fifo !== queueName.endsWith('.fifo')) {
      throw new PipelineDefinitionError(
        `a FIFO queue's name ends in .fifo and only a FIFO queue's does: '${queueName}'`,
        label,
      );
    }
    if (!fifo && options.group !== undefined) {
      throw new PipelineDefinitionError('group is for FIFO queues only', label);
    }
    return this.#toDestination(
      name,
      label,
      {
        name: queueName,
        service: 'sqs',
        ...(fifo && { fifo }),
        ...((arn !== null || options.existing === true) && { existing: arn === null ? {} : { arn: queue } }),
      },
      options.group as AnyFunction | undefined,
    );
  }

  /**
   * Sends each record as an event to an EventBridge bus (docs/sinks.md): the record is the event's
   * Detail (a JSON object), with its deterministic id in `eddyId`; at least once. Returns the pipeline.
   *
   * @example
   * orders.toEventBridge('shop-events', { detailType: 'OrderPlaced', source: 'shop.orders' })
   */
  toEventBridge(bus: string, options: ToEventBridgeOptions): Pipeline {
    const name = options.name ?? this.graph.nextName('toEventBridge');
    const label = `toEventBridge '${name}'`;
    for (const field of ['detailType', 'source'] as const) {
      const value = options[field] as unknown;
      if (typeof value !== 'string' || value.length === 0) {
        throw new PipelineDefinitionError(`${field} must be a non-empty string, got ${JSON.stringify(value)}`, label);
      }
    }
    if (options.source.startsWith('aws.')) {
      throw new PipelineDefinitionError(
        `source '${options.source}' starts with 'aws.', which AWS keeps for its events`,
        label,
      );
    }
    const arn = /^arn:aws[\w-]*:events:[^:]*:\d*:event-bus\/([^:]+)$/.exec(bus);
    const busName = arn?.[1] ?? bus;
    if (!/^[/.\-_A-Za-z0-9]{1,256}$/.test(busName) || busName === 'default') {
      throw new PipelineDefinitionError(
        `bus name '${busName}' must be 1 to 256 letters, digits, '/', '.', '-' and '_', and not 'default'`,
        label,
      );
    }
    return this.#toDestination(name, label, {
      name: busName,
      service: 'eventbridge',
      detailType: options.detailType,
      source: options.source,
      ...((arn !== null || options.existing === true) && { existing: arn === null ? {} : { arn: bus } }),
    });
  }

  /**
   * Sends each record to a Firehose delivery stream (docs/sinks.md), one JSON line each with its
   * deterministic id in `eddyId`; at least once. Returns the pipeline to export.
   *
   * @example
   * clicks.toFirehose('clicks-archive')
   */
  toFirehose(deliveryStream: string, options: ToFirehoseOptions = {}): Pipeline {
    const name = options.name ?? this.graph.nextName('toFirehose');
    const label = `toFirehose '${name}'`;
    const arn = /^arn:aws[\w-]*:firehose:[^:]*:\d*:deliverystream\/([^:/]+)$/.exec(deliveryStream);
    const streamName = arn?.[1] ?? deliveryStream;
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(streamName)) {
      throw new PipelineDefinitionError(
        `delivery stream name '${streamName}' must be 1 to 64 letters, digits, '.', '-' and '_'`,
        label,
      );
    }
    return this.#toDestination(name, label, {
      name: streamName,
      service: 'firehose',
      ...((arn !== null || options.existing === true) && { existing: arn === null ? {} : { arn: deliveryStream } }),
    });
  }

  #toDestination(name: string, label: string, destination: DestinationDefinition, group?: AnyFunction): Pipeline {
    this.graph.addDestination(destination, label);
    this.graph.add({
      kind: 'toDestination',
      name,
      parent: this.operator,
      destination: destination.name,
      ...(group !== undefined && { group }),
    });
    return this.pipeline;
  }

  /** Writes the stream's values, as JSON, to a Kinesis stream; returns the pipeline to export. */
  sink(stream: string, options: SinkOptions = {}): Pipeline {
    this.graph.add({
      kind: 'sink',
      name: options.name ?? this.graph.nextName('sink'),
      parent: this.operator,
      stream,
      ...(options.shards !== undefined && { shards: options.shards }),
    });
    return this.pipeline;
  }

  #then<U>(kind: 'map' | 'filter' | 'flatMap', fn: unknown, options: OperatorOptions): DataStream<U> {
    const name = options.name ?? this.graph.nextName(kind);
    this.graph.add({ kind, name, parent: this.operator, fn: fn as (value: unknown) => unknown });
    return new DataStream<U>(this.pipeline, this.graph, name);
  }
}

/**
 * A stream partitioned by key. Operators after keyBy keep the key: a sink writes each record with it
 * as the partition key. Windows and joins (which need a key) start from here.
 */
export class KeyedStream<T> extends DataStream<T> {
  /**
   * Groups each key's records into windows; `.aggregate()` says what to compute per window.
   *
   * @example
   * clicks.keyBy((c) => c.page).window(tumbling('1m'), { allowedLateness: '30s' }).aggregate(count())
   */
  window(assigner: WindowAssigner, options: WindowOptions = {}): WindowedStream<T> {
    return new WindowedStream<T>(this.pipeline, this.graph, this.operator, assigner, options);
  }

  /**
   * A keyed process function (Flink's KeyedProcessFunction): per record, the function gets the
   * record, its key, event time and the watermark, the key's state declared in `state`, and timers;
   * `onTimer` runs when the watermark (event time) or the clock (processing time) passes a timer.
   * State and emissions commit with the batch, exactly once (docs/process-functions.md).
   *
   * @example
   * events.keyBy((e) => e.user).process({ processElement: (e, ctx) => { ... } }, { state: { seen: state.value<number>() } })
   */
  process<O, S extends StateDescriptors = StateDescriptors>(
    fn: ProcessFunction<T, O, S>,
    options: ProcessOptions<S> = {},
  ): DataStream<O> {
    const name = options.name ?? this.graph.nextName('process');
    const label = `process '${name}'`;
    if (typeof fn?.processElement !== 'function') {
      throw new PipelineDefinitionError('needs a function with processElement(value, context)', label);
    }
    const state = options.state ?? ({} as S);
    for (const [stateName, descriptor] of Object.entries(state)) {
      if (!['value', 'map', 'list'].includes(descriptor?.kind)) {
        throw new PipelineDefinitionError(
          `state '${stateName}' must be declared with state.value(), state.map() or state.list()`,
          label,
        );
      }
    }
    const sideOutputs: Record<string, string> = {};
    for (const output of options.sideOutputs ?? []) {
      sideOutputs[output] = options.streams?.[output] ?? `${this.graph.name}-${name}-${output}`;
    }
    this.graph.add({
      kind: 'process',
      name,
      parent: this.operator,
      process: fn as ProcessFunction<unknown, unknown, StateDescriptors>,
      state,
      processingTimers: options.processingTimers === true,
      sideOutputs,
    });
    return new DataStream<O>(this.pipeline, this.graph, name);
  }

  /**
   * Drops repeats: per key, the first record of each identity within `within` of event time passes,
   * later ones with the same identity are dropped (a process function with an event-time timer).
   *
   * @example
   * clicks.keyBy((c) => c.user).dedupe((c) => c.clickId, { within: '10m' })
   */
  dedupe(identity: (value: T) => KeyValue, options: { within: Duration } & OperatorOptions): DataStream<T> {
    const { fn, state } = dedupeFunction(identity, options.within);
    return this.process(fn, { state, name: options.name ?? this.graph.nextName('process') });
  }

  /**
   * Per key and tumbling event-time window, the `n` records with the highest `by`, best first, once
   * the watermark passes the window: `{ key, windowStart, windowEnd, top }`. Records for a window
   * that has fired go to the side output stream `<pipeline>-<name>-late`.
   *
   * @example
   * sales.keyBy((s) => s.category).topN(3, { by: (s) => s.amount, window: '1h' })
   */
  topN(
    n: number,
    options: { by: (value: T) => number; window: Duration } & OperatorOptions,
  ): DataStream<TopNResult<T>> {
    const { fn, state } = topNFunction(n, options.by, options.window);
    // Records for a window that has fired go to '<pipeline>-<name>-late', as a window's late records do.
    return this.process(fn, { state, name: options.name ?? this.graph.nextName('process'), sideOutputs: ['late'] });
  }

  /**
   * Complex event processing (a subset of Flink CEP): per key, in event-time order, the runs of
   * events that match `pattern` within `within`, skipping past each match's last event, as
   * `{ key, events: { stage: [records] } }`. Partial matches that time out go to the side output
   * stream `<pipeline>-<name>-timed-out`, records behind the watermark to `<pipeline>-<name>-late`
   * (docs/cep.md).
   *
   * @example
   * payments.keyBy((p) => p.card).pattern(
   *   begin<Payment>('small', (p) => p.amount < 1).followedBy('large', (p) => p.amount > 500),
   *   { within: '10m' },
   * )
   */
  pattern(pattern: Pattern<T>, options: PatternOptions): DataStream<PatternMatch<T>> {
    const name = options.name ?? this.graph.nextName('process');
    let built: ReturnType<typeof patternFunction<T>>;
    try {
      built = patternFunction(pattern, options.within);
    } catch (error) {
      throw new PipelineDefinitionError((error as Error).message, `pattern '${name}'`, { cause: error });
    }
    return this.process(built.fn, {
      state: built.state,
      name,
      sideOutputs: [PatternOutputs.timedOut, PatternOutputs.late],
      ...(options.streams !== undefined && { streams: options.streams }),
    });
  }
}

export interface PatternOptions extends OperatorOptions {
  /** How long a match may run, from its first event's time: a partial match that runs this long times out. */
  readonly within: Duration;
  /** Side output (`timed-out`, `late`) → stream name. @default '<pipeline>-<operator name>-<output>' */
  readonly streams?: Readonly<Record<string, string>>;
}

export interface ProcessOptions<S extends StateDescriptors> extends OperatorOptions {
  /** The keyed state the function uses, declared up front: `{ count: state.value<number>() }`. */
  readonly state?: S;
  /**
   * Whether the function registers processing-time timers: its stage then gets clock ticks, so that
   * they fire in a quiet stream. Without it, registering one fails the record. @default false
   */
  readonly processingTimers?: boolean;
  /** The names the function emits to with `context.output(name, value)`, each a stream of its own. */
  readonly sideOutputs?: readonly string[];
  /** Side output name → stream name. @default '<pipeline>-<operator name>-<output>' */
  readonly streams?: Readonly<Record<string, string>>;
}

/** A keyed stream cut into windows, waiting for its aggregation. */
export class WindowedStream<T> {
  /** @internal */
  constructor(
    private readonly pipeline: Pipeline,
    private readonly graph: PipelineGraph,
    private readonly keyedBy: string,
    private readonly assigner: WindowAssigner,
    private readonly options: WindowOptions,
  ) {}

  /**
   * Aggregates each key's windows; emits `{ key, windowStart, windowEnd, value, kind, revision }`
   * once per window when the watermark passes its end plus the allowed lateness (or also as early
   * updates with `emit: 'early'`).
   */
  aggregate<A, R>(aggregation: Aggregation<T, A, R>, options: OperatorOptions = {}): DataStream<WindowResult<R>> {
    const name = options.name ?? this.graph.nextName('window');
    const label = `window '${name}'`;
    this.graph.add({
      kind: 'window',
      name,
      parent: this.keyedBy,
      assigner: this.assigner,
      aggregation: aggregation as Aggregation<unknown, unknown, unknown>,
      allowedLateness: parseTimeSpan(this.options.allowedLateness ?? 0, `${label}: allowedLateness`),
      emit: this.options.emit ?? 'final',
      ...lateOutputOf(this.graph, name, this.options.lateOutput),
    });
    return new DataStream<WindowResult<R>>(this.pipeline, this.graph, name);
  }
}

/**
 * A window's or join's late output: the stream it names, else `<pipeline>-<name>-late`, or none when
 * the pipeline sends unnamed late outputs to its dead letters (`lateRecords: 'dead-letter'`).
 */
function lateOutputOf(graph: PipelineGraph, name: string, named: string | undefined): { lateOutput?: string } {
  if (named !== undefined) return { lateOutput: named };
  return graph.options.lateRecords === 'dead-letter' ? {} : { lateOutput: `${graph.name}-${name}-late` };
}
