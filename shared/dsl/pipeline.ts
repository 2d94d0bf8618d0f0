import type { z } from 'zod';
import { describePipeline, type PipelineDescription } from '../dag/describe.js';
import { PipelineGraph, type PipelineOptions } from '../dag/pipeline-graph.js';
import { planPipeline } from '../dag/plan.js';
import type { PipelinePlan } from '../dag/plan-types.js';
import { resolveInputLimits } from '../operators/input-limits.js';
import { parseDuration } from '../windows/duration.js';
import { DataStream } from './data-stream.js';
import type { SourceOptions } from './options.js';

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

  /** Reads a Kinesis stream whose records are JSON values that match `schema`. */
  source<S extends z.ZodType>(stream: string, options: SourceOptions<S>): DataStream<z.output<S>> {
    const name = stream;
    this.graph.add({
      kind: 'source',
      name,
      stream,
      schema: options.schema,
      ...(options.eventTime !== undefined && { eventTime: options.eventTime as (value: unknown) => unknown }),
      maxOutOfOrderness: parseDuration(options.maxOutOfOrderness ?? 0, `source '${name}': maxOutOfOrderness`),
      ...(options.idleTimeout !== undefined && {
        idleTimeout: parseDuration(options.idleTimeout, `source '${name}': idleTimeout`),
      }),
      ...(options.shards !== undefined && { shards: options.shards }),
      ...(options.eventSource !== undefined && { eventSource: options.eventSource }),
      // Read by the source's decoder (shared/runtime/decode.ts).
      ...(options.limits !== undefined && { limits: resolveInputLimits(options.limits, `source '${name}'`) }),
    });
    return new DataStream<z.output<S>>(this, this.graph, name);
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
