import type { z } from 'zod';
import { describePipeline, type PipelineDescription } from '../dag/describe.js';
import { PipelineDefinitionError } from '../dag/errors.js';
import { PipelineGraph, type PipelineOptions } from '../dag/pipeline-graph.js';
import { planPipeline } from '../dag/plan.js';
import type { PipelinePlan } from '../dag/plan-types.js';
import { resolveInputLimits } from '../operators/input-limits.js';
import { parseDuration } from '../windows/duration.js';
import { DataStream } from './data-stream.js';
import { dynamoDbStreamSpec } from './dynamodb-stream-source.js';
import type { DynamoDbStreamSourceOptions, SourceOptions, TableChange, TableOptions } from './options.js';
import { Table } from './table.js';

/**
 * A dataflow pipeline: sources, the operators applied to them and the sinks they end in. The same
 * object is deployed by the CDK construct, run by `eddy run` and served by every stage's Lambda.
 */
export class Pipeline {
  /** @internal The recorded DAG; the runtime reads the user's functions from it. */
  readonly graph: PipelineGraph;
  constructor(name: string, options: PipelineOptions = {}) {
    this.graph = new PipelineGraph(name, options);
  }

  get name(): string {
    return this.graph.name;
  }

  /**
   * Reads a DynamoDB table's changes (DynamoDB Streams, NEW_AND_OLD_IMAGES): INSERT, MODIFY and
   * REMOVE, with their keys and images checked by `schema` (docs/sources.md).
   */
  source<S extends z.ZodType>(
    name: string,
    options: DynamoDbStreamSourceOptions<S>,
  ): DataStream<TableChange<z.output<S>>>;
  /** Reads a Kinesis stream whose records are JSON values that match `schema`. */
  source<S extends z.ZodType>(stream: string, options: SourceOptions<S>): DataStream<z.output<S>>;
  source<S extends z.ZodType>(
    stream: string,
    options: SourceOptions<S> | DynamoDbStreamSourceOptions<S>,
  ): DataStream<unknown> {
    const name = stream;
    const dynamoDbStream = 'dynamoDbStream' in options ? dynamoDbStreamSpec(name, options) : undefined;
    this.graph.add({
      kind: 'source',
      name,
      stream,
      schema: options.schema,
      ...(options.eventTime !== undefined && { eventTime: options.eventTime as (value: unknown) => unknown }),
      maxOutOfOrderness: parseDuration(options.maxOutOfOrderness ?? 0, `source '${name}': maxOutOfOrderness`),
      ...('idleTimeout' in options &&
        options.idleTimeout !== undefined && {
          idleTimeout: parseDuration(options.idleTimeout, `source '${name}': idleTimeout`),
        }),
      ...('shards' in options && options.shards !== undefined && { shards: options.shards }),
      ...(dynamoDbStream !== undefined && { dynamoDbStream }),
      ...(options.eventSource !== undefined && { eventSource: options.eventSource }),
      // Read by the source's decoder (shared/runtime/decode.ts).
      ...(options.limits !== undefined && { limits: resolveInputLimits(options.limits, `source '${name}'`) }),
    });
    return new DataStream<unknown>(this, this.graph, name);
  }

  /**
   * An existing DynamoDB table to enrich streams with (`DataStream.enrich`), looked up by its
   * partition key. The pipeline only reads it (BatchGetItem): whatever keeps it up to date is not
   * part of the pipeline.
   */
  table<S extends z.ZodType>(name: string, options: TableOptions<S>): Table<z.output<S>> {
    const label = `table '${name}'`;
    const keyType = options.partitionKeyType ?? 'string';
    if (keyType !== 'string' && keyType !== 'number') {
      throw new PipelineDefinitionError(
        `partitionKeyType must be 'string' or 'number', got ${JSON.stringify(keyType)}`,
        label,
      );
    }
    if (typeof options.partitionKey !== 'string' || options.partitionKey.length === 0) {
      throw new PipelineDefinitionError("partitionKey must name the table's partition key attribute", label);
    }
    this.graph.addTable({
      name,
      kind: 'external',
      tableName: options.tableName,
      partitionKey: options.partitionKey,
      partitionKeyType: keyType,
      schema: options.schema,
      consistentRead: options.consistentRead ?? false,
    });
    return new Table<z.output<S>>(this, name);
  }

  /** The streams and stages this pipeline deploys to; validates the whole DAG. */
  plan(): PipelinePlan {
    return planPipeline(this.graph);
  }

  /** A JSON-serialisable description of the DAG and its stages. */
  describe(): PipelineDescription {
    return describePipeline(this.graph, this.plan());
  }
}

/**
 * Starts a pipeline definition.
 *
 * @example
 * export default pipeline('page-views')
 *   .source('clicks', { schema: Click, eventTime: (c) => c.ts })
 *   .filter((c) => c.kind === 'view')
 *   .keyBy((c) => c.page)
 *   .sink('page-views-by-page');
 */
export function pipeline(name: string, options: PipelineOptions = {}): Pipeline {
  return new Pipeline(name, options);
}
