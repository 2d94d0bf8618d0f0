import { PipelineDefinitionError } from './errors.js';
import { assertBatchingPreference, type BatchingPreference } from './event-source-settings.js';
import {
  type DestinationDefinition,
  type OperatorKind,
  type PipelineNode,
  streamsWrittenBy,
  type TableDefinition,
} from './graph.js';
import {
  assertDynamoTableName,
  assertOperatorName,
  assertPipelineName,
  assertQueueName,
  assertStreamName,
} from './names.js';
import type { DeadLetterDestination, EventSourceSettings } from './plan-types.js';
import { applyProfile, type LateRecordsDestination, type PipelineProfile } from './profile.js';
import { assertShuffleFormat, type ShuffleFormat } from './shuffle-format.js';

/** Where records a stage could not process go (docs/reliability.md, "Dead letters"). */
export interface DeadLetterOptions {
  /**
   * Send dead letters to an SQS queue (encrypted, TLS only, kept 14 days) instead of a Kinesis
   * stream: no dead-letter stream is created, and each stage may only SendMessage to the queue.
   * @default false: the pipeline's dead-letter stream
   */
  readonly queue?: boolean;
  /**
   * The queue's (or, without `queue`, the stream's) name, before any deployment prefix.
   * @default '<pipeline>-dead-letters'
   */
  readonly name?: string;
}

export interface PipelineOptions {
  /**
   * Stream that receives records a stage could not process, with the error and where they came from.
   * Excludes `deadLetter`, which says the same and more (`deadLetter: { name }`).
   * @default '<pipeline>-dead-letters'
   */
  readonly deadLetterStream?: string;
  /**
   * Where dead letters go: `{ queue: true }` for an SQS queue, `{ name }` to name the stream or queue.
   * Excludes `deadLetterStream`.
   * @default the stream `<pipeline>-dead-letters`
   */
  readonly deadLetter?: DeadLetterOptions;
  /** Event source mapping settings for every stage, overridable per source and keyBy. */
  readonly eventSource?: Partial<EventSourceSettings>;
  /**
   * How windowed stages batch their input when `eventSource` does not say: `'latency'` in batches of
   * at most a second, `'cost'` in batches of about one window period (a tumbling window's size, a
   * hopping window's slide, a session's gap; at most 300 s and 10,000 records), which writes each
   * key's window about once per period, for up to that period more latency (docs/cost.md).
   * @default 'latency'
   */
  readonly batching?: BatchingPreference;
  /**
   * The wire format stages write to shuffle streams: 2 leaves out of each envelope the correlation
   * id its position already says (about 40% of a shuffle's bytes). Every stage reads both formats,
   * but a stage deployed before this option existed reads only 1: move an existing pipeline to 2 in
   * a deployment of its own, after one that brought the stages reading both (docs/operations.md).
   * @default 1
   */
  readonly shuffleFormat?: ShuffleFormat;
  /**
   * Shards of every stream whose shard count is not given.
   * @default 1
   */
  readonly defaultShards?: number;
  /**
   * Where the late records of a window or join that names no `lateOutput` go: `'stream'` to a stream
   * of its own, `<pipeline>-<name>-late` (paid by the shard-hour, empty or not); `'dead-letter'` to
   * the dead-letter destination, each as a dead letter with the reason `late` naming the operator,
   * the record's event time and the watermark it missed (no stream; with `deadLetter: { queue: true }`
   * nothing is paid while there are none). A window or join that names `lateOutput` keeps its stream.
   * @default 'stream' ('dead-letter' with `profile: 'cost'`)
   */
  readonly lateRecords?: LateRecordsDestination;
  /**
   * Whether each stage publishes per-operator metrics (five EMF metrics per operator fused in it,
   * the dashboard's "operators" graph) beside its stage metrics. Off, the stage metrics, alarms and
   * dashboard rows stay; local runs (`eddy run`, `eddy dev`, `eddy status`) count operators anyway.
   * @default true (false with `profile: 'cost'`)
   */
  readonly operatorMetrics?: boolean;
  /**
   * `'cost'` for the cheapest run (docs/cost.md, "Latency or cost"): `batching: 'cost'`,
   * `deadLetter: { queue: true }`, `lateRecords: 'dead-letter'`, `operatorMetrics: false`, and no
   * X-Ray tracing in EddyPipeline; each only where the options do not say otherwise.
   * @default 'default'
   */
  readonly profile?: PipelineProfile;
}

/**
 * The DAG of one pipeline as its builder records it: nodes in creation order, each with its parent.
 * It checks what can be checked when a node is added (names, duplicate streams); what needs the whole
 * graph (a branch with no sink) is checked by the planner.
 */
export class PipelineGraph {
  readonly #nodes = new Map<string, PipelineNode>();
  readonly #children = new Map<string, string[]>();
  readonly #streams = new Map<string, string>();
  readonly #counters = new Map<string, number>();
  readonly #tables = new Map<string, TableDefinition>();
  readonly #destinations = new Map<string, DestinationDefinition>();

  /** Where dead letters go, as the plan says. */
  readonly deadLetter: DeadLetterDestination;

  /** The pipeline's options, with what its `profile` implies filled in. */
  readonly options: PipelineOptions;

  constructor(
    readonly name: string,
    options: PipelineOptions = {},
  ) {
    assertPipelineName(name);
    this.options = applyProfile(options, `pipeline '${name}'`);
    if (this.options.batching !== undefined) assertBatchingPreference(this.options.batching, `pipeline '${name}'`);
    if (this.options.shuffleFormat !== undefined) assertShuffleFormat(this.options.shuffleFormat, `pipeline '${name}'`);
    this.deadLetter = resolveDeadLetter(name, this.options);
    if (this.deadLetter.kind === 'stream') this.#streams.set(this.deadLetter.name, 'the dead-letter stream');
  }

  /** The dead-letter stream; undefined when dead letters go to a queue. */
  get deadLetterStream(): string | undefined {
    return this.deadLetter.kind === 'stream' ? this.deadLetter.name : undefined;
  }

  /** The name a node gets when the user gives none: `<kind>-<n>`, counted per kind. */
  /** `<kind>-<n>`: `kind` an operator kind, or the DSL method of one (`toSqs` for a `toDestination`). */
  nextName(kind: OperatorKind | 'toSqs' | 'toEventBridge' | 'toFirehose'): string {
    const n = (this.#counters.get(kind) ?? 0) + 1;
    this.#counters.set(kind, n);
    return `${kind}-${n}`;
  }

  add<N extends PipelineNode>(node: N): N {
    const label = `${node.kind} '${node.name}'`;
    assertOperatorName(node.name, node.kind);
    if (this.#nodes.has(node.name)) {
      throw new PipelineDefinitionError(
        `an operator named '${node.name}' already exists in pipeline '${this.name}'`,
        label,
      );
    }
    if (node.parent !== undefined && !this.#nodes.has(node.parent)) {
      throw new PipelineDefinitionError(`reads from '${node.parent}', which is not in pipeline '${this.name}'`, label);
    }
    if ('fn' in node && typeof node.fn !== 'function') {
      throw new PipelineDefinitionError(`expects a function, got ${typeof node.fn}`, label);
    }
    if ('shards' in node && node.shards !== undefined) assertShardCount(node.shards, label);
    // A join claims its stream (both its sides write it) and its late output.
    const streams =
      node.kind === 'source'
        ? [node.stream]
        : node.kind === 'join'
          ? [node.stream, ...streamsWrittenBy(node)]
          : node.kind === 'joinSide'
            ? []
            : streamsWrittenBy(node);
    for (const stream of streams) this.#claimStream(stream, label);
    this.#nodes.set(node.name, node);
    if (node.parent !== undefined) this.#children.get(node.parent)?.push(node.name);
    this.#children.set(node.name, []);
    return node;
  }

  /** Declares a table (`toTable`, `pipeline.table`); its name is unique among the pipeline's tables. */
  addTable(table: TableDefinition): TableDefinition {
    const label = `table '${table.name}'`;
    assertOperatorName(table.name, label);
    if (this.#tables.has(table.name)) {
      throw new PipelineDefinitionError(
        `a table named '${table.name}' already exists in pipeline '${this.name}'`,
        label,
      );
    }
    assertDynamoTableName(table.tableName, label);
    for (const other of this.#tables.values()) {
      if (other.tableName === table.tableName) {
        throw new PipelineDefinitionError(
          `DynamoDB table '${table.tableName}' is already table '${other.name}' of pipeline '${this.name}'`,
          label,
        );
      }
    }
    this.#tables.set(table.name, table);
    return table;
  }

  /**
   * Declares a queue, bus or delivery stream (`toSqs`, `toEventBridge`, `toFirehose`). Outputs are
   * routed by name, so it shares the streams' namespace; two sinks to one destination must agree.
   */
  addDestination(destination: DestinationDefinition, label: string): DestinationDefinition {
    const known = this.#destinations.get(destination.name);
    if (known !== undefined) {
      if (JSON.stringify(known) !== JSON.stringify(destination)) {
        throw new PipelineDefinitionError(
          `'${destination.name}' is already a destination of pipeline '${this.name}' with other options`,
          label,
        );
      }
      return known;
    }
    const owner = this.#streams.get(destination.name);
    if (owner !== undefined) {
      throw new PipelineDefinitionError(`'${destination.name}' is already a stream used by ${owner}`, label);
    }
    this.#streams.set(destination.name, label);
    this.#destinations.set(destination.name, destination);
    return destination;
  }

  destination(name: string): DestinationDefinition {
    const destination = this.#destinations.get(name);
    if (destination === undefined) {
      throw new PipelineDefinitionError(`no destination named '${name}' in pipeline '${this.name}'`);
    }
    return destination;
  }

  destinations(): readonly DestinationDefinition[] {
    return [...this.#destinations.values()];
  }

  table(name: string): TableDefinition {
    const table = this.#tables.get(name);
    if (table === undefined) throw new PipelineDefinitionError(`no table named '${name}' in pipeline '${this.name}'`);
    return table;
  }

  tables(): readonly TableDefinition[] {
    return [...this.#tables.values()];
  }

  node(name: string): PipelineNode {
    const node = this.#nodes.get(name);
    if (node === undefined) throw new PipelineDefinitionError(`no operator named '${name}' in pipeline '${this.name}'`);
    return node;
  }

  children(name: string): readonly PipelineNode[] {
    return (this.#children.get(name) ?? []).map((child) => this.node(child));
  }

  nodes(): readonly PipelineNode[] {
    return [...this.#nodes.values()];
  }

  #claimStream(stream: string, label: string): void {
    assertStreamName(stream, label);
    const owner = this.#streams.get(stream);
    if (owner !== undefined) {
      throw new PipelineDefinitionError(`stream '${stream}' is already used by ${owner}`, label);
    }
    this.#streams.set(stream, label);
  }
}

/** Validates the dead-letter options: one of `deadLetterStream` and `deadLetter`, and a valid name for its kind. */
function resolveDeadLetter(pipeline: string, options: PipelineOptions): DeadLetterDestination {
  const where = `pipeline ${pipeline}`;
  const option = options.deadLetter;
  if (option !== undefined && options.deadLetterStream !== undefined) {
    throw new PipelineDefinitionError(
      'deadLetterStream and deadLetter exclude each other: use deadLetter: { name } to name the dead-letter stream, ' +
        'or deadLetter: { queue: true, name } for a queue',
      where,
    );
  }
  if (option !== undefined && (typeof option !== 'object' || option === null)) {
    throw new PipelineDefinitionError(`deadLetter must be an object ({ queue?, name? }), got ${typeof option}`, where);
  }
  const queue = option?.queue ?? false;
  if (typeof queue !== 'boolean') {
    throw new PipelineDefinitionError(`deadLetter.queue must be true or false, got ${JSON.stringify(queue)}`, where);
  }
  const name = option?.name ?? options.deadLetterStream ?? `${pipeline}-dead-letters`;
  if (queue) {
    assertQueueName(name, `${where}: deadLetter.name`);
    return { kind: 'queue', name };
  }
  assertStreamName(name, `${where}: ${option === undefined ? 'deadLetterStream' : 'deadLetter.name'}`);
  return { kind: 'stream', name };
}

/** Kinesis on-demand and provisioned streams: a stream has at least one shard; 500 is the default account quota. */
export function assertShardCount(shards: number, label: string): void {
  if (!Number.isInteger(shards) || shards < 1 || shards > 500) {
    throw new PipelineDefinitionError(`shards must be an integer from 1 to 500, got ${shards}`, label);
  }
}
