export { EddyPipeline, type EddyPipelineProps } from './eddy-pipeline.js';
export { IdlenessFunction, type IdlenessFunctionProps } from './idleness-function.js';
export { EMF_NAMESPACE, StageMetricNames, stageMetricDimensions } from './metrics.js';
export { deploymentName, physicalNamePrefix } from './names.js';
export {
  ITERATOR_AGE_ALARM_MINUTES,
  PipelineObservability,
  type PipelineObservabilityProps,
} from './observability.js';
export { EddyPipelineStack, type EddyPipelineStackProps } from './pipeline-stack.js';
export {
  ALL_SDK_MODULES,
  type AwsSdkSource,
  ON_DEMAND_SDK_MODULES,
  StageFunction,
  type StageFunctionProps,
} from './stage-function.js';
export {
  PipelineStateTable,
  type PipelineStateTableProps,
  STATE_INDEX_ACTIONS,
  STATE_TABLE_ACTIONS,
  validateStateTableKey,
  validateStateTableName,
} from './state-table.js';
export { PipelineStreams, type PipelineStreamsProps, validateStreamNamePrefix } from './streams.js';
