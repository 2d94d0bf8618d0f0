import type { PipelineNode } from './graph.js';
import type { PipelineGraph } from './pipeline-graph.js';
import type { PipelinePlan, StageSpec, StreamRole } from './plan-types.js';

/**
 * What `eddy graph` and the console draw: streams, tables and the dead-letter queue as boxes outside
 * the stages; each stage (a Lambda) as a group holding its input operator and the operators fused
 * after it; and every edge a record can take between them, joins, side outputs, tables and dead
 * letters included. Pure data: the Mermaid, SVG and HTML renderers only lay it out.
 */

export type DrawnNodeKind = 'stream' | 'table' | 'queue' | 'operator';

export interface DrawnNode {
  /** `stream:<name>`, `table:<name>`, `queue:<name>` or `op:<operator name>` (operator names are unique). */
  readonly id: string;
  readonly kind: DrawnNodeKind;
  /** The first line: what it is and the user's name. */
  readonly title: string;
  /** A second line: the stream's role and shards, a window's assigner, a join's condition. */
  readonly detail?: string;
  /** The stage an operator runs in. */
  readonly stage?: string;
  /** A stream's role. */
  readonly role?: StreamRole;
  /** An operator's name in the pipeline (what per-operator metrics are keyed by). */
  readonly operator?: string;
}

export type DrawnEdgeKind = 'data' | 'shuffle' | 'join' | 'late' | 'side-output' | 'dead-letter' | 'table' | 'lookup';

export interface DrawnEdge {
  readonly from: string;
  readonly to: string;
  readonly kind: DrawnEdgeKind;
  readonly label?: string;
}

export interface DrawnStage {
  readonly id: string;
  readonly input: string;
  readonly stateful: boolean;
  /** Ids of the drawn operators inside it, its input operator first. */
  readonly nodes: readonly string[];
}

export interface PipelineDrawing {
  readonly pipeline: string;
  readonly nodes: readonly DrawnNode[];
  readonly stages: readonly DrawnStage[];
  readonly edges: readonly DrawnEdge[];
}

export const streamNodeId = (stream: string): string => `stream:${stream}`;
export const tableNodeId = (table: string): string => `table:${table}`;
export const queueNodeId = (queue: string): string => `queue:${queue}`;
export const operatorNodeId = (operator: string): string => `op:${operator}`;

/** The drawing of a pipeline's DAG and plan (see {@link PipelineDrawing}). */
export function drawPipeline(graph: PipelineGraph, plan: PipelinePlan): PipelineDrawing {
  const nodes: DrawnNode[] = [];
  const edges: DrawnEdge[] = [];
  const stages: DrawnStage[] = [];
  for (const stream of plan.streams) {
    nodes.push({
      id: streamNodeId(stream.name),
      kind: 'stream',
      title: stream.name,
      detail: `${stream.role}, ${stream.shardCount} shard${stream.shardCount === 1 ? '' : 's'}`,
      role: stream.role,
    });
  }
  for (const table of plan.tables ?? []) {
    nodes.push({ id: tableNodeId(table.name), kind: 'table', title: table.name, detail: `${table.kind} table` });
  }
  const deadLetters =
    plan.deadLetter.kind === 'queue' ? queueNodeId(plan.deadLetter.name) : streamNodeId(plan.deadLetter.name);
  if (plan.deadLetter.kind === 'queue') {
    nodes.push({ id: deadLetters, kind: 'queue', title: plan.deadLetter.name, detail: 'dead-letter SQS queue' });
  }
  const firstReaders = new Map<string, string>();
  for (const stage of plan.stages) if (!firstReaders.has(stage.input)) firstReaders.set(stage.input, stage.id);
  for (const stage of plan.stages) {
    // A second stage on one stream (each stateful operator after a keyBy has its own, plan.ts)
    // draws its input operator in a box of its own, so that each stage's box holds its operators.
    const entry =
      firstReaders.get(stage.input) === stage.id
        ? operatorNodeId(stage.nodes[0] ?? '')
        : `${operatorNodeId(stage.nodes[0] ?? '')}@${stage.id}`;
    const drawn = drawStage(graph, stage, entry);
    nodes.push(...drawn.nodes);
    edges.push(...drawn.edges);
    edges.push({ from: entry, to: deadLetters, kind: 'dead-letter', label: 'dead letters' });
    stages.push({ id: stage.id, input: stage.input, stateful: stage.stateful, nodes: drawn.nodes.map((n) => n.id) });
  }
  return { pipeline: plan.pipeline, nodes, stages, edges };
}

/**
 * One stage: its input operator (source, keyBy or join) is a box fed by its input stream, so a
 * stage with nothing fused after it still has its box on the path; keyBy, join sides and sinks that
 * end the stage are the edges into the streams they write.
 */
function drawStage(graph: PipelineGraph, stage: StageSpec, entry: string): { nodes: DrawnNode[]; edges: DrawnEdge[] } {
  const [inputName, ...fused] = stage.nodes;
  const input = graph.node(inputName ?? '');
  const nodes: DrawnNode[] = [{ ...operatorBox(input, stage.id), id: entry }];
  const edges: DrawnEdge[] = [{ from: streamNodeId(stage.input), to: entry, kind: 'data' }];
  // Where a node of this stage is drawn: its box, or the stream it writes when it ends the stage.
  const drawnAs = (node: PipelineNode): string =>
    node.name === input.name
      ? entry
      : node.kind === 'keyBy' || node.kind === 'sink' || node.kind === 'joinSide'
        ? streamNodeId(node.stream)
        : operatorNodeId(node.name);
  for (const node of [input, ...fused.map((name) => graph.node(name))]) {
    if (node !== input) {
      const endsStage = node.kind === 'keyBy' || node.kind === 'sink' || node.kind === 'joinSide';
      if (!endsStage) nodes.push(operatorBox(node, stage.id));
      const parent = graph.node(node.parent ?? '');
      edges.push({ from: drawnAs(parent), to: drawnAs(node), ...edgeInto(node) });
    }
    edges.push(...sideEdges(node));
  }
  return { nodes, edges };
}

function edgeInto(node: PipelineNode): Pick<DrawnEdge, 'kind' | 'label'> {
  switch (node.kind) {
    case 'keyBy':
      return { kind: 'shuffle', label: `keyBy ${shortName(node)}`.trim() };
    case 'joinSide':
      return { kind: 'join', label: `${node.side} side of ${node.join}` };
    default:
      return { kind: 'data' };
  }
}

/** Late outputs, process functions' named outputs and tables, out of (or into) the operator's box. */
function sideEdges(node: PipelineNode): DrawnEdge[] {
  const box = operatorNodeId(node.name);
  switch (node.kind) {
    case 'window':
    case 'join':
      // Late records among the dead letters are not drawn: no stream of their own.
      return node.lateOutput === undefined
        ? []
        : [{ from: box, to: streamNodeId(node.lateOutput), kind: 'late', label: 'late' }];
    case 'process':
      return Object.entries(node.sideOutputs).map(([output, stream]) => ({
        from: box,
        to: streamNodeId(stream),
        kind: output === 'late' ? 'late' : 'side-output',
        label: output,
      }));
    case 'toTable':
      return [{ from: box, to: tableNodeId(node.table), kind: 'table', label: 'upsert' }];
    case 'toDynamoDb':
      return [{ from: box, to: tableNodeId(node.table), kind: 'table', label: 'put newest' }];
    case 'enrich':
      return [{ from: tableNodeId(node.table), to: box, kind: 'lookup', label: 'lookup' }];
    default:
      return [];
  }
}

/** The user's name, or nothing when it is the default `<kind>-<n>` (the kind says as much). */
function shortName(node: PipelineNode): string {
  return new RegExp(`^${node.kind}-\\d+$`).test(node.name) ? '' : node.name;
}

function operatorBox(node: PipelineNode, stage: string): DrawnNode {
  const name = shortName(node);
  const detail = operatorDetail(node);
  return {
    id: operatorNodeId(node.name),
    kind: 'operator',
    title: name === '' ? node.name : `${node.kind}: ${name}`,
    ...(detail !== undefined && { detail }),
    stage,
    operator: node.name,
  };
}

function operatorDetail(node: PipelineNode): string | undefined {
  switch (node.kind) {
    case 'source':
      return node.eventTime === undefined ? 'no event time' : 'event time';
    case 'keyBy':
      return 'by key, from the shuffle';
    case 'window': {
      const a = node.assigner;
      const shape =
        a.kind === 'tumbling'
          ? `tumbling ${span(a.size)}`
          : a.kind === 'hopping'
            ? `hopping ${span(a.size)}/${span(a.slide)}`
            : `session gap ${span(a.gap)}`;
      return `${shape} ${a.timeDomain}-time, ${node.aggregation.name}`;
    }
    case 'join': {
      const c = node.condition;
      const condition =
        c.kind === 'interval' ? `interval −${span(c.before)}/+${span(c.after)}` : `window ${c.assigner.kind}`;
      return `${node.type} join, ${condition}`;
    }
    case 'process':
      return `keyed process${node.processingTimers ? ', timers' : ''}`;
    case 'enrich':
      return `${node.type} lookup in ${node.table}`;
    case 'toTable':
    case 'toDynamoDb':
      return `into ${node.table}`;
    case 'toDestination':
      return `into ${node.destination}`;
    default:
      return undefined;
  }
}

/** A duration in the unit that reads best: 90000 → 90s, 600000 → 10m. */
function span(ms: number): string {
  if (ms % 3_600_000 === 0 && ms > 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0 && ms > 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}
