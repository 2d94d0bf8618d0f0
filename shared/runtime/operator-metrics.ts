import type { OperatorCount } from './operator-counts.js';

/** The per-operator metrics a stage writes after each batch, by name (all counts, summed over a period). */
export const OperatorMetricNames = {
  recordsIn: 'OperatorRecordsIn',
  recordsOut: 'OperatorRecordsOut',
  filtered: 'OperatorRecordsFiltered',
  deadLettered: 'OperatorRecordsDeadLettered',
  late: 'OperatorRecordsLate',
} as const;
export type OperatorMetricName = (typeof OperatorMetricNames)[keyof typeof OperatorMetricNames];

/** The dimensions of an operator metric: the stage's (as Powertools writes them) and the operator. */
export const OPERATOR_DIMENSIONS = ['service', 'pipeline', 'stage', 'operator'] as const;

export interface OperatorMetricsContext {
  readonly namespace: string;
  readonly pipeline: string;
  readonly stage: string;
  /** ms since the epoch. */
  readonly timestamp: number;
}

/**
 * One embedded-metric-format document per operator: the operator is a dimension value, and a
 * document holds one value per dimension, so operators cannot share one. Each has 5 metrics and 4
 * dimensions, far under EMF's 100 metrics per document and 30 dimensions per set.
 */
export function operatorMetricDocuments(
  operators: readonly OperatorCount[],
  context: OperatorMetricsContext,
): string[] {
  const metrics = Object.values(OperatorMetricNames).map((name) => ({ Name: name, Unit: 'Count' }));
  return operators.map((operator) =>
    JSON.stringify({
      _aws: {
        Timestamp: context.timestamp,
        CloudWatchMetrics: [{ Namespace: context.namespace, Dimensions: [OPERATOR_DIMENSIONS], Metrics: metrics }],
      },
      service: context.pipeline,
      pipeline: context.pipeline,
      stage: context.stage,
      operator: operator.id,
      [OperatorMetricNames.recordsIn]: operator.recordsIn,
      [OperatorMetricNames.recordsOut]: operator.recordsOut,
      [OperatorMetricNames.filtered]: operator.filtered,
      [OperatorMetricNames.deadLettered]: operator.deadLettered,
      [OperatorMetricNames.late]: operator.late,
    }),
  );
}
