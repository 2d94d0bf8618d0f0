export { describePipeline, drawingToMermaid, type PipelineDescription, toMermaid } from './dag/describe.js';
export {
  type DrawnEdge,
  type DrawnEdgeKind,
  type DrawnNode,
  type DrawnNodeKind,
  type DrawnStage,
  drawPipeline,
  type PipelineDrawing,
} from './dag/drawing.js';
export { PipelineDefinitionError } from './dag/errors.js';
export type { BatchingPreference } from './dag/event-source-settings.js';
export type { EnrichType, JoinType } from './dag/graph.js';
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
export { StreamRoles } from './dag/plan-types.js';
export {
  type LateRecordsDestination,
  LateRecordsDestinations,
  type PipelineProfile,
  PipelineProfiles,
} from './dag/profile.js';
export {
  DataStream,
  KeyedStream,
  type PatternOptions,
  type ProcessOptions,
  WindowedStream,
} from './dsl/data-stream.js';
export type {
  EnrichOptions,
  JoinOptions,
  KeyAttribute,
  KeyByOptions,
  KeyValue,
  OperatorOptions,
  SinkOptions,
  SourceOptions,
  TableOptions,
  ToDynamoDbOptions,
  ToEventBridgeOptions,
  ToFirehoseOptions,
  ToSqsOptions,
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
export { type PatternMatch, PatternOutputs } from './process/cep.js';
export { begin, type Contiguity, Pattern, type PatternStage } from './process/cep-pattern.js';
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
// Windows and aggregations, so that a pipeline file needs one import (the package's root).
export {
  type AggregateDefinition,
  AggregationError,
  type AvgAccumulator,
  aggregate,
  avg,
  count,
  type HoppingAssigner,
  hopping,
  hoppingProcessingTime,
  MAX_EVENT_TIME,
  MAX_TIME_SPAN,
  MAX_WINDOW_SIZE,
  max,
  min,
  parseDuration,
  type SessionAssigner,
  session,
  sessionProcessingTime,
  sum,
  type TimeWindow,
  type TumblingAssigner,
  tumbling,
  tumblingProcessingTime,
} from './windows/index.js';
export type {
  Aggregation,
  Duration,
  EmitMode,
  TimeDomain,
  WindowAssigner,
  WindowOptions,
  WindowResult,
} from './windows/types.js';
export { EmitModes, TimeDomains } from './windows/types.js';
