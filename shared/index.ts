export { describePipeline, toMermaid } from './dag/describe.js';
export { PipelineDefinitionError } from './dag/errors.js';
export type { DeadLetterOptions, PipelineOptions } from './dag/pipeline-graph.js';
export type {
  DeadLetterDestination,
  EventSourceSettings,
  PipelinePlan,
  StageSpec,
  StreamRole,
  StreamSpec,
  TableSpec,
} from './dag/plan-types.js';
export { DataStream, KeyedStream, type ProcessOptions } from './dsl/data-stream.js';
export type {
  EnrichOptions,
  KeyByOptions,
  KeyValue,
  OperatorOptions,
  SinkOptions,
  SourceOptions,
  TableOptions,
  ToTableOptions,
} from './dsl/options.js';
export { Pipeline, pipeline } from './dsl/pipeline.js';
export { Table } from './dsl/table.js';
export { DEFAULT_INPUT_LIMITS, type InputLimits } from './operators/input-limits.js';
export {
  UnknownSchemaVersionError,
  type VersionedSchema,
  type VersionsOptions,
  versions,
} from './operators/schema-versions.js';
export {
  pipelineSecrets,
  type SecretLoader,
  type SecretOptions,
  type SecretRef,
  SecretUnavailableError,
  type SecretUse,
  secret,
  secretEnvironmentVariable,
  secretValue,
  stageSecrets,
  usesSecrets,
} from './operators/secrets.js';
export {
  type FieldTransform,
  MASKED,
  type MaskOptions,
  mask,
  type TokenizeOptions,
  tokenize,
} from './operators/sensitive-fields.js';
export {
  type ListState,
  type MapState,
  type ProcessContext,
  type ProcessFunction,
  type StateDescriptor,
  type StateDescriptors,
  type StateOptions,
  state,
  type TimerContext,
  type TimerService,
  type ValueState,
} from './process/keyed-process.js';
export type { TopNResult } from './process/library.js';
