import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type { OperatorMetricName } from '../shared/runtime/operator-metrics.js';

/**
 * The CloudWatch namespace of the stage functions' Powertools metrics (embedded metric format): the
 * functions get it as `POWERTOOLS_METRICS_NAMESPACE`, the dashboard reads it.
 */
export const EMF_NAMESPACE = 'Eddy';

/**
 * The metrics `shared/runtime/lambda-handler.ts` emits after every batch, by name. All are counts
 * per batch (summed over a period) except `BatchDuration` and `WatermarkLag`, in milliseconds.
 * `RecordsLate` and `StateRequests` come from windowed stages only; `WatermarkLag` (the wall clock
 * minus the watermark the stage sent downstream) from stages that have a watermark.
 */
export const StageMetricNames = {
  recordsIn: 'RecordsIn',
  recordsOut: 'RecordsOut',
  recordsFiltered: 'RecordsFiltered',
  recordsDeadLettered: 'RecordsDeadLettered',
  recordsFailed: 'RecordsFailed',
  recordsLate: 'RecordsLate',
  putRecordsRequests: 'PutRecordsRequests',
  stateRequests: 'StateRequests',
  batchDuration: 'BatchDuration',
  watermarkLag: 'WatermarkLag',
} as const;
export type StageMetricName = (typeof StageMetricNames)[keyof typeof StageMetricNames];

/**
 * The dimensions of every stage metric, exactly as Powertools writes them: the handler's
 * `setDefaultDimensions({ pipeline, stage })` adds to the `service` dimension Powertools always sets
 * (the service name, which the handler sets to the pipeline name). CloudWatch identifies a metric by
 * its full set of dimensions, so the dashboard must name all three.
 */
export function stageMetricDimensions(pipelineName: string, stageId: string): Record<string, string> {
  return { service: pipelineName, pipeline: pipelineName, stage: stageId };
}

/** One operator's metric (shared/runtime/operator-metrics.ts): the stage's dimensions and the operator. */
export function operatorMetric(
  pipelineName: string,
  stageId: string,
  operator: string,
  metricName: OperatorMetricName,
  options: { statistic: string; label?: string },
): cloudwatch.Metric {
  return emfMetric(metricName, { ...stageMetricDimensions(pipelineName, stageId), operator }, options);
}

/** One stage's Powertools metric, over one-minute periods. */
export function stageMetric(
  pipelineName: string,
  stageId: string,
  metricName: StageMetricName,
  options: { statistic: string; label?: string },
): cloudwatch.Metric {
  return emfMetric(metricName, stageMetricDimensions(pipelineName, stageId), options);
}

function emfMetric(
  metricName: string,
  dimensionsMap: Record<string, string>,
  options: { statistic: string; label?: string },
): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: EMF_NAMESPACE,
    metricName,
    dimensionsMap,
    statistic: options.statistic,
    period: Duration.minutes(1),
    ...(options.label !== undefined && { label: options.label }),
  });
}
