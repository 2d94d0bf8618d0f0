export { EddyPipeline, type EddyPipelineProps } from './eddy-pipeline.js';
export { EMF_NAMESPACE, StageMetricNames, stageMetricDimensions } from './metrics.js';
export { deploymentName, physicalNamePrefix } from './names.js';
export { PipelineObservability, type PipelineObservabilityProps } from './observability.js';
export { EddyPipelineStack, type EddyPipelineStackProps } from './pipeline-stack.js';
export { StageFunction, type StageFunctionProps } from './stage-function.js';
export { PipelineStateTable, type PipelineStateTableProps } from './state-table.js';
export { PipelineStreams, type PipelineStreamsProps } from './streams.js';
