export { pipeline, Pipeline } from './dsl/pipeline.js';
export { DataStream, KeyedStream } from './dsl/data-stream.js';
export type { KeyByOptions, KeyValue, OperatorOptions, SinkOptions, SourceOptions } from './dsl/options.js';
export type { PipelineOptions } from './dag/pipeline-graph.js';
export { PipelineDefinitionError } from './dag/errors.js';
export type { EventSourceSettings, PipelinePlan, StageSpec, StreamSpec, StreamRole } from './dag/plan-types.js';
export { toMermaid, describePipeline } from './dag/describe.js';
