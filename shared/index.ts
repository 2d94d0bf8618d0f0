export { describePipeline, toMermaid } from './dag/describe.js';
export { PipelineDefinitionError } from './dag/errors.js';
export type { PipelineOptions } from './dag/pipeline-graph.js';
export type { EventSourceSettings, PipelinePlan, StageSpec, StreamRole, StreamSpec } from './dag/plan-types.js';
export { DataStream, KeyedStream } from './dsl/data-stream.js';
export type { KeyByOptions, KeyValue, OperatorOptions, SinkOptions, SourceOptions } from './dsl/options.js';
export { Pipeline, pipeline } from './dsl/pipeline.js';
