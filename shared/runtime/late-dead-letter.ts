import type { JoinNode, PipelineNode, WindowNode } from '../dag/graph.js';
import { DeadLetterReasons, RecordProcessingError } from '../operators/record-errors.js';
import type { JoinLateRecord } from './join-stage.js';
import type { LateOutputRecord } from './window-stage.js';

/** An epoch-ms time as its number and ISO date, or just the number outside Date's range. */
function when(ms: number): string {
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? String(ms) : `${ms} (${date.toISOString()})`;
}

/**
 * Why a late record went to the dead letters: the window or join it missed, its event time and the
 * watermark, and the operator's own reason (which windows had fired).
 */
export function lateRecordError(node: PipelineNode, late: LateOutputRecord | JoinLateRecord): RecordProcessingError {
  const what = describe(node);
  const side = 'side' in late ? ` (${late.side} side)` : '';
  return new RecordProcessingError({
    reason: DeadLetterReasons.late,
    operator: node.name,
    message:
      `late for ${what}${side}: key '${late.key}', event time ${when(late.time)}, ` +
      `watermark ${when(late.watermark)}: ${late.reason}`,
    late: { key: late.key, time: late.time, watermark: late.watermark },
  });
}

function describe(node: PipelineNode): string {
  if (node.kind === 'window') return `window '${node.name}' (${assignerOf(node)})`;
  if (node.kind === 'join') return `join '${node.name}' (${joinOf(node)})`;
  return `${node.kind} '${node.name}'`;
}

function assignerOf(node: WindowNode): string {
  const { assigner } = node;
  if (assigner.kind === 'tumbling') return `tumbling ${assigner.size} ms`;
  if (assigner.kind === 'hopping') return `hopping ${assigner.size} ms every ${assigner.slide} ms`;
  return `session, gap ${assigner.gap} ms`;
}

function joinOf(node: JoinNode): string {
  return node.condition.kind === 'interval'
    ? `interval -${node.condition.before} ms to +${node.condition.after} ms`
    : 'window';
}
